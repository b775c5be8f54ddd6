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

// The C++ class of a message: nested types are joined with '_', as
// protobuf's own generator names them.
std::string CppType(const google::protobuf::Descriptor& message) {
  std::string name = message.name();
  for (const google::protobuf::Descriptor* outer = message.containing_type();
       outer != nullptr; outer = outer->containing_type()) {
    name = absl::StrCat(outer->name(), "_", name);
  }
  const std::string ns = Namespace(*message.file());
  return ns.empty() ? absl::StrCat("::", name)
                    : absl::StrCat("::", ns, "::", name);
}

// The unary methods of `service`: the ones anvil generates calls for.
std::vector<const MethodDescriptor*> UnaryMethods(
    const ServiceDescriptor& service) {
  std::vector<const MethodDescriptor*> methods;
  for (int m = 0; m < service.method_count(); ++m) {
    const MethodDescriptor* method = service.method(m);
    if (!method->client_streaming() && !method->server_streaming()) {
      methods.push_back(method);
    }
  }
  return methods;
}

// The proto's leading comment of a service or method, as C++ comment lines
// starting with `indent`.
template <typename Descriptor>
std::string LeadingComments(const Descriptor& descriptor,
                            absl::string_view indent = "") {
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

void PrintActorDeclarations(const ServiceDescriptor& service, Printer& p) {
  const std::vector<const MethodDescriptor*> methods = UnaryMethods(service);
  if (methods.empty()) return;
  const std::string name = service.name();
  p.Print("// Calls of $full_name$, one message type per method.\n",
          "full_name", service.full_name());
  std::vector<std::string> alternatives;
  for (const MethodDescriptor* method : methods) {
    p.Print(
        "struct $name$$method$Call\n"
        "    : ::anvil::Request<$request$, $reply$> {};\n",
        "name", name, "method", method->name(), "request",
        CppType(*method->input_type()), "reply",
        CppType(*method->output_type()));
    alternatives.push_back(absl::StrCat(name, method->name(), "Call"));
  }
  p.Print("using $name$Message = std::variant<$alternatives$>;\n\n", "name",
          name, "alternatives", absl::StrJoin(alternatives, ", "));
  p.Print(
      "// Typed client of $full_name$: one call per method, each returning\n"
      "// absl::StatusOr<Reply> (see runtime/actor/request.h for every\n"
      "// outcome). Cheap to copy; thread-safe.\n"
      "class $name$Ref {\n"
      " public:\n"
      "  $name$Ref() = default;\n"
      "  explicit $name$Ref(::anvil::ActorRef<$name$Message> actor)\n"
      "      : actor_(std::move(actor)) {}\n"
      "\n",
      "full_name", service.full_name(), "name", name);
  for (const MethodDescriptor* method : methods) {
    p.Print(LeadingComments(*method, "  ").c_str());
    p.Print(
        "  ::anvil::internal::CallAwaiter<$reply$> $method$(\n"
        "      $request$ request,\n"
        "      ::absl::Duration timeout = ::absl::InfiniteDuration()) const {\n"
        "    return actor_.CallAs<$name$$method$Call>(std::move(request), "
        "timeout);\n"
        "  }\n",
        "reply", CppType(*method->output_type()), "request",
        CppType(*method->input_type()), "method", method->name(), "name", name);
  }
  p.Print(
      "\n"
      "  const ::anvil::ActorRef<$name$Message>& actor() const { return "
      "actor_; }\n"
      "\n"
      " private:\n"
      "  ::anvil::ActorRef<$name$Message> actor_;\n"
      "};\n"
      "\n"
      "// Base class of actors implementing $full_name$: one virtual "
      "coroutine\n"
      "// per method. Serve() takes the calls one at a time, in order.\n"
      "class $name$Actor {\n"
      " public:\n"
      "  virtual ~$name$Actor() = default;\n"
      "\n",
      "name", name, "full_name", service.full_name());
  for (const MethodDescriptor* method : methods) {
    p.Print(LeadingComments(*method, "  ").c_str());
    p.Print(
        "  virtual ::anvil::Task<::absl::StatusOr<$reply$>> $method$(\n"
        "      const $request$& request) = 0;\n",
        "reply", CppType(*method->output_type()), "request",
        CppType(*method->input_type()), "method", method->name());
  }
  p.Print(
      "\n"
      "  // Receives calls and dispatches them until the mailbox ends (every\n"
      "  // ref gone, or the runtime stopping).\n"
      "  ::anvil::Task<> Serve(::anvil::Context<$name$Message>& context);\n"
      "\n"
      "  // Spawns `impl` as an actor serving $full_name$.\n"
      "  static $name$Ref Spawn(::anvil::Runtime& runtime,\n"
      "                        std::shared_ptr<$name$Actor> impl,\n"
      "                        ::anvil::ActorOptions options = {});\n"
      "};\n"
      "\n",
      "name", name, "full_name", service.full_name());
}

void PrintActorDefinitions(const ServiceDescriptor& service, Printer& p) {
  const std::vector<const MethodDescriptor*> methods = UnaryMethods(service);
  if (methods.empty()) return;
  const std::string name = service.name();
  p.Print(
      "::anvil::Task<> $name$Actor::Serve(\n"
      "    ::anvil::Context<$name$Message>& context) {\n"
      "  while (std::optional<$name$Message> message = co_await "
      "context.Receive()) {\n"
      "    switch (message->index()) {\n",
      "name", name);
  for (size_t i = 0; i < methods.size(); ++i) {
    p.Print(
        "      case $index$: {\n"
        "        auto& call = std::get<$index$>(*message);\n"
        "        call.reply.Send(co_await $method$(call.request));\n"
        "        break;\n"
        "      }\n",
        "index", absl::StrCat(i), "method", methods[i]->name());
  }
  p.Print(
      "    }\n"
      "  }\n"
      "}\n"
      "\n"
      "$name$Ref $name$Actor::Spawn(::anvil::Runtime& runtime,\n"
      "                             std::shared_ptr<$name$Actor> impl,\n"
      "                             ::anvil::ActorOptions options) {\n"
      "  return $name$Ref(runtime.Spawn(\n"
      "      [](::anvil::Context<$name$Message>& context,\n"
      "         std::shared_ptr<$name$Actor> actor) -> ::anvil::Task<> {\n"
      "        co_await actor->Serve(context);\n"
      "      },\n"
      "      std::move(impl), std::move(options)));\n"
      "}\n"
      "\n",
      "name", name);
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
      "#include <memory>\n"
      "#include <utility>\n"
      "#include <variant>\n"
      "\n"
      "#include \"$pb_header$\"\n"
      "#include \"absl/status/statusor.h\"\n"
      "#include \"absl/time/time.h\"\n"
      "#include \"runtime/actor/request.h\"\n"
      "#include \"runtime/actor/runtime.h\"\n"
      "#include \"runtime/core/task.h\"\n"
      "#include \"runtime/daemon/daemon.h\"\n"
      "\n",
      "source", file.name(), "guard", HeaderGuard(file), "pb_header",
      StripProto(file.name()) + ".pb.h");
  if (!file.package().empty()) {
    p.Print("namespace $ns$ {\n\n", "ns", Namespace(file));
  }
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    PrintActorDeclarations(service, p);
    if (!IsDaemon(service)) continue;
    p.Print(LeadingComments(service).c_str());
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
      "\n"
      "#include <optional>\n"
      "\n",
      "source", file.name(), "header", StripProto(file.name()) + ".anvil.h");
  if (!file.package().empty()) {
    p.Print("namespace $ns$ {\n\n", "ns", Namespace(file));
  }
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    PrintActorDefinitions(service, p);
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
