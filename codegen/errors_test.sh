#!/usr/bin/env bash
# Runs protoc with protoc-gen-anvil on bad protos and checks each message.
set -uo pipefail
root="${TEST_SRCDIR}/anvil"
protoc="$(find -L "${TEST_SRCDIR}" -path '*system/bin/protoc' -type f | head -1)"
plugin="${root}/codegen/protoc-gen-anvil"
failures=0

expect_error() {  # proto file, expected substring[, plugin parameter]
  local proto="$1" expected="$2" parameter="${3:-}" out
  out="$("${protoc}" -I"${root}" -I"${root}/proto" -I/usr/include \
      --plugin=protoc-gen-anvil="${plugin}" --anvil_out="${TEST_TMPDIR}" \
      ${parameter:+--anvil_opt="${parameter}"} \
      "codegen/testdata/${proto}" 2>&1)"
  local code=$?
  if [[ ${code} == 0 ]]; then
    echo "FAIL ${proto}: protoc succeeded"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "${expected}" <<<"${out}"; then
    echo "FAIL ${proto}: expected: ${expected}"
    echo "  got: ${out}"
    failures=$((failures + 1)); return
  fi
  echo "ok   ${proto}: ${expected}"
}

cd "${root}"
expect_error bad_unknown.proto \
  'codegen/testdata/bad_unknown.proto:5:1: service bad.Kv: depends on unknown service "bad.Disk"'
expect_error bad_self.proto \
  'codegen/testdata/bad_self.proto:5:1: service bad.Narcissus: depends on itself'
expect_error bad_cycle_a.proto \
  'service bad.A: dependency cycle: bad.A -> bad.B -> bad.C -> bad.A'
expect_error bad_scope.proto \
  'codegen/testdata/bad_scope.proto:9:1: service bad.Shared: is process-wide but depends on bad.PerNode, which is per node'
expect_error bad_stream.proto \
  'codegen/testdata/bad_stream.proto:7:1: service bad.Feed: method Watch streams, so it cannot be one_way'
expect_error bad_not_daemon.proto \
  'service bad.User: depends on bad.Helper, which is not a daemon'
expect_error bad_one_way.proto \
  'codegen/testdata/bad_one_way.proto:7:1: service bad.Logger: method Write is one_way, so it must return google.protobuf.Empty, not bad.Ack'
expect_error bad_exposure.proto \
  'codegen/testdata/bad_exposure.proto:6:1: service bad.Raft: says both expose: true (PUBLIC) and exposure: CLUSTER'
expect_error bad_all_internal.proto \
  'codegen/testdata/bad_all_internal.proto:6:1: service bad.Ticker: is exposed (PUBLIC) but has no method to serve: every method is internal (Tick)'
expect_error bad_accessor.proto \
  'codegen/testdata/bad_accessor.proto:10:1: service bad.User: depends on bad.Ref, whose accessor ref() would hide the daemon'"'"'s own'
# C++ beside the proto: each problem reported, all in one run.
expect_error bad_cc.proto \
  'codegen/testdata/bad_cc.proto:7:1: service bad.NoHeader: names C++ types (cc_interface or cc_messages) but no cc_header to include for them'
expect_error bad_cc.proto \
  'service bad.Unused: gives cc_header "bad/unused.h" but neither cc_interface nor cc_messages'
expect_error bad_cc.proto \
  'service bad.WithMethods: has methods and a cc_interface'
expect_error bad_cc.proto \
  'service bad.NotCpp: cc_interface "bad.Api" is not a qualified C++ name'
expect_error bad_cc.proto \
  'service bad.Twice: cc_messages names ::bad::Tick twice'
expect_error bad_cc.proto \
  'service bad.MessagesOnly: has cc_messages but no method'
expect_error bad_cc.proto \
  'service bad.AbsoluteHeader: cc_header "/usr/include/api.h" must be a path relative to the workspace'
# The plugin's one parameter, and a style file clang-format cannot read.
expect_error kv.proto \
  'protoc-gen-anvil takes one parameter, style=<.clang-format file>; got "colour=blue"' \
  colour=blue
expect_error kv.proto 'clang-format failed on codegen/testdata/kv.anvil.h' \
  style=/nonexistent/.clang-format
exit $((failures > 0))
