// AnvilGenerator: the protoc plugin that turns services marked with
// (anvil.daemon) into anvil daemon declarations.
//
//   protoc --plugin=protoc-gen-anvil=... --anvil_out=OUT kv.proto
//   // OUT/kv.anvil.h, OUT/kv.anvil.cc
//
// For each service S with unary methods it emits:
//   - `SMessage`, the typed mailbox message: a std::variant of one
//     `S<Method>Call` (an anvil::Request of the method's request and reply)
//     per method;
//   - `SRef`, the typed client: one call per method, returning a
//     co_await-able absl::StatusOr<Reply>;
//   - `SActor`, the base class to implement: one virtual coroutine per
//     method, `Serve()` (the receive-and-dispatch loop) and `Spawn()`.
// For each daemon service it also emits `SDaemon`, deriving from
// anvil::Daemon with `static anvil::DaemonInfo Info()` (name, scope,
// dependencies), so the factory can build it. (Joining the two, so that a
// daemon serves its mailbox, comes next.)
//
// Before generating anything it checks every daemon of the request; each
// problem is reported as "file.proto:line:col: service demo.S: problem":
// a dependency on an unknown service or on a service that is not a daemon,
// a dependency on itself, a cycle (with its path, across files), a
// process-wide daemon depending on a per-node one, and an exposed daemon
// with streaming methods (not supported yet).
//
// Parameters: none yet; any parameter is rejected with its name.
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
