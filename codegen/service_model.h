// ServiceModel: what protoc-gen-anvil reads off a .proto service, once:
// its anvil options, its methods (unary and streaming) and dependencies, and
// the C++ names the generated code gives them, relative to the file being
// generated.
//
//   if (!IsDaemon(descriptor)) ...;          // reads (anvil.daemon)
//   const ServiceModel service(descriptor);  // REQUIRES: Validate passed
//   for (const MethodModel& method : service.methods) ... method.request ...
//
// The free functions read raw options and are safe on any descriptor (the
// validator uses them); ServiceModel assumes the request passed Validate
// (every dependency resolves).
#ifndef ANVIL_CODEGEN_SERVICE_MODEL_H_
#define ANVIL_CODEGEN_SERVICE_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "anvil/options.pb.h"
#include "google/protobuf/descriptor.h"

namespace anvil::codegen {

bool IsDaemon(const google::protobuf::ServiceDescriptor& service);
// The service's (anvil.daemon) options; defaults for a plain service.
const DaemonOptions& OptionsOf(
    const google::protobuf::ServiceDescriptor& service);
// The exposure declared, the deprecated `expose: true` read as PUBLIC.
Exposure ExposureOf(const google::protobuf::ServiceDescriptor& service);
bool IsExposed(const google::protobuf::ServiceDescriptor& service);
bool HasMethods(const google::protobuf::ServiceDescriptor& service);

// "KvStore" -> "kv_store": a Deps field and accessor name.
std::string SnakeCase(absl::string_view name);
// "a::b::C" (or "::a::b::C"): a qualified C++ name.
bool IsCppName(absl::string_view name);
// "demo.kv" -> "demo::kv".
std::string Namespace(const google::protobuf::FileDescriptor& file);
// "x/y.proto" -> "x/y".
std::string StripProto(const std::string& file_name);

// The proto's leading comment of a descriptor, as C++ comment lines each
// starting with `indent` ("" if there is none).
std::string LeadingComments(const google::protobuf::ServiceDescriptor& service,
                            absl::string_view indent = "");
std::string LeadingComments(const google::protobuf::MethodDescriptor& method,
                            absl::string_view indent = "");

// A method, as the generated code sees it.
struct MethodModel {
  // What streams: nothing, the replies, the requests, or both.
  enum class Kind { kUnary, kServerStream, kClientStream, kBidiStream };

  explicit MethodModel(const google::protobuf::MethodDescriptor& method);

  bool streams() const { return kind != Kind::kUnary; }

  const google::protobuf::MethodDescriptor* descriptor;
  std::string name;     // "Read"
  std::string request;  // C++ type, relative to the service's namespace
  std::string reply;    // C++ type
  Kind kind;
  bool one_way;
  bool reentrant;        // true for every stream
  bool internal;         // never served (Handlers leaves it out)
  uint32_t deadline_ms;  // 0: none
};

// A dependency of a daemon.
struct DependencyModel {
  const google::protobuf::ServiceDescriptor* descriptor;
  std::string field;  // "kv_store": the Deps field and the accessor
  bool has_methods;
  std::string daemon;  // its generated base, "KvStoreDaemon"
  std::string ref;     // its client, "KvStoreRef" (if it has methods)

  // How the dependent holds it: its ref if it has methods, else a
  // reference to its base ("ConfigDaemon&").
  std::string held() const { return has_methods ? ref : daemon + "&"; }
};

struct ServiceModel {
  explicit ServiceModel(const google::protobuf::ServiceDescriptor& service);

  const google::protobuf::ServiceDescriptor* descriptor;
  std::string name;       // "Storage"
  std::string full_name;  // "demo.kv.Storage"
  bool daemon;
  bool process_scoped;               // daemons only
  Exposure exposure;                 // NOT_EXPOSED for plain services
  std::vector<MethodModel> methods;  // in order
  std::vector<DependencyModel> dependencies;
  uint32_t mailbox_capacity;             // 0: the runtime's default
  std::string cc_header;                 // or empty
  std::vector<std::string> cc_messages;  // C++ types, relative
  std::string cc_interface;              // C++ type, relative; or empty

  bool any_reentrant() const;
  // The runtime's anvil::DaemonExposure, as C++.
  std::string cpp_exposure() const;
};

}  // namespace anvil::codegen

#endif  // ANVIL_CODEGEN_SERVICE_MODEL_H_
