#!/bin/sh
# Porcupine beside anvil's checker on porcupine's test data, on this
# machine: CPU time per pass over the 102 etcd logs and the 6 kv logs.
#
#   testing/sim/porcupine_compare/compare.sh /path/to/porcupine
#
# Needs Go (Debian's golang-go) and a checkout of
# https://github.com/anishathalye/porcupine (no other dependencies).
set -eu
porcupine=${1:?usage: compare.sh PORCUPINE_CHECKOUT}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$porcupine"/. "$work"
cp "$here/anvil_compare_test.go" "$work/"
(cd "$work" && GOFLAGS=-mod=mod go test -count=1 -v -run TestAnvilCompare . | grep -v "^[=-]")
cd "$here/../../.."
./bazelw run --config=opt //testing/sim:linearizability_benchmark -- \
  --benchmark_filter=Porcupine --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
