#!/usr/bin/env bash
# kvd's and kvctl's command lines: --help exits 0 and lists what matters;
# every bad flag or argument exits non-zero with a message naming it, and
# no kvd starts serving on one.
set -euo pipefail
kvd="${TEST_SRCDIR}/anvil/services/kv/kvd"
kvctl="${TEST_SRCDIR}/anvil/services/kv/kvctl"
dir="${TEST_TMPDIR}"

"${kvd}" --help >"${dir}/kvd_help"
grep -q "^kvd: one node of a replicated key-value store" "${dir}/kvd_help"
grep -q -- "--tick" "${dir}/kvd_help"
grep -q -- "--anvil_peers" "${dir}/kvd_help"
"${kvctl}" --help >"${dir}/kvctl_help"
for command in get put delete cas status watch; do
  grep -q "^  ${command} " "${dir}/kvctl_help" || {
    echo "kvctl --help does not list ${command}"; cat "${dir}/kvctl_help"; exit 1; }
done
grep -q -- "--servers" "${dir}/kvctl_help"
if grep -q "SetProgramUsageMessage" "${dir}/kvctl_help" "${dir}/kvd_help"; then
  echo "a --help warns about its usage message"; exit 1
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
refused() {  # refused EXPECTED_MESSAGE KVD_FLAGS...
  local expected="$1"; shift
  local code=0
  timeout 20 "${kvd}" --node=n1 --members=n1 --anvil_peers="n1=127.0.0.1:${port}" \
    --data_dir="${dir}" "$@" >"${dir}/out" 2>&1 || code=$?
  if [[ ${code} == 0 || ${code} == 124 ]]; then
    echo "kvd $* was not refused (exit ${code}):"; cat "${dir}/out"; exit 1
  fi
  grep -qF -- "${expected}" "${dir}/out" || {
    echo "kvd $*: expected \"${expected}\", got:"; cat "${dir}/out"; exit 1; }
}
refused "the tick must be between 1ms and 10s, not 0" --tick=0s
refused "the tick must be between 1ms and 10s, not 1ns" --tick=1ns
refused "the tick must be between 1ms and 10s, not 1h" --tick=1h
refused "member \"n1\" is listed twice" --members=n1,n1
refused "member n2 has no address in --anvil_peers" --members=n1,n2
refused "--node=n3 is not one of --members (n1)" --node=n3
refused "--engine must be durable or memory, not 'disk'" --engine=disk
refused "a member's name is empty" --members=n1,
refused "tick" --tick=soon
refused "--anvil_log_level: the log level is trace, debug, info, warn, error, critical or off, not \"loud\"" --anvil_log_level=loud
refused "--anvil_log_format: the log format is auto, text or json" --anvil_log_format=xml

# One format for every log line, gRPC's own included; elections logged.
timeout 30 "${kvd}" --node=n1 --members=n1 --anvil_peers="n1=127.0.0.1:${port}" \
  --data_dir="${dir}" --anvil_run_for=2s --anvil_log_format=json \
  --anvil_log_level=debug >"${dir}/stdout" 2>"${dir}/stderr"
grep -q '"daemon":"anvil.kv.Raft","msg":"term 1: elected leader"' "${dir}/stderr" || {
  echo "no election logged:"; cat "${dir}/stderr"; exit 1; }
grep -q '"msg":"grpc: ' "${dir}/stderr" || {
  echo "gRPC's lines are not routed through the log:"; cat "${dir}/stderr"; exit 1; }
if grep -v '^{"time":"[^"]*","level":"[a-z]*",.*"msg":".*"}$' "${dir}/stderr"; then
  echo "the lines above are not JSON log lines"; exit 1
fi
timeout 30 "${kvd}" --node=n1 --members=n1 --anvil_peers="n1=127.0.0.1:${port}" \
  --data_dir="${dir}" --anvil_run_for=1s --anvil_log_level=warn \
  >"${dir}/stdout" 2>"${dir}/stderr"
if grep -q "elected leader\|serving anvil" "${dir}/stderr"; then
  echo "--anvil_log_level=warn let info lines through:"; cat "${dir}/stderr"; exit 1
fi

# kvctl bench against a real kvd: puts and gets counted, percentiles
# printed; a bad --bench_ flag refused.
"${kvd}" --node=n1 --members=n1 --anvil_peers="n1=127.0.0.1:${port}" \
  --data_dir="${dir}" --anvil_log_level=warn >"${dir}/bench_kvd.out" 2>&1 &
bench_kvd=$!
trap 'kill -9 ${bench_kvd} 2>/dev/null || true' EXIT
ok=0
for _ in $(seq 100); do
  if "${kvctl}" --servers="127.0.0.1:${port}" --timeout=1s put warm up >/dev/null 2>&1; then
    ok=1; break
  fi
  sleep 0.1
done
[[ ${ok} == 1 ]] || { echo "kvd did not serve"; cat "${dir}/bench_kvd.out"; exit 1; }
"${kvctl}" --servers="127.0.0.1:${port}" bench --bench_duration=1s \
  --bench_warmup=200ms --bench_concurrency=8 --bench_connections=2 \
  --bench_put_fraction=0.5 --bench_keys=50 >"${dir}/bench.out"
grep -qE '^put [1-9][0-9]*, get [1-9][0-9]* in 1s: [0-9.]+ ops/s; latency p50 [0-9.]+(us|ms|s) p99 .* p99.9 .* max ' "${dir}/bench.out" || {
  echo "unexpected bench output:"; cat "${dir}/bench.out"; exit 1; }
cat "${dir}/bench.out"
code=0
"${kvctl}" --servers="127.0.0.1:${port}" bench --bench_put_fraction=2 >"${dir}/out" 2>&1 || code=$?
[[ ${code} == 2 ]] || { echo "a bad --bench_put_fraction exited ${code}"; exit 1; }
grep -q "put_fraction must be 0 to 1, not 2" "${dir}/out"
kill -9 ${bench_kvd}
wait ${bench_kvd} 2>/dev/null || true
# Against no server: every request fails UNAVAILABLE, counted; exit 3.
code=0
"${kvctl}" --servers="127.0.0.1:${port}" bench --bench_duration=500ms \
  --bench_warmup=0s --bench_concurrency=2 >"${dir}/out" 2>&1 || code=$?
[[ ${code} == 3 ]] || { echo "bench against no server exited ${code}"; cat "${dir}/out"; exit 1; }
grep -q "^put 0, get 0 in 500ms: 0.0 ops/s; .*errors: UNAVAILABLE [0-9]" "${dir}/out" || {
  echo "unexpected bench output:"; cat "${dir}/out"; exit 1; }

code=0
"${kvctl}" frob >"${dir}/out" 2>&1 || code=$?
[[ ${code} == 2 ]] || { echo "kvctl frob exited ${code}"; exit 1; }
grep -q "unknown command, or the wrong arguments for it: frob" "${dir}/out"
code=0
"${kvctl}" put onlykey >"${dir}/out" 2>&1 || code=$?
[[ ${code} == 2 ]] || { echo "kvctl put onlykey exited ${code}"; exit 1; }
echo PASS
