#!/usr/bin/env bash
# The runtime's layers, as includes: a package may include only itself and
# the packages below it (README.md, Layout):
#
#   core <- actor <- {storage, io, transport, daemon} <- {generated, node}
#
# (generated: what protoc-gen-anvil's output includes.)
#
# Tests, benchmarks and testdata are exempt (they may use what is above
# them to drive what they test). Fails naming each include that runs
# against the layers; first proves it can, on a planted violation.
set -euo pipefail

# allowed PACKAGE: the packages its library sources may include.
allowed() {
  case "$1" in
    core) echo "core" ;;
    actor) echo "core actor" ;;
    storage | io | transport | daemon) echo "core actor $1" ;;
    node) echo "core actor storage io transport daemon node" ;;
    generated) echo "core actor transport daemon generated" ;;
    *) echo "" ;;
  esac
}

# check ROOT: prints each violation under ROOT/runtime; fails if any.
check() {
  local root="$1" bad=0 file package included
  while IFS= read -r file; do
    case "${file}" in
      *_test.cc | *_benchmark.cc | */testdata/*) continue ;;
    esac
    package="$(cut -d/ -f2 <<<"${file#"${root}/"}")"
    while IFS= read -r included; do
      if ! grep -qw "${included}" <<<"$(allowed "${package}")"; then
        echo "${file#"${root}/"} includes runtime/${included}/: ${package} may include $(allowed "${package}")"
        bad=1
      fi
    done < <(grep -ohE '^#include "runtime/[a-z_]+/' "${file}" |
               sed -E 's|#include "runtime/([a-z_]+)/|\1|' | sort -u)
  done < <(find "${root}/runtime" \( -name '*.h' -o -name '*.cc' \) | sort)
  return "${bad}"
}

# The check catches a planted violation.
planted="${TEST_TMPDIR}/planted"
mkdir -p "${planted}/runtime/actor"
echo '#include "runtime/node/node.h"' >"${planted}/runtime/actor/bad.h"
if check "${planted}" >"${TEST_TMPDIR}/planted.out"; then
  echo "the check missed a planted violation"
  exit 1
fi
grep -q "runtime/actor/bad.h includes runtime/node/" "${TEST_TMPDIR}/planted.out"

# The tree.
root="${TEST_SRCDIR}/anvil"
[[ $(find "${root}/runtime" -name '*.h' | wc -l) -gt 50 ]] || {
  echo "the runtime's sources are missing from the test's data"
  exit 1
}
check "${root}"
echo "layers OK"
