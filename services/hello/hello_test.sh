#!/usr/bin/env bash
# The daemon-picking example: picked daemons and exactly their dependencies
# are built, run and stopped; an unknown name is refused with the choices.
set -euo pipefail
hello="${TEST_SRCDIR}/anvil/services/hello/hello"

out="$("${hello}" --daemon=alice --daemon=bob --anvil_run_for=250ms 2>&1)"
echo "${out}"
grep -q "^built, dependencies first: hello.GuestBook, hello.Alice, hello.Bob$" <<<"${out}"
grep -q "^alice signed the guest book$" <<<"${out}"
grep -q "^bob signed the guest book$" <<<"${out}"
! grep -q "carol" <<<"${out}"
grep -q "^hello node: stopped: OK$" <<<"${out}"
grep -qE "^guest book: .*alice#1.*" <<<"${out}"

out="$("${hello}" --daemon=carol --anvil_run_for=50ms 2>&1)"
grep -q "^built, dependencies first: hello.GuestBook, hello.Carol$" <<<"${out}"

set +e
out="$("${hello}" --daemon=dave 2>&1)"
code=$?
set -e
echo "${out}"
[[ ${code} == 2 ]]
grep -q "unknown daemon 'dave'; valid: alice, bob, carol" <<<"${out}"
echo PASS
