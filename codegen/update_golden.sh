#!/usr/bin/env bash
# Regenerates codegen/testdata/golden from protoc-gen-anvil's current output.
set -euo pipefail
cd "$(dirname "$0")/.."
./bazelw build //codegen:kv_testdata_anvil_protos \
  //codegen:frontend_testdata_anvil_protos \
  //codegen:streams_testdata_anvil_protos
bin="$(./bazelw info bazel-bin 2>/dev/null)/codegen/testdata"
for f in kv.anvil.h kv.anvil.cc frontend/frontend.anvil.h \
    frontend/frontend.anvil.cc streams.anvil.h streams.anvil.cc; do
  golden="codegen/testdata/golden/$(basename "${f}").golden"
  cp "${bin}/${f}" "${golden}"
  chmod 644 "${golden}"
done
echo "updated codegen/testdata/golden"
