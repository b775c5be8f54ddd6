#!/usr/bin/env bash
# Three kvd processes on 127.0.0.1; a client writes keys while the leader is
# killed with SIGKILL and restarted; every acknowledged write must still be
# readable afterwards, from every node's point of view, and was streamed,
# once and in order, to a `kvctl watch` that ran through the kill (and to
# Python's and Node.js's watches afterwards). A plain client's forged Raft calls
# are refused.
set -euo pipefail
kvd="${TEST_SRCDIR}/anvil/services/kv/kvd"
kvctl="${TEST_SRCDIR}/anvil/services/kv/kvctl"
forge="${TEST_SRCDIR}/anvil/services/kv/forged_raft_call"
dir="${TEST_TMPDIR}"

# Three free ports (bound and released: a small race, fine on a test box).
read -r p1 p2 p3 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
peers="n1=127.0.0.1:${p1},n2=127.0.0.1:${p2},n3=127.0.0.1:${p3}"
servers="127.0.0.1:${p1},127.0.0.1:${p2},127.0.0.1:${p3}"
declare -A pid

start() {  # start NODE
  "${kvd}" --node="$1" --members=n1,n2,n3 --anvil_peers="${peers}" \
    --data_dir="${dir}" >>"${dir}/$1.out" 2>&1 &
  pid[$1]=$!
}
cleanup() {
  for n in n1 n2 n3; do kill -9 "${pid[$n]:-0}" 2>/dev/null || true; done
}
trap cleanup EXIT
for n in n1 n2 n3; do start "$n"; done

ctl() { "${kvctl}" --servers="${servers}" --timeout=20s "$@"; }

# Wait for a leader.
leader=""
for _ in $(seq 100); do
  leader="$(ctl status 2>/dev/null | grep -oE ": n[123] leader" | head -1 | cut -c3-4 || true)"
  [[ -n "${leader}" ]] && break
  sleep 0.1
done
[[ -n "${leader}" ]] || { ctl status; cat "${dir}"/*.out; exit 1; }
echo "leader: ${leader}"

# A watch of every change from revision 1, through the kill (its server
# may be the one killed: it resumes at the next).
"${kvctl}" --servers="${servers}" --timeout=30s watch "" 1 >"${dir}/watched" 2>"${dir}/watch.err" &
watcher=$!
trap 'cleanup; kill -9 ${watcher} 2>/dev/null || true' EXIT

# The load: 150 puts, one process each; acknowledged ones are recorded.
: >"${dir}/acked"
(
  for i in $(seq 150); do
    if ctl put "key${i}" "value${i}" >/dev/null 2>&1; then
      echo "key${i} value${i}" >>"${dir}/acked"
    fi
  done
) &
writer=$!

# Kill the leader mid-load, then bring it back.
for _ in $(seq 1200); do
  [[ $(wc -l <"${dir}/acked") -ge 40 ]] && break
  sleep 0.05
done
if [[ $(wc -l <"${dir}/acked") -lt 40 ]]; then
  echo "no progress: $(wc -l <"${dir}/acked") puts acknowledged in 60 s"
  ctl put probe value || true
  tail -n 20 "${dir}"/*.out
  exit 1
fi
echo "SIGKILL ${leader} after $(wc -l <"${dir}/acked") acknowledged puts"
kill -9 "${pid[${leader}]}"
wait "${pid[${leader}]}" 2>/dev/null || true
sleep 1
start "${leader}"
echo "restarted ${leader}"
wait "${writer}"
acked=$(wc -l <"${dir}/acked")
echo "${acked} of 150 puts acknowledged"
[[ ${acked} -ge 100 ]]
ctl status

# Every acknowledged write, read through each node (a follower passes the
# read to the leader: linearizable whichever node answers).
sort "${dir}/acked" >"${dir}/expected"
for port in $(tr ',' ' ' <<<"${servers}"); do
  # shellcheck disable=SC2046
  "${kvctl}" --servers="${port},${servers}" --timeout=20s \
    get $(cut -d' ' -f1 "${dir}/expected") | sort >"${dir}/read" || true
  if ! diff "${dir}/expected" "${dir}/read"; then
    echo "LOST WRITES reading through ${port}"
    exit 1
  fi
done

# The watch saw every acknowledged put, each change once, in revision
# order.
for _ in $(seq 100); do
  missing=$(comm -23 "${dir}/expected" <(grep '^PUT ' "${dir}/watched" | cut -d' ' -f2,3 | sort) | wc -l)
  [[ ${missing} == 0 ]] && break
  sleep 0.1
done
kill "${watcher}" 2>/dev/null || true
if [[ ${missing} != 0 ]]; then
  echo "the watch missed ${missing} acknowledged puts"; cat "${dir}/watch.err"; exit 1
fi
revisions="$(grep -oE '@[0-9]+$' "${dir}/watched" | tr -d @)"
if [[ "${revisions}" != "$(sort -n -u <<<"${revisions}")" ]]; then
  echo "the watch's revisions are not strictly increasing"; exit 1
fi
echo "kvctl watch: $(wc -l <"${dir}/watched") changes, every acknowledged put, in order"

# A client no one here wrote: Python's grpcio, from revision 1.
/usr/bin/python3 "${TEST_SRCDIR}/anvil/services/kv/testdata/python_watch.py" \
  "${servers}" "${dir}/expected"

# And Node.js over its own HTTP/2 stack (not gRPC's), at one server.
node "${TEST_SRCDIR}/anvil/services/kv/testdata/node_watch.js" \
  "127.0.0.1:${p1}" "$(wc -l <"${dir}/expected")"

# The restarted node caught up: it holds every key itself.
restarted_port=$(cut -d= -f2 <<<"$(tr ',' '\n' <<<"${peers}" | grep "^${leader}=")")
for _ in $(seq 50); do
  keys="$("${kvctl}" --servers="${restarted_port}" status | grep -oE "[0-9]+ keys" | cut -d' ' -f1)"
  [[ "${keys}" -ge "${acked}" ]] && break
  sleep 0.1
done
"${kvctl}" --servers="${restarted_port}" status
[[ "${keys}" -ge "${acked}" ]]

# A plain gRPC client that names no node cannot call RaftPeer (plaintext
# proves nothing, so a node that claims a member's name would be believed:
# kvd says so in its log; tls_cluster_test covers mutual TLS).
for port in $(tr ',' ' ' <<<"${servers}"); do
  "${forge}" --server="${port}" | tee "${dir}/forged"
  [[ $(grep -c ": 7 /anvil.kv.RaftPeer/.* is served to the cluster's nodes only" "${dir}/forged") == 2 ]]
  grep -q "^garbage: 3 the request does not parse as anvil.kv.PutRequest" "${dir}/forged"
done
grep -q "UNAUTHENTICATED: the cluster services anvil.kv.RaftPeer" "${dir}/n1.out"
grep -q "refused /anvil.kv.RaftPeer/AppendEntries from ipv4:127.0.0.1:" "${dir}/n1.out"
grep -q "refused /anvil.kv.KvStore/Put from ipv4:127.0.0.1:[0-9]*: the request does not parse" "${dir}/n1.out"
ctl get key1 >/dev/null

# A second kvd for n1 on the same data directory (on a port of its own) is
# refused, and changes nothing: the first still serves.
p4=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if timeout 20 "${kvd}" --node=n1 --members=n1,n2,n3 \
    --anvil_peers="n1=127.0.0.1:${p4},n2=127.0.0.1:${p2},n3=127.0.0.1:${p3}" \
    --data_dir="${dir}" >"${dir}/second.out" 2>&1; then
  echo "a second kvd for n1 ran on the same data directory"; exit 1
fi
grep -q "another process runs this node" "${dir}/second.out" || {
  echo "the second kvd did not say why it stopped:"; cat "${dir}/second.out"; exit 1; }
ctl get key1 >/dev/null

# A data directory that does not exist is named, not taken for a lock held.
if timeout 20 "${kvd}" --node=n1 --members=n1 \
    --anvil_peers="n1=127.0.0.1:${p4}" \
    --data_dir="${dir}/missing" >"${dir}/missing.out" 2>&1; then
  echo "kvd ran without its data directory"; exit 1
fi
grep -q "${dir}/missing/n1.lock: No such file or directory" "${dir}/missing.out" || {
  echo "kvd did not name the missing directory:"; cat "${dir}/missing.out"; exit 1; }
echo PASS
