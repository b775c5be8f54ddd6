#include "codegen/anvil_generator.h"

#include <cctype>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "anvil/options.pb.h"
#include "google/protobuf/io/printer.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "runtime/daemon/dependency_graph.h"

namespace anvil::codegen {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::SourceLocation;
using ::google::protobuf::compiler::GeneratorContext;
using ::google::protobuf::io::Printer;
using ::google::protobuf::io::ZeroCopyOutputStream;

bool IsDaemon(const ServiceDescriptor& service) {
  return service.options().HasExtension(anvil::daemon);
}

const DaemonOptions& OptionsOf(const ServiceDescriptor& service) {
  return service.options().GetExtension(anvil::daemon);
}

// SCOPE_UNSPECIFIED means NODE.
bool IsProcessScoped(const ServiceDescriptor& service) {
  return OptionsOf(service).scope() == anvil::PROCESS;
}

// "file.proto:line:col" of the service's declaration (1-based), or the
// file name when the source is unknown.
std::string Where(const ServiceDescriptor& service) {
  SourceLocation location;
  if (service.GetSourceLocation(&location)) {
    return absl::StrCat(service.file()->name(), ":", location.start_line + 1,
                        ":", location.start_column + 1);
  }
  return service.file()->name();
}

std::string Problem(const ServiceDescriptor& service, absl::string_view what) {
  return absl::StrCat(Where(service), ": service ", service.full_name(), ": ",
                      what);
}

// Every problem of the daemons in `files`, one line each.
std::vector<std::string> Validate(
    const std::vector<const FileDescriptor*>& files) {
  std::vector<std::string> problems;
  DependencyGraph graph;
  std::map<std::string, const ServiceDescriptor*> daemons;
  std::vector<const ServiceDescriptor*> pending;
  for (const FileDescriptor* file : files) {
    for (int i = 0; i < file->service_count(); ++i) {
      if (IsDaemon(*file->service(i))) pending.push_back(file->service(i));
    }
  }
  // The daemons of the request and, transitively, those they depend on in
  // imported files: a cycle may cross files.
  while (!pending.empty()) {
    const ServiceDescriptor* service = pending.back();
    pending.pop_back();
    if (!daemons.emplace(service->full_name(), service).second) continue;
    std::vector<std::string> depends_on;
    for (const std::string& dependency : OptionsOf(*service).depends_on()) {
      depends_on.push_back(dependency);
      if (dependency == service->full_name()) {
        problems.push_back(Problem(*service, "depends on itself"));
        continue;
      }
      const ServiceDescriptor* target =
          service->file()->pool()->FindServiceByName(dependency);
      if (target == nullptr) {
        problems.push_back(Problem(
            *service, absl::StrCat("depends on unknown service \"", dependency,
                                   "\" (a fully qualified name, imported)")));
        continue;
      }
      if (!IsDaemon(*target)) {
        problems.push_back(
            Problem(*service, absl::StrCat("depends on ", dependency,
                                           ", which is not a daemon (it has no "
                                           "(anvil.daemon) option)")));
        continue;
      }
      if (IsProcessScoped(*service) && !IsProcessScoped(*target)) {
        problems.push_back(Problem(
            *service,
            absl::StrCat("is PROCESS-scoped but depends on ", dependency,
                         ", which is NODE-scoped; a process-wide daemon can "
                         "only depend on process-wide daemons")));
      }
      pending.push_back(target);
    }
    graph.Add(service->full_name(), depends_on).IgnoreError();
    for (int m = 0; m < service->method_count(); ++m) {
      const MethodDescriptor& method = *service->method(m);
      const MethodOptions& options =
          method.options().GetExtension(anvil::method);
      if (options.one_way() &&
          method.output_type()->full_name() != "google.protobuf.Empty") {
        problems.push_back(
            Problem(*service, absl::StrCat("method ", method.name(),
                                           " is one_way, so it must return "
                                           "google.protobuf.Empty, not ",
                                           method.output_type()->full_name())));
      }
    }
    if (OptionsOf(*service).expose()) {
      for (int m = 0; m < service->method_count(); ++m) {
        const MethodDescriptor& method = *service->method(m);
        if (method.client_streaming() || method.server_streaming()) {
          problems.push_back(Problem(
              *service, absl::StrCat("is exposed, but method ", method.name(),
                                     " streams; anvil does not support "
                                     "streaming methods yet")));
        }
      }
    }
  }
  if (problems.empty()) {
    absl::StatusOr<std::vector<std::string>> order =
        graph.AllDependenciesFirst();
    if (!order.ok()) {
      // "dependency cycle: a -> b -> a": report it at the first service.
      const std::string message(order.status().message());
      const absl::string_view cycle =
          absl::StripPrefix(message, "dependency cycle: ");
      const std::string first(cycle.substr(0, cycle.find(" -> ")));
      auto it = daemons.find(first);
      problems.push_back(it != daemons.end() ? Problem(*it->second, message)
                                             : message);
    }
  }
  return problems;
}

std::string StripProto(const std::string& file_name) {
  return std::string(absl::StripSuffix(file_name, ".proto"));
}

std::string Namespace(const FileDescriptor& file) {
  return absl::StrReplaceAll(file.package(), {{".", "::"}});
}

std::string HeaderGuard(const FileDescriptor& file) {
  std::string guard = absl::StrCat(StripProto(file.name()), "_ANVIL_H_");
  for (char& c : guard) {
    c = std::isalnum(static_cast<unsigned char>(c))
            ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
            : '_';
  }
  return guard;
}

// The proto's leading comment of `service`, as C++ comment lines.
std::string Comments(const ServiceDescriptor& service) {
  SourceLocation location;
  if (!service.GetSourceLocation(&location) ||
      location.leading_comments.empty()) {
    return "";
  }
  std::string out;
  for (absl::string_view line : absl::StrSplit(
           absl::StripSuffix(location.leading_comments, "\n"), '\n')) {
    absl::StrAppend(&out, "//", line, "\n");
  }
  return out;
}

std::string CppStringList(const DaemonOptions& options) {
  std::vector<std::string> quoted;
  for (const std::string& d : options.depends_on()) {
    quoted.push_back(absl::StrCat("\"", d, "\""));
  }
  return absl::StrJoin(quoted, ", ");
}

void GenerateHeader(const FileDescriptor& file, GeneratorContext& context) {
  std::unique_ptr<ZeroCopyOutputStream> output(
      context.Open(StripProto(file.name()) + ".anvil.h"));
  Printer p(output.get(), '$');
  p.Print(
      "// Generated by protoc-gen-anvil. DO NOT EDIT.\n"
      "// source: $source$\n"
      "#ifndef $guard$\n"
      "#define $guard$\n"
      "\n"
      "#include \"$pb_header$\"\n"
      "#include \"runtime/daemon/daemon.h\"\n"
      "\n",
      "source", file.name(), "guard", HeaderGuard(file), "pb_header",
      StripProto(file.name()) + ".pb.h");
  if (!file.package().empty()) {
    p.Print("namespace $ns$ {\n\n", "ns", Namespace(file));
  }
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    if (!IsDaemon(service)) continue;
    p.Print(Comments(service).c_str());
    p.Print(
        "// Daemon $full_name$, $scope$ scope.\n"
        "// Implementations derive from it; their constructor takes an\n"
        "// anvil::DaemonContext&.\n"
        "class $name$Daemon : public ::anvil::Daemon {\n"
        " public:\n"
        "  // Name, scope and dependencies, as $source$ declares them.\n"
        "  static ::anvil::DaemonInfo Info();\n"
        "};\n"
        "\n",
        "full_name", service.full_name(), "scope",
        IsProcessScoped(service) ? "process" : "node", "name", service.name(),
        "source", file.name());
  }
  if (!file.package().empty()) {
    p.Print("}  // namespace $ns$\n\n", "ns", Namespace(file));
  }
  p.Print("#endif  // $guard$\n", "guard", HeaderGuard(file));
}

void GenerateSource(const FileDescriptor& file, GeneratorContext& context) {
  std::unique_ptr<ZeroCopyOutputStream> output(
      context.Open(StripProto(file.name()) + ".anvil.cc"));
  Printer p(output.get(), '$');
  p.Print(
      "// Generated by protoc-gen-anvil. DO NOT EDIT.\n"
      "// source: $source$\n"
      "#include \"$header$\"\n"
      "\n",
      "source", file.name(), "header", StripProto(file.name()) + ".anvil.h");
  if (!file.package().empty()) {
    p.Print("namespace $ns$ {\n\n", "ns", Namespace(file));
  }
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    if (!IsDaemon(service)) continue;
    p.Print(
        "::anvil::DaemonInfo $name$Daemon::Info() {\n"
        "  return {.name = \"$full_name$\",\n"
        "          .scope = ::anvil::DaemonScope::$scope$,\n"
        "          .depends_on = {$depends_on$}};\n"
        "}\n"
        "\n",
        "name", service.name(), "full_name", service.full_name(), "scope",
        IsProcessScoped(service) ? "kProcess" : "kNode", "depends_on",
        CppStringList(OptionsOf(service)));
  }
  if (!file.package().empty()) {
    p.Print("}  // namespace $ns$\n", "ns", Namespace(file));
  }
}

}  // namespace

bool AnvilGenerator::Generate(const FileDescriptor* file,
                              const std::string& parameter,
                              GeneratorContext* context,
                              std::string* error) const {
  return GenerateAll({file}, parameter, context, error);
}

bool AnvilGenerator::GenerateAll(
    const std::vector<const FileDescriptor*>& files,
    const std::string& parameter, GeneratorContext* context,
    std::string* error) const {
  if (!parameter.empty()) {
    *error = absl::StrCat("protoc-gen-anvil takes no parameters; got \"",
                          parameter, "\"");
    return false;
  }
  const std::vector<std::string> problems = Validate(files);
  if (!problems.empty()) {
    *error = absl::StrJoin(problems, "\n");
    return false;
  }
  for (const FileDescriptor* file : files) {
    GenerateHeader(*file, *context);
    GenerateSource(*file, *context);
  }
  return true;
}

}  // namespace anvil::codegen
