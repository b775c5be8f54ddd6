#!/usr/bin/env bash
# A client in another language (Python, Debian's python3-grpcio) calls an
# exposed daemon served by echo_server in another process, discovering it
# by server reflection; then SIGTERM stops the server cleanly.
set -euo pipefail
server="${TEST_SRCDIR}/anvil/runtime/transport/echo_server"
client="${TEST_SRCDIR}/anvil/runtime/transport/grpc/testdata/python_client.py"
address_file="${TEST_TMPDIR}/address"

"${server}" --address_file="${address_file}" &
pid=$!
trap 'kill -KILL ${pid} 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  [[ -s "${address_file}" ]] && break
  kill -0 "${pid}"  # fails the test if the server died
  sleep 0.05
done
address="$(cat "${address_file}")"
echo "server at ${address}"

# Debian's interpreter, whatever python3 comes first on PATH.
/usr/bin/python3 "${client}" "${address}"

kill -TERM "${pid}"
wait "${pid}"
echo PASS
