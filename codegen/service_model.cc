#include "codegen/service_model.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace anvil::codegen {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::SourceLocation;

// A message's C++ class, relative to the namespace of `from` when it is
// declared there, fully qualified otherwise. Nested types are joined with
// '_', as protobuf's own generator names them.
std::string CppType(const Descriptor& message, const FileDescriptor& from) {
  std::string name = message.name();
  for (const Descriptor* outer = message.containing_type(); outer != nullptr;
       outer = outer->containing_type()) {
    name = absl::StrCat(outer->name(), "_", name);
  }
  const std::string ns = Namespace(*message.file());
  if (ns == Namespace(from)) return name;
  return ns.empty() ? absl::StrCat("::", name)
                    : absl::StrCat("::", ns, "::", name);
}

// A C++ name the .proto gives (cc_interface, cc_messages), relative to the
// namespace of `from` when it is declared there, else fully qualified.
std::string CcName(absl::string_view name, const FileDescriptor& from) {
  name = absl::StripPrefix(name, "::");
  const std::string ns = absl::StrCat(Namespace(from), "::");
  if (ns != "::" && absl::StartsWith(name, ns)) {
    return std::string(name.substr(ns.size()));
  }
  return absl::StrCat("::", name);
}

// A generated class of `service` ("Ref", "Daemon"), as code generated for
// `from` names it.
std::string Qualified(const ServiceDescriptor& service,
                      absl::string_view suffix, const FileDescriptor& from) {
  const std::string ns = Namespace(*service.file());
  if (ns == Namespace(from)) return absl::StrCat(service.name(), suffix);
  return absl::StrCat(ns.empty() ? "" : "::", ns, "::", service.name(), suffix);
}

template <typename D>
std::string Comments(const D& descriptor, absl::string_view indent) {
  SourceLocation location;
  if (!descriptor.GetSourceLocation(&location) ||
      location.leading_comments.empty()) {
    return "";
  }
  std::string out;
  for (absl::string_view line : absl::StrSplit(
           absl::StripSuffix(location.leading_comments, "\n"), '\n')) {
    absl::StrAppend(&out, indent, "//", line, "\n");
  }
  return out;
}

}  // namespace

bool IsDaemon(const ServiceDescriptor& service) {
  return service.options().HasExtension(anvil::daemon);
}

const DaemonOptions& OptionsOf(const ServiceDescriptor& service) {
  return service.options().GetExtension(anvil::daemon);
}

Exposure ExposureOf(const ServiceDescriptor& service) {
  const DaemonOptions& options = OptionsOf(service);
  if (options.exposure() != EXPOSURE_UNSPECIFIED) return options.exposure();
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
  return options.expose() ? anvil::PUBLIC : anvil::NOT_EXPOSED;
#pragma clang diagnostic pop
}

bool IsExposed(const ServiceDescriptor& service) {
  return IsDaemon(service) && ExposureOf(service) != anvil::NOT_EXPOSED;
}

bool HasMethods(const ServiceDescriptor& service) {
  return service.method_count() > 0;
}

std::string SnakeCase(absl::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c)) {
      const bool after_lower =
          i > 0 && !std::isupper(static_cast<unsigned char>(name[i - 1]));
      const bool before_lower =
          i > 0 && i + 1 < name.size() &&
          std::islower(static_cast<unsigned char>(name[i + 1]));
      if (after_lower || before_lower) out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(c)));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool IsCppName(absl::string_view name) {
  absl::ConsumePrefix(&name, "::");
  if (name.empty()) return false;
  for (absl::string_view part : absl::StrSplit(name, "::")) {
    if (part.empty() ||
        std::isdigit(static_cast<unsigned char>(part.front()))) {
      return false;
    }
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        return false;
      }
    }
  }
  return true;
}

std::string Namespace(const FileDescriptor& file) {
  return absl::StrReplaceAll(file.package(), {{".", "::"}});
}

std::string StripProto(const std::string& file_name) {
  return std::string(absl::StripSuffix(file_name, ".proto"));
}

std::string LeadingComments(const ServiceDescriptor& service,
                            absl::string_view indent) {
  return Comments(service, indent);
}

std::string LeadingComments(const MethodDescriptor& method,
                            absl::string_view indent) {
  return Comments(method, indent);
}

MethodModel::MethodModel(const MethodDescriptor& method)
    : descriptor(&method),
      name(method.name()),
      request(CppType(*method.input_type(), *method.service()->file())),
      reply(CppType(*method.output_type(), *method.service()->file())) {
  const MethodOptions& options = method.options().GetExtension(anvil::method);
  kind = method.client_streaming()
             ? (method.server_streaming() ? Kind::kBidiStream
                                          : Kind::kClientStream)
             : (method.server_streaming() ? Kind::kServerStream : Kind::kUnary);
  one_way = options.one_way();
  // A stream always runs beside the other calls.
  reentrant = options.reentrant() || streams();
  internal = options.internal();
  deadline_ms = options.deadline_ms();
}

ServiceModel::ServiceModel(const ServiceDescriptor& service)
    : descriptor(&service),
      name(service.name()),
      full_name(service.full_name()),
      daemon(IsDaemon(service)),
      process_scoped(OptionsOf(service).scope() == anvil::PROCESS),
      exposure(IsExposed(service) ? ExposureOf(service) : anvil::NOT_EXPOSED),
      mailbox_capacity(OptionsOf(service).mailbox_capacity()),
      cc_header(daemon ? OptionsOf(service).cc_header() : "") {
  const FileDescriptor& file = *service.file();
  for (int m = 0; m < service.method_count(); ++m) {
    methods.emplace_back(*service.method(m));
  }
  if (!daemon) return;
  const DaemonOptions& options = OptionsOf(service);
  for (const std::string& dependency_name : options.depends_on()) {
    const ServiceDescriptor* dependency =
        file.pool()->FindServiceByName(dependency_name);
    const bool has_methods = HasMethods(*dependency);
    dependencies.push_back(DependencyModel{
        .descriptor = dependency,
        .field = SnakeCase(dependency->name()),
        .has_methods = has_methods,
        .daemon = Qualified(*dependency, "Daemon", file),
        .ref = has_methods ? Qualified(*dependency, "Ref", file) : ""});
  }
  for (const std::string& message : options.cc_messages()) {
    cc_messages.push_back(CcName(message, file));
  }
  if (!options.cc_interface().empty()) {
    cc_interface = CcName(options.cc_interface(), file);
  }
}

bool ServiceModel::any_reentrant() const {
  return std::any_of(methods.begin(), methods.end(),
                     [](const MethodModel& m) { return m.reentrant; });
}

std::string ServiceModel::cpp_exposure() const {
  switch (exposure) {
    case anvil::CLUSTER:
      return "::anvil::DaemonExposure::kCluster";
    case anvil::PUBLIC:
      return "::anvil::DaemonExposure::kPublic";
    default:
      return "::anvil::DaemonExposure::kNotExposed";
  }
}

}  // namespace anvil::codegen
