#!/usr/bin/env bash
# http_hello as a program: serves on the address it is given until SIGTERM,
# then exits 0; bad flags exit 2 naming them.
set -uo pipefail
bin="${TEST_SRCDIR}/anvil/services/http_hello/http_hello"
log="${TEST_TMPDIR}/http_hello.log"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"${bin}" --address=127.0.0.1:0 --anvil_threads=2 >"${log}" 2>&1 &
pid=$!
address=""
for _ in $(seq 100); do
  address="$(grep -o 'serving HTTP at 127.0.0.1:[0-9]*' "${log}" | head -1 |
    sed 's/serving HTTP at //')"
  [[ -n "${address}" ]] && break
  sleep 0.1
done
[[ -n "${address}" ]] || { cat "${log}"; fail "no 'serving HTTP at' line"; }
if [[ -n "${address}" ]]; then
  exec 3<>"/dev/tcp/${address%:*}/${address#*:}"
  printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  response="$(cat <&3)"
  exec 3>&-
  grep -q '^HTTP/1.1 200' <<<"${response}" || fail "no 200: ${response}"
  grep -q 'Hello, World!' <<<"${response}" || fail "no body: ${response}"
  grep -q 'on 2 workers' "${log}" || fail "--anvil_threads=2 not applied"
fi
kill -TERM "${pid}"
wait "${pid}"
code=$?
[[ ${code} == 0 ]] || { cat "${log}"; fail "exit ${code} after SIGTERM"; }
grep -q 'connections served' "${log}" || fail "no stop line"

expect_exit() {  # code, expected text, flags...
  local code="$1" text="$2" out
  shift 2
  out="$("${bin}" "$@" 2>&1)"
  local got=$?
  [[ ${got} == "${code}" ]] || fail "$*: exit ${got}, want ${code}: ${out}"
  grep -qF -- "${text}" <<<"${out}" || fail "$*: want '${text}' in: ${out}"
}
expect_exit 2 'bad socket address "nonsense"' --address=nonsense
expect_exit 2 '--max_connections must be positive' --max_connections=0
expect_exit 2 '--anvil_threads=-1 is out of range' --anvil_threads=-1
expect_exit 2 '--anvil_idle_spin=5s is out of range' --anvil_idle_spin=5s
expect_exit 0 'Flags from services/http_hello/http_hello_main.cc' --help
exit $((failures > 0))
