#!/usr/bin/env bash
# Compares protoc-gen-anvil's output for the protos in codegen/testdata with
# the checked-in golden files. On a difference it prints it and the command
# that refreshes the golden files.
set -euo pipefail
root="${TEST_SRCDIR}/anvil/codegen/testdata"
status=0
for f in kv.anvil.h kv.anvil.cc frontend/frontend.anvil.h \
    frontend/frontend.anvil.cc streams.anvil.h streams.anvil.cc; do
  if ! diff -u "${root}/golden/$(basename "${f}").golden" "${root}/${f}"; then
    status=1
  fi
done
if [[ ${status} != 0 ]]; then
  echo "generated code differs from codegen/testdata/golden; if intended, run:"
  echo "  codegen/update_golden.sh"
fi
exit ${status}
