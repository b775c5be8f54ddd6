#!/usr/bin/env bash
# The heartbeat example as a user runs it: it beats, a plain gRPC client
# (Debian's python3-grpcio) reads a count that grows, SIGTERM stops it, and
# --period=0s is refused at start.
set -euo pipefail
heartbeat="${TEST_SRCDIR}/anvil/examples/heartbeat/heartbeat"
out="${TEST_TMPDIR}/out"

"${heartbeat}" --period=20ms --anvil_listen=127.0.0.1:0 >"${out}" 2>&1 &
pid=$!
for _ in $(seq 200); do
  grep -q "^beat 3$" "${out}" && break
  sleep 0.05
done
address="$(grep -oE "serving at 127\.0\.0\.1:[0-9]+" "${out}" | cut -d' ' -f3)"
grep -q "^beat 3$" "${out}" || { cat "${out}"; echo "no third beat"; exit 1; }

# CountReply{beats} is {1: varint}; the count only grows.
/usr/bin/python3 - "${address}" <<'PY'
import sys
import time
import grpc
count = grpc.insecure_channel(sys.argv[1]).unary_unary(
    "/anvil.examples.heartbeat.Heart/Count")
def beats():
    reply = count(b"", timeout=10)
    assert reply[:1] == b"\x08", reply
    value, shift = 0, 0
    for byte in reply[1:]:
        value |= (byte & 0x7F) << shift
        shift += 7
    return value
first = beats()
assert first >= 3, first
for _ in range(1000):  # beats every 20 ms: well within 10 s
    if beats() > first:
        break
    time.sleep(0.01)
else:
    raise AssertionError("the count stayed at %d" % first)
print("counted", first, "and more")
PY
kill -TERM "${pid}"
wait "${pid}"
grep -q "^heartbeat node: stopped: OK$" "${out}" || { cat "${out}"; exit 1; }

if "${heartbeat}" --period=0s --anvil_listen=127.0.0.1:0 >"${out}" 2>&1; then
  echo "--period=0s was accepted"; exit 1
fi
grep -q "a timer's period must be positive and finite, not 0" "${out}" ||
  { cat "${out}"; exit 1; }
echo "heartbeat OK"
