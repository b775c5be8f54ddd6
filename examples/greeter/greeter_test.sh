#!/usr/bin/env bash
# The greeter example as a user runs it: it serves, a plain gRPC client
# (Debian's python3-grpcio) gets numbered greetings, SIGTERM stops it.
set -euo pipefail
greeter="${TEST_SRCDIR}/anvil/examples/greeter/greeter"
out="${TEST_TMPDIR}/out"

"${greeter}" --anvil_listen=127.0.0.1:0 >"${out}" 2>&1 &
pid=$!
for _ in $(seq 200); do
  grep -q "serving at" "${out}" && break
  sleep 0.05
done
cat "${out}"
address="$(grep -oE "serving at 127\.0\.0\.1:[0-9]+" "${out}" | cut -d' ' -f3)"

# GreetRequest{name: "Ada"} is {1: "Ada"}; GreetReply{text} is {1: text}.
/usr/bin/python3 - "${address}" <<'PY'
import sys
import grpc
greet = grpc.insecure_channel(sys.argv[1]).unary_unary(
    "/anvil.examples.greeter.Greeter/Greet")
for n in (1, 2):
    reply = greet(b"\x0a\x03Ada", timeout=10)
    text = ("Hello, Ada (greeting %d)" % n).encode()
    assert reply == b"\x0a" + bytes([len(text)]) + text, reply
print("greeted twice")
PY
kill -TERM "${pid}"
wait "${pid}"
grep -q "^greeter node: stopped: OK$" "${out}"
