#!/usr/bin/env bash
# NodeMain as a program sees it: --help (exit 0, the program's flags
# first, then the node's), bad arguments and a failing bind (exit 2, with
# the reason), a run that serves a call until SIGTERM (exit 0).
set -euo pipefail
echo_node="${TEST_SRCDIR}/anvil/runtime/node/echo_node"
dir="${TEST_TMPDIR}"

"${echo_node}" --help >"${dir}/help"
cat "${dir}/help"
head -1 "${dir}/help" | grep -q "^echo_node: serves Echo.$"
grep -q -- "--fail_bind" "${dir}/help"
grep -q -- "--anvil_listen" "${dir}/help"
grep -q -- "--anvil_max_message_bytes" "${dir}/help"
# The program's own flags come before the node's.
[[ $(grep -n -- "--node " "${dir}/help" | cut -d: -f1) -lt \
   $(grep -n -- "--anvil_listen" "${dir}/help" | cut -d: -f1) ]]
# Not the flags of libraries the program does not configure.
! grep -q -- "--flagfile" "${dir}/help"

expect_exit() {  # expect_exit CODE MESSAGE ARGS...
  local code="$1" message="$2"
  shift 2
  set +e
  "${echo_node}" "$@" >"${dir}/out" 2>&1
  local got=$?
  set -e
  cat "${dir}/out"
  [[ ${got} == "${code}" ]] || { echo "exit ${got}, not ${code}"; exit 1; }
  grep -q -- "${message}" "${dir}/out"
}
expect_exit 2 "echo_node: unexpected argument 'extra'" extra
expect_exit 2 "echo_node: asked to fail" --fail_bind
expect_exit 2 "echo_node: --anvil_peers: 'nonsense' is not node=host:port" --anvil_peers=nonsense
expect_exit 2 "echo_node: --anvil_max_message_bytes is 0" \
  --anvil_max_message_bytes=0
expect_exit 2 "echo_node: tls: cannot read root_certs file /missing/ca.pem" \
  --anvil_tls_cert=/missing/n.pem --anvil_tls_key=/missing/n.key \
  --anvil_tls_ca=/missing/ca.pem

"${echo_node}" --node=n1 --anvil_listen=127.0.0.1:0 >"${dir}/run" 2>&1 &
pid=$!
for _ in $(seq 200); do
  grep -q "serving at" "${dir}/run" && break
  sleep 0.05
done
cat "${dir}/run"
grep -qE "^echo_node n1: serving at 127\.0\.0\.1:[0-9]+$" "${dir}/run"
address="$(grep -oE "127\.0\.0\.1:[0-9]+" "${dir}/run" | head -1)"
# Echo.Say("hi") as raw bytes: EchoRequest and EchoReply are both
# {1: "hi"}.
/usr/bin/python3 - "${address}" <<'PY'
import sys
import grpc
say = grpc.insecure_channel(sys.argv[1]).unary_unary(
    "/anvil.transport.testdata.Echo/Say")
reply = say(b"\x0a\x02hi", timeout=10)
assert reply == b"\x0a\x02hi", reply
PY
kill -TERM "${pid}"
wait "${pid}"
grep -q "^echo_node n1: stopped: OK$" "${dir}/run"

# --anvil_run_for stops it by itself, cleanly.
"${echo_node}" --node=n2 --anvil_run_for=200ms >"${dir}/timed" 2>&1
grep -q "^echo_node n2: stopped: OK$" "${dir}/timed"
