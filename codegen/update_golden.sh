#!/usr/bin/env bash
# Regenerates codegen/testdata/golden from protoc-gen-anvil's current output.
set -euo pipefail
cd "$(dirname "$0")/.."
./bazelw build //codegen:kv_testdata_anvil_protos
bin="$(./bazelw info bazel-bin 2>/dev/null)"
for f in kv.anvil.h kv.anvil.cc; do
  cp "${bin}/codegen/testdata/${f}" "codegen/testdata/golden/${f}.golden"
  chmod 644 "codegen/testdata/golden/${f}.golden"
done
echo "updated codegen/testdata/golden"
