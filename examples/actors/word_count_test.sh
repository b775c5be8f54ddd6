#!/usr/bin/env bash
# Runs the word_count example and checks its report: the five top words
# and a clean finish of every actor.
set -euo pipefail
out="$("${TEST_SRCDIR}/anvil/examples/actors/word_count" --readers=2 --lines=2000 2>&1)"
echo "${out}"
grep -q "^top words:" <<<"${out}"
[[ "$(grep -cE '^  [a-z0-9]+ +[0-9]+$' <<<"${out}")" == 5 ]]
grep -q "all actors finished: OK" <<<"${out}"
