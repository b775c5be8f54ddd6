// AnvilGenerator: the protoc plugin behind anvil_cc_library. For every
// service of a .proto it emits typed C++ into x.anvil.h and x.anvil.cc
// (docs/codegen.md; codegen/testdata/golden shows the output):
//
//   protoc --plugin=protoc-gen-anvil=... --anvil_out=OUT \
//       --anvil_opt=style=.clang-format kv.proto
//   // OUT/kv.anvil.h, OUT/kv.anvil.cc, formatted by clang-format
//
// For each service S with unary methods:
//   - `S<Method>Call` per method and `SMessage`, the mailbox's variant of
//     them (plus the daemon's cc_messages);
//   - `SRef`, the typed client, local or remote: one function per method
//     taking anvil::CallOptions; `SRef::Handlers` to serve it remotely.
// For a plain service, `SActor` (one virtual coroutine per method, Serve,
// Spawn). For an (anvil.daemon) service, `SDeps` (its dependencies, typed)
// and `SDaemon`, the base to implement: Info() (name, scope, dependencies,
// exposure), the receive loop on an ActorDaemon, or for a daemon without
// methods a plain Daemon deriving from its cc_interface.
//
// Before generating anything it checks every daemon of the request and,
// transitively, the daemons they depend on, and reports each problem as
// "file.proto:line:col: service demo.S: problem" (docs/codegen.md,
// "Validation").
//
// Parameter: `style=<.clang-format file>`; anything else is rejected by
// name.
#ifndef ANVIL_CODEGEN_ANVIL_GENERATOR_H_
#define ANVIL_CODEGEN_ANVIL_GENERATOR_H_

#include <string>
#include <vector>

#include "google/protobuf/compiler/code_generator.h"
#include "google/protobuf/descriptor.h"

namespace anvil::codegen {

class AnvilGenerator final : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file,
                const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;

  bool GenerateAll(
      const std::vector<const google::protobuf::FileDescriptor*>& files,
      const std::string& parameter,
      google::protobuf::compiler::GeneratorContext* context,
      std::string* error) const override;

  uint64_t GetSupportedFeatures() const override {
    return FEATURE_PROTO3_OPTIONAL;
  }
};

}  // namespace anvil::codegen

#endif  // ANVIL_CODEGEN_ANVIL_GENERATOR_H_
