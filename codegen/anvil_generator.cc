#include "codegen/anvil_generator.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "anvil/options.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/printer.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "runtime/daemon/dependency_graph.h"

namespace anvil::codegen {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::SourceLocation;
using ::google::protobuf::compiler::GeneratorContext;
using ::google::protobuf::io::CodedOutputStream;
using ::google::protobuf::io::Printer;
using ::google::protobuf::io::StringOutputStream;
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

// The exposure the options declare, the deprecated `expose: true` read as
// PUBLIC. REQUIRES: the file passed Validate.
Exposure ExposureOf(const ServiceDescriptor& service) {
  const DaemonOptions& options = OptionsOf(service);
  if (options.exposure() != EXPOSURE_UNSPECIFIED) return options.exposure();
  return options.expose() ? anvil::PUBLIC : anvil::NOT_EXPOSED;
}

bool IsExposed(const ServiceDescriptor& service) {
  return IsDaemon(service) && ExposureOf(service) != anvil::NOT_EXPOSED;
}

// The runtime's anvil::DaemonExposure value, as C++.
std::string CppExposure(const ServiceDescriptor& service) {
  switch (ExposureOf(service)) {
    case anvil::CLUSTER:
      return "::anvil::DaemonExposure::kCluster";
    case anvil::PUBLIC:
      return "::anvil::DaemonExposure::kPublic";
    default:
      return "::anvil::DaemonExposure::kNotExposed";
  }
}

bool IsInternal(const MethodDescriptor& method) {
  return method.options().GetExtension(anvil::method).internal();
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

// "KvStore" -> "kv_store": a Deps field name.
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

// "a::b::C" (or "::a::b::C"): a qualified C++ name.
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

bool HasUnaryMethods(const ServiceDescriptor& service) {
  for (int m = 0; m < service.method_count(); ++m) {
    const MethodDescriptor& method = *service.method(m);
    if (!method.client_streaming() && !method.server_streaming()) return true;
  }
  return false;
}

// The problems of the C++ a daemon names (cc_header, cc_interface,
// cc_messages).
std::vector<std::string> CcProblems(const ServiceDescriptor& service) {
  const DaemonOptions& options = OptionsOf(service);
  std::vector<std::string> problems;
  const bool uses_cc =
      !options.cc_interface().empty() || !options.cc_messages().empty();
  if (uses_cc && options.cc_header().empty()) {
    problems.push_back(
        Problem(service,
                "names C++ types (cc_interface or cc_messages) but no "
                "cc_header to include for them"));
  }
  if (!uses_cc && !options.cc_header().empty()) {
    problems.push_back(Problem(
        service, absl::StrCat("gives cc_header \"", options.cc_header(),
                              "\" but neither cc_interface nor cc_messages, "
                              "the only things it is included for")));
  }
  if (!options.cc_header().empty() &&
      (absl::StrContains(options.cc_header(), "\"") ||
       absl::StartsWith(options.cc_header(), "/"))) {
    problems.push_back(Problem(
        service, absl::StrCat("cc_header \"", options.cc_header(),
                              "\" must be a path relative to the workspace, "
                              "as in an #include")));
  }
  if (!options.cc_interface().empty()) {
    if (!IsCppName(options.cc_interface())) {
      problems.push_back(Problem(
          service, absl::StrCat("cc_interface \"", options.cc_interface(),
                                "\" is not a qualified C++ name")));
    }
    if (HasUnaryMethods(service)) {
      problems.push_back(
          Problem(service,
                  "has methods and a cc_interface; a daemon with methods is "
                  "reached through its ref, so cc_interface is for daemons "
                  "without methods"));
    }
  }
  std::set<std::string> seen;
  for (const std::string& message : options.cc_messages()) {
    if (!IsCppName(message)) {
      problems.push_back(
          Problem(service, absl::StrCat("cc_messages \"", message,
                                        "\" is not a qualified C++ name")));
    } else if (!seen.insert(std::string(absl::StripPrefix(message, "::")))
                    .second) {
      problems.push_back(Problem(
          service, absl::StrCat("cc_messages names ", message, " twice")));
    }
  }
  if (!options.cc_messages().empty() && !HasUnaryMethods(service)) {
    problems.push_back(
        Problem(service,
                "has cc_messages but no method: private messages go to the "
                "actor of a daemon with methods"));
  }
  return problems;
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
        // "demo.S is process-wide but ...": the factory's words.
        problems.push_back(
            absl::StrCat(Where(*service), ": service ",
                         ScopeRuleViolation(service->full_name(), dependency)));
      }
      pending.push_back(target);
    }
    if (HasUnaryMethods(*service)) {
      for (const std::string& dependency : depends_on) {
        const std::string field =
            SnakeCase(dependency.substr(dependency.rfind('.') + 1));
        if (field == "ref" || field == "mailbox") {
          problems.push_back(
              Problem(*service, absl::StrCat("depends on ", dependency,
                                             ", whose accessor ", field,
                                             "() would hide the daemon's own; "
                                             "rename the service")));
        }
      }
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
    const DaemonOptions& options = OptionsOf(*service);
    for (std::string& problem : CcProblems(*service)) {
      problems.push_back(std::move(problem));
    }
    if (options.expose() && options.exposure() != EXPOSURE_UNSPECIFIED &&
        options.exposure() != anvil::PUBLIC) {
      problems.push_back(
          Problem(*service,
                  absl::StrCat("says both expose: true (PUBLIC) and exposure: ",
                               Exposure_Name(options.exposure()),
                               "; drop the deprecated expose")));
    }
    if (IsExposed(*service)) {
      int served = 0;
      std::vector<std::string> internal;
      for (int m = 0; m < service->method_count(); ++m) {
        const MethodDescriptor& method = *service->method(m);
        if (method.client_streaming() || method.server_streaming()) {
          problems.push_back(Problem(
              *service, absl::StrCat("is exposed, but method ", method.name(),
                                     " streams; anvil does not support "
                                     "streaming methods yet")));
        } else if (IsInternal(method)) {
          internal.push_back(method.name());
        } else {
          ++served;
        }
      }
      if (served == 0) {
        problems.push_back(Problem(
            *service,
            absl::StrCat(
                "is exposed (", Exposure_Name(ExposureOf(*service)),
                ") but has no method to serve",
                internal.empty()
                    ? ""
                    : absl::StrCat(": every method is internal (",
                                   absl::StrJoin(internal, ", "), ")"))));
      }
    }
  }
  if (problems.empty()) {
    // Reported at the first daemon on the cycle.
    const std::vector<std::string> cycle = graph.FindCycle();
    if (!cycle.empty()) {
      const std::string message(DependencyCycleError(cycle).message());
      auto it = daemons.find(cycle.front());
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
// Named relative to the namespace of `from`, the file being generated,
// when it is declared there; fully qualified otherwise.
std::string CppType(const google::protobuf::Descriptor& message,
                    const FileDescriptor& from) {
  std::string name = message.name();
  for (const google::protobuf::Descriptor* outer = message.containing_type();
       outer != nullptr; outer = outer->containing_type()) {
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

std::vector<std::string> CcMessages(const ServiceDescriptor& service) {
  std::vector<std::string> out;
  if (!IsDaemon(service)) return out;
  for (const std::string& message : OptionsOf(service).cc_messages()) {
    out.push_back(CcName(message, *service.file()));
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

// A unary method as the generated code sees it.
struct Method {
  std::string name;
  std::string request;  // C++ type
  std::string reply;    // C++ type
  bool one_way = false;
  bool reentrant = false;
  bool internal = false;     // never served (Handlers leaves it out)
  uint32_t deadline_ms = 0;  // 0: none
  const MethodDescriptor* descriptor = nullptr;
};

// The unary methods of `service`: the ones anvil generates calls for.
std::vector<Method> UnaryMethods(const ServiceDescriptor& service) {
  std::vector<Method> methods;
  for (int m = 0; m < service.method_count(); ++m) {
    const MethodDescriptor* method = service.method(m);
    if (method->client_streaming() || method->server_streaming()) continue;
    const MethodOptions& options =
        method->options().GetExtension(anvil::method);
    methods.push_back(
        Method{.name = method->name(),
               .request = CppType(*method->input_type(), *service.file()),
               .reply = CppType(*method->output_type(), *service.file()),
               .one_way = options.one_way(),
               .reentrant = options.reentrant(),
               .internal = options.internal(),
               .deadline_ms = options.deadline_ms(),
               .descriptor = method});
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

// The C++ name of a generated class of `service` as code generated for
// `from` names it: "StorageRef" for suffix "Ref" in its own namespace,
// "::demo::kv::StorageRef" elsewhere.
std::string Qualified(const ServiceDescriptor& service,
                      absl::string_view suffix, const FileDescriptor& from) {
  const std::string ns = Namespace(*service.file());
  if (ns == Namespace(from)) return absl::StrCat(service.name(), suffix);
  return absl::StrCat(ns.empty() ? "" : "::", ns, "::", service.name(), suffix);
}

// The services a daemon depends on, in declaration order. REQUIRES: the
// file passed Validate.
std::vector<const ServiceDescriptor*> Dependencies(
    const ServiceDescriptor& service) {
  std::vector<const ServiceDescriptor*> out;
  for (const std::string& name : OptionsOf(service).depends_on()) {
    out.push_back(service.file()->pool()->FindServiceByName(name));
  }
  return out;
}

std::string DefaultTimeout(const Method& method) {
  return method.deadline_ms == 0
             ? "::absl::InfiniteDuration()"
             : absl::StrCat("::absl::Milliseconds(", method.deadline_ms, ")");
}

// The call messages, the mailbox's message type and the typed client.
void PrintMessagesAndRef(const ServiceDescriptor& service, Printer& p) {
  const std::vector<Method> methods = UnaryMethods(service);
  if (methods.empty()) return;
  const std::string name = service.name();
  p.Print("// Calls of $full_name$, one message type per method.\n",
          "full_name", service.full_name());
  std::vector<std::string> alternatives;
  for (const Method& method : methods) {
    if (method.one_way) {
      p.Print(
          "struct $name$$method$Call {\n"
          "  $request$ request;\n"
          "  std::shared_ptr<::anvil::RemoteCaller> remote_caller;\n"
          "};\n",
          "name", name, "method", method.name, "request", method.request);
    } else {
      p.Print(
          "struct $name$$method$Call\n"
          "    : ::anvil::Request<$request$, $reply$> {};\n",
          "name", name, "method", method.name, "request", method.request,
          "reply", method.reply);
    }
    alternatives.push_back(absl::StrCat(name, method.name, "Call"));
  }
  for (const std::string& message : CcMessages(service)) {
    alternatives.push_back(message);
  }
  p.Print("using $name$Message = std::variant<$alternatives$>;\n\n", "name",
          name, "alternatives", absl::StrJoin(alternatives, ", "));
  p.Print(
      "// Typed client of $full_name$, local or remote (docs/codegen.md).\n"
      "class $name$Ref {\n"
      " public:\n"
      "  $name$Ref() = default;\n"
      "  // A local actor.\n"
      "  explicit $name$Ref(::anvil::ActorRef<$name$Message> actor)\n"
      "      : actor_(std::move(actor)) {}\n"
      "  // A remote one, served by $name$Ref::Handlers on the channel's\n"
      "  // server.\n"
      "  explicit $name$Ref(std::shared_ptr<::anvil::Channel> remote)\n"
      "      : remote_(std::move(remote)) {}\n",
      "full_name", service.full_name(), "name", name);
  for (const Method& method : methods) {
    p.Print("\n");
    p.Print(LeadingComments(*method.descriptor, "  ").c_str());
    const std::string full_method =
        absl::StrCat("/", service.full_name(), "/", method.name);
    if (method.one_way) {
      p.Print(
          "  // One-way: RESOURCE_EXHAUSTED if the mailbox is full,\n"
          "  // UNAVAILABLE if the actor is gone or stopping.\n"
          "  ::absl::Status $method$($request$ request) const {\n"
          "    return Send$method$(std::move(request));\n"
          "  }\n",
          "method", method.name, "request", method.request);
      continue;
    }
    p.Print(
        "  // Default timeout: $timeout_text$ (see anvil::CallOptions).\n"
        "  ::anvil::ClientCall<$reply$> $method$(\n"
        "      $request$ request,\n"
        "      const ::anvil::CallOptions& options = {}) const {\n"
        "    return Start$method$(std::move(request),\n"
        "                         options.DeadlineFor($timeout$));\n"
        "  }\n",
        "reply", method.reply, "request", method.request, "method", method.name,
        "name", name, "timeout", DefaultTimeout(method), "timeout_text",
        method.deadline_ms == 0 ? std::string("none")
                                : absl::StrCat(method.deadline_ms, " ms"),
        "full_method", full_method);
  }
  p.Print(
      "\n"
      "  // The local actor (null for a remote ref).\n"
      "  const ::anvil::ActorRef<$name$Message>& actor() const { return "
      "actor_; }\n"
      "\n"
      "  // What a server needs to serve `local`'s methods to other nodes,\n"
      "  // by full method name (\"/$full_name$/<Method>\").\n"
      "  static ::anvil::MethodHandlers Handlers($name$Ref local);\n"
      "\n"
      " private:\n",
      "name", name, "full_name", service.full_name());
  // One helper per method, taking the request by reference so that the
  // public overloads cost no extra move of it. Handlers does not use them:
  // a served call goes to the actor with its remote caller, past the
  // client interceptors.
  for (const Method& method : methods) {
    const std::string full_method =
        absl::StrCat("/", service.full_name(), "/", method.name);
    if (method.one_way) {
      p.Print(
          "  ::absl::Status Send$method$($request$&& request) const {\n"
          "    return ::anvil::internal::SendCall<$name$$method$Call, "
          "$reply$>(\n"
          "        actor_, remote_, \"$full_method$\", std::move(request));\n"
          "  }\n",
          "method", method.name, "request", method.request, "reply",
          method.reply, "name", name, "full_method", full_method);
      continue;
    }
    p.Print(
        "  ::anvil::ClientCall<$reply$> Start$method$(\n"
        "      $request$&& request, int64_t deadline) const {\n"
        "    return ::anvil::internal::StartCall<$name$$method$Call>(\n"
        "        actor_, remote_, \"$full_method$\", std::move(request),\n"
        "        deadline);\n"
        "  }\n",
        "reply", method.reply, "request", method.request, "method", method.name,
        "name", name, "full_method", full_method);
  }
  p.Print(
      "\n"
      "  ::anvil::ActorRef<$name$Message> actor_;\n"
      "  std::shared_ptr<::anvil::Channel> remote_;\n"
      "};\n"
      "\n",
      "name", name);
}

// SRef::Handlers: each method parses, calls the local actor, serializes.
void PrintHandlersDefinition(const ServiceDescriptor& service, Printer& p) {
  const std::vector<Method> methods = UnaryMethods(service);
  if (methods.empty()) return;
  p.Print(
      "::anvil::MethodHandlers $name$Ref::Handlers($name$Ref local) {\n"
      "  ::anvil::MethodHandlers handlers;\n",
      "name", service.name());
  bool any_served = false;
  for (const Method& method : methods) {
    if (method.internal) {
      p.Print("  // $method$ is internal: never served.\n", "method",
              method.name);
      continue;
    }
    any_served = true;
    p.Print(
        "  handlers[\"/$full_name$/$method$\"] =\n"
        "      ::anvil::internal::ServeLocally<$request$, $reply$>(\n"
        "          \"/$full_name$/$method$\",\n"
        "          [local]($request$ request,\n"
        "                  const ::anvil::CallContext& call) {\n",
        "full_name", service.full_name(), "method", method.name, "request",
        method.request, "reply", method.reply);
    if (method.one_way) {
      p.Print(
          "            return ::anvil::internal::OneWayAsCall<$reply$>(\n"
          "                local.actor().TrySend($name$Message(\n"
          "                    $name$$method$Call{std::move(request),\n"
          "                        call.shared_remote_caller()})));\n",
          "reply", method.reply, "method", method.name, "name", service.name());
    } else {
      p.Print(
          "            return local.actor().CallUntil<$name$$method$Call>(\n"
          "                std::move(request), call.deadline(),\n"
          "                call.shared_remote_caller());\n",
          "method", method.name, "name", service.name());
    }
    p.Print("          },\n          local.actor().home_worker());\n");
  }
  if (!any_served) p.Print("  (void)local;\n");
  p.Print(
      "  return handlers;\n"
      "}\n"
      "\n");
}

// One pure virtual coroutine per method, for the base classes.
void PrintHandlerMethods(const std::vector<Method>& methods, Printer& p) {
  for (const Method& method : methods) {
    p.Print(LeadingComments(*method.descriptor, "  ").c_str());
    if (method.reentrant) {
      p.Print(
          "  // Reentrant: other calls are served while this one is "
          "suspended.\n");
    }
    p.Print(
        "  virtual ::anvil::Task<$result$> $method$(\n"
        "      ::anvil::CallContext& call, const $request$& request) = 0;\n",
        "result",
        method.one_way ? std::string()
                       : absl::StrCat("::absl::StatusOr<", method.reply, ">"),
        "method", method.name, "request", method.request);
  }
}

void PrintActorClass(const ServiceDescriptor& service, Printer& p) {
  const std::vector<Method> methods = UnaryMethods(service);
  if (methods.empty()) return;
  p.Print(LeadingComments(service).c_str());
  p.Print(
      "// Base class of actors implementing $full_name$: one virtual\n"
      "// coroutine per method. Serve() takes the calls one at a time, in\n"
      "// order, except that reentrant methods run alongside (see\n"
      "// docs/codegen.md). An exception thrown by a method fails the actor.\n"
      "class $name$Actor {\n"
      " public:\n"
      "  virtual ~$name$Actor() = default;\n"
      "\n",
      "name", service.name(), "full_name", service.full_name());
  PrintHandlerMethods(methods, p);
  p.Print(
      "\n"
      "  // Receives calls and dispatches them until the mailbox ends (every\n"
      "  // ref gone, or the actor told to stop).\n"
      "  ::anvil::Task<> Serve(::anvil::Context<$name$Message>& context);\n"
      "\n"
      "  // Spawns `impl` as an actor serving $full_name$.\n"
      "  static $name$Ref Spawn(::anvil::Runtime& runtime,\n"
      "                        std::shared_ptr<$name$Actor> impl,\n"
      "                        ::anvil::ActorOptions options = {});\n"
      "};\n"
      "\n",
      "name", service.name(), "full_name", service.full_name());
}

void PrintDaemonClass(const ServiceDescriptor& service,
                      const std::string& source, Printer& p) {
  const std::vector<Method> methods = UnaryMethods(service);
  const std::string name = service.name();
  p.Print(
      "// What $name$Daemon's constructor gets: its dependencies, built (and\n"
      "// prepared before it). Valid during construction; copy what you "
      "keep.\n"
      "struct $name$Deps {\n"
      "  explicit $name$Deps(::anvil::DaemonContext& context);\n"
      "\n"
      "  ::anvil::DaemonContext& context;\n",
      "name", name);
  for (const ServiceDescriptor* dependency : Dependencies(service)) {
    const bool has_methods = !UnaryMethods(*dependency).empty();
    p.Print("  $type$ $field$;\n", "type",
            has_methods ? Qualified(*dependency, "Ref", *service.file())
                        : Qualified(*dependency, "Daemon&", *service.file()),
            "field", SnakeCase(dependency->name()));
  }
  p.Print("};\n\n");
  p.Print(LeadingComments(service).c_str());
  p.Print(
      "// Daemon $full_name$, $scope$ scope: derive from it, bind with\n"
      "// Factory::Bind<$name$Daemon, Impl>() (docs/codegen.md).\n",
      "full_name", service.full_name(), "scope",
      IsProcessScoped(service) ? "process" : "node", "name", name);
  if (methods.empty()) {
    const std::string& interface = OptionsOf(service).cc_interface();
    if (!interface.empty()) {
      p.Print(
          "// Its dependents call $interface$ (cc_interface), which the\n"
          "// implementation bound to it implements.\n",
          "interface", CcName(interface, *service.file()));
    }
    p.Print(
        "class $name$Daemon : public ::anvil::Daemon$interface$ {\n"
        " public:\n"
        "  using Interface = $name$Daemon;  // for Factory::Bind<Impl>()\n"
        "  using Deps = $name$Deps;\n"
        "  // Name, scope and dependencies, as $source$ declares them.\n"
        "  static ::anvil::DaemonInfo Info();\n"
        "};\n"
        "\n",
        "name", name, "source", source, "interface",
        interface.empty()
            ? ""
            : absl::StrCat(", public ", CcName(interface, *service.file())));
    return;
  }
  p.Print(

      "class $name$Daemon : public ::anvil::ActorDaemon<$name$Message> {\n"
      " public:\n"
      "  using Interface = $name$Daemon;  // for Factory::Bind<Impl>()\n"
      "  using Deps = $name$Deps;\n"
      "  // Name, scope and dependencies, as $source$ declares them.\n"
      "  static ::anvil::DaemonInfo Info();\n"
      "\n"
      "  // The daemon's client: calls queue until Run() and are served\n"
      "  // until Stop().\n"
      "  $name$Ref ref() const { return $name$Ref(mailbox()); }\n"
      "\n",
      "name", name, "source", source);
  if (IsExposed(service)) {
    p.Print(
        "  // $exposure$: its node serves $to_whom$.\n"
        "  ::anvil::ExposedMethods Exposed() override;\n"
        "\n",
        "exposure", Exposure_Name(ExposureOf(service)), "to_whom",
        ExposureOf(service) == anvil::CLUSTER
            ? "it to the cluster's other nodes\n"
              "  // only (internal methods to nobody)"
            : "it to any client (internal\n"
              "  // methods to nobody)");
  }
  PrintHandlerMethods(methods, p);
  const std::vector<std::string> private_messages = CcMessages(service);
  if (!private_messages.empty()) {
    p.Print(
        "\n"
        "  // Private messages (cc_messages): sent from inside the process\n"
        "  // only, with mailbox().TrySend(message) or on a timer (Every),\n"
        "  // and served in turn with the calls.\n");
    for (const std::string& message : private_messages) {
      p.Print("  virtual ::anvil::Task<> Receive($message$& message) = 0;\n",
              "message", message);
    }
  }
  p.Print(
      "\n"
      "  // Public (the class is abstract), so that an implementation can\n"
      "  // say `using $name$Daemon::$name$Daemon;`.\n"
      "  explicit $name$Daemon(const $name$Deps& deps);\n"
      "  explicit $name$Daemon(::anvil::DaemonContext& context)\n"
      "      : $name$Daemon($name$Deps(context)) {}\n",
      "name", name);
  const std::vector<const ServiceDescriptor*> dependencies =
      Dependencies(service);
  if (!dependencies.empty()) {
    p.Print(
        "\n"
        " protected:\n"
        "  // Its dependencies, kept from $name$Deps.\n",
        "name", name);
    for (const ServiceDescriptor* dependency : dependencies) {
      const bool has_methods = HasUnaryMethods(*dependency);
      p.Print(has_methods ? "  const $type$& $field$() const { return "
                            "$field$_; }\n"
                          : "  $type$& $field$() const { return $field$_; }\n",
              "type",
              Qualified(*dependency, has_methods ? "Ref" : "Daemon",
                        *service.file()),
              "field", SnakeCase(dependency->name()));
    }
  }
  p.Print(
      "\n"
      " private:\n"
      "  ::anvil::Task<> ServeMailbox(\n"
      "      ::anvil::Context<$name$Message>& mailbox) final;\n",
      "name", name);
  for (const ServiceDescriptor* dependency : dependencies) {
    const bool has_methods = HasUnaryMethods(*dependency);
    p.Print("  $type$ $field$_;\n", "type",
            Qualified(*dependency, has_methods ? "Ref" : "Daemon&",
                      *service.file()),
            "field", SnakeCase(dependency->name()));
  }
  p.Print("};\n\n");
}

// The receive loop: `signature` is the function being defined. Each
// message is served in place (no coroutine frame but the method's), a
// reentrant call as a task of its own.
void PrintDispatch(const ServiceDescriptor& service,
                   absl::string_view signature, absl::string_view context,
                   Printer& p) {
  const std::vector<Method> methods = UnaryMethods(service);
  const bool any_reentrant =
      std::any_of(methods.begin(), methods.end(),
                  [](const Method& m) { return m.reentrant; });
  p.Print("$signature$ {\n", "signature", std::string(signature));
  if (any_reentrant) p.Print("  ::anvil::internal::ConcurrentCalls calls;\n");
  p.Print(
      "  while (std::optional<$name$Message> message =\n"
      "             co_await $context$.Receive()) {\n",
      "name", service.name(), "context", std::string(context));
  const std::vector<std::string> private_messages = CcMessages(service);
  const size_t alternatives = methods.size() + private_messages.size();
  size_t printed = 0;
  // Every branch but the last ends with `continue`.
  auto next = [&] {
    if (++printed < alternatives) p.Print("      continue;\n");
    p.Print("    }\n");
  };
  for (const Method& method : methods) {
    p.Print(
        "    if (auto* call = std::get_if<$name$$method$Call>(&*message)) {\n",
        "name", service.name(), "method", method.name);
    if (method.reentrant) {
      p.Print(
          "      calls.Start(::anvil::internal::ServeCall(\n"
          "          std::move(*call),\n"
          "          [this](::anvil::CallContext& serving, const $request$& "
          "request) {\n"
          "            return $method$(serving, request);\n"
          "          }));\n",
          "request", method.request, "method", method.name);
    } else if (method.one_way) {
      p.Print(
          "      ::anvil::CallContext serving =\n"
          "          ::anvil::internal::ServingContext(*call);\n"
          "      co_await $method$(serving, call->request);\n",
          "method", method.name);
    } else {
      p.Print(
          "      if (call->reply.abandoned()) continue;  // the caller gave "
          "up\n"
          "      ::anvil::CallContext serving =\n"
          "          ::anvil::internal::ServingContext(*call);\n"
          "      co_await ::anvil::internal::ReplyWith(\n"
          "          call->reply, $method$(serving, call->request));\n",
          "method", method.name);
    }
    next();
  }
  for (const std::string& message : private_messages) {
    p.Print(
        "    if (auto* received = std::get_if<$message$>(&*message)) {\n"
        "      co_await Receive(*received);\n",
        "message", message);
    next();
  }
  p.Print("  }\n");
  if (any_reentrant) p.Print("  co_await calls.Drain();\n");
  p.Print("}\n\n");
}

void PrintActorDefinitions(const ServiceDescriptor& service, Printer& p) {
  if (UnaryMethods(service).empty()) return;
  const std::string name = service.name();
  PrintDispatch(
      service,
      absl::StrCat("::anvil::Task<> ", name, "Actor::Serve(\n",
                   "    ::anvil::Context<", name, "Message>& context)"),
      "context", p);
  p.Print(
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

void PrintDaemonDefinitions(const ServiceDescriptor& service, Printer& p) {
  const std::string name = service.name();
  p.Print(
      "::anvil::DaemonInfo $name$Daemon::Info() {\n"
      "  return {.name = \"$full_name$\",\n"
      "          .scope = ::anvil::DaemonScope::$scope$,\n"
      "          .depends_on = {$depends_on$}$exposure$};\n"
      "}\n"
      "\n",
      "name", name, "full_name", service.full_name(), "scope",
      IsProcessScoped(service) ? "kProcess" : "kNode", "depends_on",
      CppStringList(OptionsOf(service)), "exposure",
      IsExposed(service)
          ? absl::StrCat(",\n          .exposure = ", CppExposure(service))
          : "");
  p.Print("$name$Deps::$name$Deps(::anvil::DaemonContext& context)\n", "name",
          name);
  p.Print("    : context(context)");
  for (const ServiceDescriptor* dependency : Dependencies(service)) {
    const bool has_methods = !UnaryMethods(*dependency).empty();
    p.Print(",\n      $field$(context.Get<$daemon$>()$ref$)", "field",
            SnakeCase(dependency->name()), "daemon",
            Qualified(*dependency, "Daemon", *service.file()), "ref",
            has_methods ? ".ref()" : "");
  }
  p.Print(" {}\n\n");
  if (UnaryMethods(service).empty()) return;
  const uint32_t capacity = OptionsOf(service).inbox_capacity();
  p.Print(
      "$name$Daemon::$name$Daemon(const $name$Deps& deps)\n"
      "    : ActorDaemon(deps.context, ::anvil::ActorOptions{.inbox_capacity = "
      "$capacity$})",
      "name", name, "capacity", absl::StrCat(capacity));
  for (const ServiceDescriptor* dependency : Dependencies(service)) {
    p.Print(",\n      $field$_(deps.$field$)", "field",
            SnakeCase(dependency->name()));
  }
  p.Print(" {}\n\n");
  if (IsExposed(service)) {
    p.Print(
        "::anvil::ExposedMethods $name$Daemon::Exposed() {\n"
        "  return {.exposure = $exposure$,\n"
        "          .methods = $name$Ref::Handlers(ref())};\n"
        "}\n"
        "\n",
        "name", name, "exposure", CppExposure(service));
  }
  PrintDispatch(
      service,
      absl::StrCat("::anvil::Task<> ", name, "Daemon::ServeMailbox(\n",
                   "    ::anvil::Context<", name, "Message>& mailbox)"),
      "mailbox", p);
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

// The generated headers of other files that `file`'s daemons depend on.
std::set<std::string> DependencyHeaders(const FileDescriptor& file) {
  std::set<std::string> headers;
  for (int i = 0; i < file.service_count(); ++i) {
    if (!IsDaemon(*file.service(i))) continue;
    for (const ServiceDescriptor* dependency : Dependencies(*file.service(i))) {
      if (dependency->file() != &file) {
        headers.insert(StripProto(dependency->file()->name()) + ".anvil.h");
      }
    }
  }
  return headers;
}

void GenerateHeader(const FileDescriptor& file, std::string& text) {
  StringOutputStream output(&text);
  Printer p(&output, '$');
  p.Print(
      "// Generated by protoc-gen-anvil. DO NOT EDIT.\n"
      "// source: $source$\n"
      "#ifndef $guard$\n"
      "#define $guard$\n"
      "\n"
      "#include <cstdint>\n"
      "#include <memory>\n"
      "#include <utility>\n"
      "#include <variant>\n"
      "\n"
      "#include \"$pb_header$\"\n",
      "source", file.name(), "guard", HeaderGuard(file), "pb_header",
      StripProto(file.name()) + ".pb.h");
  for (const std::string& header : DependencyHeaders(file)) {
    p.Print("#include \"$header$\"\n", "header", header);
  }
  std::set<std::string> cc_headers;
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    if (IsDaemon(service) && !OptionsOf(service).cc_header().empty()) {
      cc_headers.insert(OptionsOf(service).cc_header());
    }
  }
  for (const std::string& header : cc_headers) {
    p.Print("#include \"$header$\"  // a cc_header\n", "header", header);
  }
  p.Print(
      "#include \"absl/status/status.h\"\n"
      "#include \"absl/status/statusor.h\"\n"
      "#include \"absl/time/time.h\"\n"
      "#include \"runtime/actor/call_context.h\"\n"
      "#include \"runtime/actor/call_options.h\"\n"
      "#include \"runtime/actor/remote_caller.h\"\n"
      "#include \"runtime/actor/request.h\"\n"
      "#include \"runtime/actor/runtime.h\"\n"
      "#include \"runtime/core/clock.h\"\n"
      "#include \"runtime/core/task.h\"\n"
      "#include \"runtime/daemon/actor_daemon.h\"\n"
      "#include \"runtime/daemon/daemon.h\"\n"
      "#include \"runtime/daemon/factory.h\"\n"
      "#include \"runtime/transport/channel.h\"\n"
      "#include \"runtime/transport/client_call.h\"\n"
      "\n");
  if (!file.package().empty()) {
    p.Print("namespace $ns$ {\n\n", "ns", Namespace(file));
  }
  bool any_daemon = false;
  for (int i = 0; i < file.service_count(); ++i) {
    if (!IsDaemon(*file.service(i))) continue;
    p.Print("class $name$Daemon;\n", "name", file.service(i)->name());
    any_daemon = true;
  }
  if (any_daemon) p.Print("\n");
  // Clients first: a daemon's Deps may hold the client of one declared
  // after it.
  for (int i = 0; i < file.service_count(); ++i) {
    PrintMessagesAndRef(*file.service(i), p);
  }
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    if (IsDaemon(service)) {
      PrintDaemonClass(service, file.name(), p);
    } else {
      PrintActorClass(service, p);
    }
  }
  if (!file.package().empty()) {
    p.Print("}  // namespace $ns$\n\n", "ns", Namespace(file));
  }
  p.Print("#endif  // $guard$\n", "guard", HeaderGuard(file));
}

void GenerateSource(const FileDescriptor& file, std::string& text) {
  StringOutputStream output(&text);
  Printer p(&output, '$');
  p.Print(
      "// Generated by protoc-gen-anvil. DO NOT EDIT.\n"
      "// source: $source$\n"
      "#include \"$header$\"\n"
      "\n"
      "#include <optional>\n"
      "\n"
      "#include \"runtime/actor/concurrent_calls.h\"\n"
      "\n",
      "source", file.name(), "header", StripProto(file.name()) + ".anvil.h");
  if (!file.package().empty()) {
    p.Print("namespace $ns$ {\n\n", "ns", Namespace(file));
  }
  for (int i = 0; i < file.service_count(); ++i) {
    const ServiceDescriptor& service = *file.service(i);
    PrintHandlersDefinition(service, p);
    if (IsDaemon(service)) {
      PrintDaemonDefinitions(service, p);
    } else {
      PrintActorDefinitions(service, p);
    }
  }
  if (!file.package().empty()) {
    p.Print("}  // namespace $ns$\n", "ns", Namespace(file));
  }
}

// `text` formatted by clang-format with the style file `style` as the
// file `name` would be; an error naming what failed.
absl::StatusOr<std::string> Formatted(const std::string& text,
                                      const std::string& name,
                                      const std::string& style) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                  "/anvil-format-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot make a temporary file ", path));
  }
  close(fd);
  const std::string command =
      absl::StrCat("clang-format-14 --style=file:'", style,
                   "' --assume-filename='", name, "' > '", path, "'");
  FILE* pipe = popen(command.c_str(), "w");
  if (pipe == nullptr) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot run ", command));
  }
  const bool written = fwrite(text.data(), 1, text.size(), pipe) == text.size();
  const int exit_status = pclose(pipe);
  std::ifstream file(path, std::ios::binary);
  std::stringstream formatted;
  formatted << file.rdbuf();
  unlink(path.c_str());
  if (!written || exit_status != 0 || formatted.str().empty()) {
    return absl::InternalError(absl::StrCat(
        "clang-format failed on ", name, " (", command, ", exit status ",
        exit_status, "); is clang-format-14 installed?"));
  }
  return formatted.str();
}

// Writes `text` (formatted, if `style` names a clang-format style file)
// to `name` in `context`.
bool Write(GeneratorContext& context, const std::string& name,
           const std::string& text, const std::string& style,
           std::string* error) {
  std::string out = text;
  if (!style.empty()) {
    absl::StatusOr<std::string> formatted = Formatted(text, name, style);
    if (!formatted.ok()) {
      *error = std::string(formatted.status().message());
      return false;
    }
    out = *std::move(formatted);
  }
  std::unique_ptr<ZeroCopyOutputStream> output(context.Open(name));
  CodedOutputStream coded(output.get());
  coded.WriteRaw(out.data(), static_cast<int>(out.size()));
  return true;
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
  // The one parameter: style=<a .clang-format file> formats the output.
  std::string style;
  if (!parameter.empty()) {
    absl::string_view value = parameter;
    if (!absl::ConsumePrefix(&value, "style=") || value.empty() ||
        absl::StrContains(value, "'")) {
      *error = absl::StrCat(
          "protoc-gen-anvil takes one parameter, style=<.clang-format "
          "file>; got \"",
          parameter, "\"");
      return false;
    }
    style = std::string(value);
  }
  const std::vector<std::string> problems = Validate(files);
  if (!problems.empty()) {
    *error = absl::StrJoin(problems, "\n");
    return false;
  }
  for (const FileDescriptor* file : files) {
    std::string header;
    GenerateHeader(*file, header);
    std::string source;
    GenerateSource(*file, source);
    if (!Write(*context, StripProto(file->name()) + ".anvil.h", header, style,
               error) ||
        !Write(*context, StripProto(file->name()) + ".anvil.cc", source, style,
               error)) {
      return false;
    }
  }
  return true;
}

}  // namespace anvil::codegen
