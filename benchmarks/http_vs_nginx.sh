#!/usr/bin/env bash
# services/http_hello against nginx, both serving the same fixed 14-byte
# text/plain response on 127.0.0.1 with the same number of workers, loaded
# by wrk (keep-alive connections):
#
#   ./bazelw run --config=opt //benchmarks:http_vs_nginx
#   ROUNDS=9 DURATION=10s CONNECTIONS=256 ./bazelw run --config=opt //benchmarks:http_vs_nginx
#
# wrk and nginx come from Debian's archive (installed with apt-get if
# missing; that needs root). The servers take turns, round by round, the
# first one alternating, so drift in the machine's speed hits both; the
# summary is the median of the rounds. nginx: worker_processes as
# WORKERS, one listener per worker (listen ... reuseport, as TcpServer
# does), access log off, unlimited keep-alive requests.
set -euo pipefail

runfiles="${RUNFILES_DIR:-$0.runfiles}/anvil"
http_hello="${runfiles}/services/http_hello/http_hello"
rounds="${ROUNDS:-5}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
workers="${WORKERS:-$(nproc)}"
wrk_threads="${WRK_THREADS:-$(nproc)}"
anvil_port=18480
nginx_port=18481

for tool in wrk nginx; do
  if ! command -v "${tool}" > /dev/null; then
    echo "installing ${tool} from Debian's archive..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      "$([[ ${tool} == nginx ]] && echo nginx-light || echo wrk)" > /dev/null
  fi
done

work="$(mktemp -d)"
cleanup() {
  [[ -n "${anvil_pid:-}" ]] && kill "${anvil_pid}" 2> /dev/null || true
  [[ -f "${work}/nginx.pid" ]] && kill "$(cat "${work}/nginx.pid")" 2> /dev/null || true
  sleep 0.5
  rm -rf "${work}"
}
trap cleanup EXIT

mkdir -p "${work}/logs"
cat > "${work}/nginx.conf" << CONF
daemon on;
worker_processes ${workers};
pid ${work}/nginx.pid;
error_log ${work}/error.log warn;
events { worker_connections 10000; }
http {
  access_log off;
  keepalive_requests 1000000000;
  server {
    listen 127.0.0.1:${nginx_port} reuseport;
    location / { default_type text/plain; return 200 "Hello, World!\n"; }
  }
}
CONF
nginx -c "${work}/nginx.conf" -p "${work}"
"${http_hello}" --address="127.0.0.1:${anvil_port}" --anvil_threads="${workers}" \
  > "${work}/http_hello.log" 2>&1 &
anvil_pid=$!

wait_for() {  # until port $1 answers
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  exit 1
}
wait_for "${anvil_port}"
wait_for "${nginx_port}"
# Both must send the same body.
[[ "$(curl -s "http://127.0.0.1:${anvil_port}/")" == "$(curl -s "http://127.0.0.1:${nginx_port}/")" ]]

# wrk's latency figures carry units (us, ms, s): print milliseconds.
to_ms() {
  awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
         else if (v ~ /ms$/) { sub(/ms$/, "", v) }
         else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
         printf "%.3f\n", v }'
}

run() {  # side port -> "rps p50_ms p99_ms errors"
  local out
  out="$(wrk -t"${wrk_threads}" -c"${connections}" -d"${duration}" --latency \
    "http://127.0.0.1:$2/")"
  local rps p50 p99 errors
  rps="$(awk '/^Requests\/sec/ {print $2}' <<< "${out}")"
  p50="$(awk '$1 == "50%" {print $2}' <<< "${out}" | to_ms)"
  p99="$(awk '$1 == "99%" {print $2}' <<< "${out}" | to_ms)"
  errors="$(awk '/Non-2xx|Socket errors/ {print}' <<< "${out}" | tr '\n' ' ')"
  echo "$1 ${rps} ${p50} ${p99} ${errors:-none}"
}

echo "machine: $(nproc) cores; ${workers} server workers; wrk -t${wrk_threads} -c${connections} -d${duration} --latency; ${rounds} rounds"
printf '%-6s %-10s %12s %10s %10s  %s\n' round server requests/s p50_ms p99_ms errors
for round in $(seq "${rounds}"); do
  if (( round % 2 )); then order="anvil nginx"; else order="nginx anvil"; fi
  for side in ${order}; do
    port="${anvil_port}"; [[ ${side} == nginx ]] && port="${nginx_port}"
    read -r name rps p50 p99 errors <<< "$(run "${side}" "${port}")"
    printf '%-6s %-10s %12.0f %10.3f %10.3f  %s\n' "${round}" "${name}" "${rps}" "${p50}" "${p99}" "${errors}"
    echo "${rps} ${p50} ${p99}" >> "${work}/${side}"
  done
done

median() {  # column $2 of file $1
  awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
a_rps="$(median "${work}/anvil" 1)"; n_rps="$(median "${work}/nginx" 1)"
a_p50="$(median "${work}/anvil" 2)"; n_p50="$(median "${work}/nginx" 2)"
a_p99="$(median "${work}/anvil" 3)"; n_p99="$(median "${work}/nginx" 3)"
echo
echo "medians      requests/s    p50_ms    p99_ms"
printf 'http_hello %12.0f %9.3f %9.3f\n' "${a_rps}" "${a_p50}" "${a_p99}"
printf 'nginx      %12.0f %9.3f %9.3f\n' "${n_rps}" "${n_p50}" "${n_p99}"
awk -v a="${a_rps}" -v n="${n_rps}" -v ap="${a_p99}" -v np="${n_p99}" 'BEGIN {
  r = a / n; l = ap / np
  printf "requests/s http_hello/nginx: %.2f (target >= 0.80: %s)\n", r, ((r >= 0.8) ? "met" : "MISSED")
  printf "p99 latency http_hello/nginx: %.2f (target <= 1.50: %s)\n", l, ((l <= 1.5) ? "met" : "MISSED")
}'
