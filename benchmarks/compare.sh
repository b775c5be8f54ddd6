#!/usr/bin/env bash
# anvil side by side with CAF 0.17.6 and with raw gRPC, on this machine:
#
#   ./bazelw run --config=opt //benchmarks:compare          # about 6 minutes
#   REPS=9 ./bazelw run --config=opt //benchmarks:compare
#
# Each actor workload runs REPS times (default 5) for each side, the sides
# alternating run by run so that drift in the machine's speed hits both;
# the table shows medians. Times: lower is better, and the ratio is
# CAF / anvil (above 1: anvil is faster). Memory: bytes per idle actor
# (resident memory over 1,000,000 idle actors) and the peak resident set.
# gRPC: //runtime/transport:exposed_daemon_benchmark (an exposed echo daemon
# against a hand-written callback-API server, same client, alternating
# rounds), with a 15-byte and a 4 KiB message; the ratio is anvil / raw.
set -euo pipefail

runfiles="${RUNFILES_DIR:-$0.runfiles}/anvil"
anvil="${runfiles}/benchmarks/anvil_workloads"
caf="${runfiles}/benchmarks/caf_workloads"
grpc_bench="${runfiles}/runtime/transport/exposed_daemon_benchmark"
reps="${REPS:-5}"
threads="$(nproc)"
out="$(mktemp -d)"
trap 'rm -rf "${out}"' EXIT

workloads=(ping_pong_1 ping_pong_2 actor_creation skynet mailbox_contention mixed_case)

median() {  # median of the numbers in file $1
  sort -g "$1" | awk '{v[NR] = $1} END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "machine: ${threads} cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "running ${#workloads[@]} workloads x ${reps} runs x 2 sides, then memory and gRPC..." >&2
for rep in $(seq "${reps}"); do
  for w in "${workloads[@]}"; do
    # Alternate which side goes first.
    if (( rep % 2 )); then order=(anvil caf); else order=(caf anvil); fi
    for side in "${order[@]}"; do
      bin="${anvil}"; [[ ${side} == caf ]] && bin="${caf}"
      "${bin}" --workload="${w}" --threads="${threads}" 2>/dev/null |
        awk -v w="${w}" '$1 == w {print $2}' >>"${out}/${w}.${side}"
    done
  done
  echo "  run ${rep} of ${reps} done" >&2
done
for rep in 1 2 3; do
  for side in anvil caf; do
    bin="${anvil}"; [[ ${side} == caf ]] && bin="${caf}"
    "${bin}" --workload=idle_memory --threads="${threads}" 2>/dev/null >"${out}/mem"
    awk '$1 == "idle_memory_bytes_per_actor" {print $2}' "${out}/mem" >>"${out}/bytes.${side}"
    awk '$1 == "idle_memory_peak_rss" {print $2}' "${out}/mem" >>"${out}/rss.${side}"
  done
done

printf '\n%-34s %12s %12s %10s\n' workload anvil CAF CAF/anvil
row() {  # row NAME UNIT FILE_PREFIX
  local a c
  a="$(median "${out}/$3.anvil")"
  c="$(median "${out}/$3.caf")"
  printf '%-34s %12s %12s %10s\n' "$1" "$(printf '%.4g %s' "${a}" "$2")" \
    "$(printf '%.4g %s' "${c}" "$2")" "$(awk -v a="${a}" -v c="${c}" 'BEGIN {printf "%.2f", c / a}')"
}
row "ping-pong, one worker (round trip)" ns ping_pong_1
row "ping-pong, two workers" ns ping_pong_2
row "actor creation (2^20 leaves)" s actor_creation
row "skynet (1M leaves)" s skynet
row "mailbox contention (20 x 100k)" s mailbox_contention
row "mixed case (20 rings x 100, 50 laps)" s mixed_case
row "memory per idle actor" B bytes
row "peak resident memory (1M idle)" MiB rss

echo
echo "exposed daemon vs raw gRPC (20 alternating rounds of 4000 calls each; QPS over all rounds, p99 over all calls):" >&2
"${grpc_bench}" --benchmark_format=json 2>/dev/null >"${out}/grpc.json"
python3 - "${out}/grpc.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["benchmarks"]
print("%-34s %12s %12s %10s" % ("gRPC echo (anvil threads, size)", "anvil", "raw gRPC", "anvil/raw"))
for r in rows:
    if r.get("run_type") != "iteration":
        continue
    name = r["name"].split("/")
    threads = name[1].split(":")[1]
    size = name[3].split(":")[1]
    label = "%s, %s" % ("default workers" if threads == "0" else threads + " worker",
                        "15 B" if size == "0" else size + " B")
    print("%-34s %12s %12s %10.2f" % ("QPS, " + label, "%.0f" % r["anvil_qps"],
                                      "%.0f" % r["raw_qps"], r["qps_ratio"]))
    print("%-34s %12s %12s %10.2f" % ("p99 us, " + label, "%.0f" % r["anvil_p99_us"],
                                      "%.0f" % r["raw_p99_us"], r["p99_ratio"]))
PY
