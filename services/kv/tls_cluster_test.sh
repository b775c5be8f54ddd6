#!/usr/bin/env bash
# Three kvd processes over mutual TLS, each with a certificate naming it,
# signed by the cluster's CA (made here with openssl). kvctl calls KvStore
# with a certificate of its own. Forged Raft calls (forged_raft_call) from
# a client with no certificate, with one of another CA, and with one the
# cluster's CA signed for a non-member (claiming a member's name) are all
# refused: the leader and its term do not change, and every acknowledged
# write is there after every node is killed and restarted.
set -euo pipefail
kvd="${TEST_SRCDIR}/anvil/services/kv/kvd"
kvctl="${TEST_SRCDIR}/anvil/services/kv/kvctl"
forge="${TEST_SRCDIR}/anvil/services/kv/forged_raft_call"
dir="${TEST_TMPDIR}"
cd "${dir}"

ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
make_ca() {  # NAME
  openssl req -x509 "${ec[@]}" -days 1 -subj "/CN=$1" -keyout "$1.key" \
    -out "$1.pem" 2>/dev/null
}
make_cert() {  # NAME CA: a certificate for NAME (and 127.0.0.1)
  openssl req "${ec[@]}" -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" \
    2>/dev/null
  printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$1" >"$1.cnf"
  openssl x509 -req -days 1 -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
    -CAcreateserial -extfile "$1.cnf" -out "$1.pem" 2>/dev/null
}
make_ca ca
make_ca rogue_ca
for name in n1 n2 n3 kvctl mallory; do make_cert "${name}" ca; done
make_cert rogue rogue_ca

read -r p1 p2 p3 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
peers="n1=127.0.0.1:${p1},n2=127.0.0.1:${p2},n3=127.0.0.1:${p3}"
servers="127.0.0.1:${p1},127.0.0.1:${p2},127.0.0.1:${p3}"
declare -A pid
start() {  # NODE
  "${kvd}" --node="$1" --members=n1,n2,n3 --anvil_peers="${peers}" \
    --data_dir="${dir}" --anvil_tls_cert="$1.pem" --anvil_tls_key="$1.key" \
    --anvil_tls_ca=ca.pem --anvil_tls_mutual >>"$1.out" 2>&1 &
  pid[$1]=$!
}
cleanup() {
  for n in n1 n2 n3; do kill -9 "${pid[$n]:-0}" 2>/dev/null || true; done
}
trap cleanup EXIT
for n in n1 n2 n3; do start "$n"; done

ctl() {
  "${kvctl}" --anvil_tls_ca=ca.pem --anvil_tls_cert=kvctl.pem \
    --anvil_tls_key=kvctl.key --servers="${servers}" --timeout=20s "$@"
}
wait_for_leader() {
  leader=""
  for _ in $(seq 200); do
    leader="$(ctl status 2>/dev/null | grep -oE ": n[123] leader" | head -1 | cut -c3-4 || true)"
    [[ -n "${leader}" ]] && return 0
    sleep 0.1
  done
  ctl status || true; tail -n 20 ./*.out; return 1
}
wait_for_leader
echo "leader: ${leader}"
# The leader's term, from its own status line.
term_of_leader() {
  ctl status | grep -E ": ${leader} leader" | grep -oE "term [0-9]+" | cut -d' ' -f2
}
term="$(term_of_leader)"

for i in $(seq 20); do ctl put "key${i}" "value${i}" >/dev/null; done
echo "20 puts acknowledged over mutual TLS"

for port in $(tr ',' ' ' <<<"${servers}"); do
  # No certificate, another CA's, or plaintext: the handshake fails.
  "${forge}" --server="${port}" --anvil_tls_ca=ca.pem | tee forged
  [[ $(grep -c "^[a-z]*: 14 " forged) == 3 ]]
  "${forge}" --server="${port}" --anvil_tls_ca=ca.pem \
    --anvil_tls_cert=rogue.pem --anvil_tls_key=rogue.key | tee forged
  [[ $(grep -c "^[a-z]*: 14 " forged) == 3 ]]
  "${forge}" --server="${port}" --claim=n2 | tee forged
  [[ $(grep -c "^[a-z]*: 14 " forged) == 3 ]]
  # The cluster's CA signed it, for mallory; claiming n2 changes nothing.
  "${forge}" --server="${port}" --anvil_tls_ca=ca.pem \
    --anvil_tls_cert=mallory.pem --anvil_tls_key=mallory.key --claim=n2 |
    tee forged
  [[ $(grep -c "^[a-z]*: 7 .*it proved to be mallory" forged) == 2 ]]
  grep -q "^garbage: 3 the request does not parse" forged
done
grep -q "refused /anvil.kv.RaftPeer/AppendEntries from ipv4:127.0.0.1:[0-9]*: it proved to be mallory" n1.out
if grep -q "UNAUTHENTICATED" n1.out; then
  echo "kvd over mutual TLS warned that it is unauthenticated"; exit 1
fi
[[ "$(term_of_leader)" == "${term}" ]] || {
  echo "the leader's term moved from ${term}"; ctl status; exit 1; }

# kvctl needs a certificate here, and says so when its files are bad.
if "${kvctl}" --anvil_tls_ca=ca.pem --servers="${servers}" --timeout=2s \
    get key1 2>kvctl.err; then
  echo "kvctl without a certificate was served"; exit 1
fi
set +e
"${kvctl}" --anvil_tls_ca=missing.pem --servers="${servers}" get key1 \
  2>kvctl.err
code=$?
set -e
[[ ${code} == 2 ]] && grep -q "cannot read missing.pem" kvctl.err

# Every acknowledged write survives a kill -9 of every node.
for n in n1 n2 n3; do kill -9 "${pid[$n]}"; wait "${pid[$n]}" 2>/dev/null || true; done
for n in n1 n2 n3; do start "$n"; done
wait_for_leader
for i in $(seq 20); do
  [[ "$(ctl get "key${i}")" == "value${i}" ]] || { echo "LOST key${i}"; exit 1; }
done
echo PASS
