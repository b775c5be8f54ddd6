#!/usr/bin/env bash
# The kv store against etcd, side by side on this machine: three kvd and
# three etcd members on 127.0.0.1 (both fsync every write: kvd by default,
# etcd always), the same load generator for both (kvctl bench, whose
# --bench_target=etcd speaks etcd v3's KV API), rounds alternating between
# them. Prints one table: medians over the rounds, and anvil / etcd.
#
#   benchmarks/kv_vs_etcd.sh            # 3 rounds of 5 s per workload
#   ROUNDS=5 SECONDS_PER_ROUND=10 benchmarks/kv_vs_etcd.sh
#
# Installs Debian's etcd-server when etcd is missing. Clients call every
# member (a follower passes a write to its leader, on both systems).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_ROUND:-5}
command -v etcd >/dev/null || apt-get install -y etcd-server >/dev/null
./bazelw build --config=opt //services/kv:kvd //services/kv:kvctl >/dev/null 2>&1
kvd=bazel-bin/services/kv/kvd
kvctl=bazel-bin/services/kv/kvctl
dir=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "${dir}"' EXIT

read -r a1 a2 a3 e1 e2 e3 p1 p2 p3 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(9)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
peers="n1=127.0.0.1:${a1},n2=127.0.0.1:${a2},n3=127.0.0.1:${a3}"
anvil_servers="127.0.0.1:${a1},127.0.0.1:${a2},127.0.0.1:${a3}"
for n in n1 n2 n3; do
  "${kvd}" --node=$n --members=n1,n2,n3 --anvil_peers="${peers}" \
    --data_dir="${dir}" --anvil_log_level=warn >"${dir}/$n.log" 2>&1 &
  pids+=($!)
done
cluster="e1=http://127.0.0.1:${p1},e2=http://127.0.0.1:${p2},e3=http://127.0.0.1:${p3}"
clients=(${e1} ${e2} ${e3})
peer_ports=(${p1} ${p2} ${p3})
for i in 0 1 2; do
  etcd --name "e$((i + 1))" --data-dir "${dir}/e$((i + 1))" \
    --listen-client-urls "http://127.0.0.1:${clients[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${clients[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
    --initial-cluster "${cluster}" --initial-cluster-state new \
    --initial-cluster-token kv-vs-etcd >"${dir}/e$((i + 1)).log" 2>&1 &
  pids+=($!)
done
etcd_servers="127.0.0.1:${e1},127.0.0.1:${e2},127.0.0.1:${e3}"

bench() {  # bench TARGET SERVERS CONCURRENCY PUT_FRACTION
  "${kvctl}" --servers="$2" bench --bench_target="$1" --bench_concurrency="$3" \
    --bench_connections=$(( $3 < 4 ? $3 : 4 )) --bench_put_fraction="$4" \
    --bench_value_size=100 --bench_duration="${seconds}s" --bench_warmup=1s
}
# Both up: a put each goes through.
for _ in $(seq 100); do
  if "${kvctl}" --servers="${anvil_servers}" --timeout=1s put up 1 >/dev/null 2>&1 &&
     bench etcd "${etcd_servers}" 1 1 >/dev/null 2>&1; then break; fi
  sleep 0.2
done

: >"${dir}/results"
for workload in "put 1 1" "put 64 1" "put 256 1" "get 64 0"; do
  read -r name concurrency fraction <<<"${workload}"
  for round in $(seq "${rounds}"); do
    for target in anvil etcd; do
      servers=${anvil_servers}; [[ ${target} == etcd ]] && servers=${etcd_servers}
      line=$(bench "${target}" "${servers}" "${concurrency}" "${fraction}")
      echo "${name} ${concurrency} ${target} ${line}" >>"${dir}/results"
    done
  done
done

python3 - "${dir}/results" <<'PY'
import re, statistics, sys
runs = {}
def ms(text):
    m = re.match(r"([0-9.]+)(us|ms|s)$", text)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
for line in open(sys.argv[1]):
    name, conc, target, rest = line.split(" ", 3)
    ops = float(re.search(r"([0-9.]+) ops/s", rest).group(1))
    p50 = ms(re.search(r"p50 (\S+)", rest).group(1))
    p99 = ms(re.search(r"p99 (\S+)", rest).group(1))
    runs.setdefault((name, int(conc)), {}).setdefault(target, []).append((ops, p50, p99))
print("| workload | anvil ops/s | etcd ops/s | anvil/etcd | anvil p50 / p99 ms | etcd p50 / p99 ms |")
print("|---|---|---|---|---|---|")
for (name, conc), by in runs.items():
    med = {t: [statistics.median(x[i] for x in v) for i in range(3)] for t, v in by.items()}
    a, e = med["anvil"], med["etcd"]
    print(f"| {name}, {conc} in flight | {a[0]:.0f} | {e[0]:.0f} | {a[0] / e[0]:.2f} | "
          f"{a[1]:.2f} / {a[2]:.2f} | {e[1]:.2f} / {e[2]:.2f} |")
PY
