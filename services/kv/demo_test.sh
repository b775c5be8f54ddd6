#!/usr/bin/env bash
# The README's first command, shortened: three nodes over real gRPC elect a
# leader, lose it, elect another, take the old one back, and every
# acknowledged write is read back.
set -euo pipefail
demo="${TEST_SRCDIR}/anvil/services/kv/demo"

out="$("${demo}" --phase=700ms --clients=2 --data_dir="${TEST_TMPDIR}" 2>&1)"
echo "${out}"
grep -qE "^\[ *[0-9.]+s\] n1 serving KvStore and RaftPeer at 127\.0\.0\.1:[0-9]+$" <<<"${out}"
# The first leader (term 1, or later after a split vote on a slow machine).
leader="$(grep -oE "leader: n[123], term [0-9]+$" <<<"${out}" | head -1 | cut -d' ' -f2 | tr -d ,)"
[[ -n "${leader}" ]]
grep -q "stopping the leader ${leader} abruptly" <<<"${out}"
# While it is down, another node leads.
outage="$(sed -n "/stopping the leader/,/restarting/p" <<<"${out}")"
grep -qE "leader: n[123], term [0-9]+$" <<<"${outage}"
! grep -qE "leader: ${leader}, term" <<<"${outage}"
grep -q "${leader} serving again at 127.0.0.1:" <<<"${out}"
grep -qE "^  puts +[1-9][0-9]* ok" <<<"${out}"
grep -qE "^  acknowledged writes still readable: ([0-9]+) of \1 keys OK$" <<<"${out}"
# The WAL files the nodes kept.
ls "${TEST_TMPDIR}"/n1.wal "${TEST_TMPDIR}"/n2.wal "${TEST_TMPDIR}"/n3.wal
echo PASS
