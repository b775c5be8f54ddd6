#include "codegen/validator.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "anvil/options.pb.h"
#include "codegen/service_model.h"
#include "runtime/daemon/dependency_graph.h"

namespace anvil::codegen {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::SourceLocation;

// Collects the problems of one daemon at a time.
class DaemonChecker {
 public:
  DaemonChecker(const ServiceDescriptor& service, std::vector<Problem>& out)
      : service_(service), options_(OptionsOf(service)), out_(out) {}

  // Checks the daemon's dependencies and pushes the daemons they name to
  // `pending`; returns them (resolved or not) for the graph.
  std::vector<std::string> CheckDependencies(
      std::vector<const ServiceDescriptor*>& pending);
  void CheckMethods();
  void CheckExposure();
  void CheckCpp();

  void Report(std::string message) {
    out_.push_back(At(service_, std::move(message)));
  }

  static Problem At(const ServiceDescriptor& service, std::string message) {
    Problem problem{.file = service.file()->name(),
                    .service = service.full_name(),
                    .message = std::move(message)};
    SourceLocation location;
    if (service.GetSourceLocation(&location)) {
      problem.line = location.start_line + 1;
      problem.column = location.start_column + 1;
    }
    return problem;
  }

 private:
  const ServiceDescriptor& service_;
  const DaemonOptions& options_;
  std::vector<Problem>& out_;
};

std::vector<std::string> DaemonChecker::CheckDependencies(
    std::vector<const ServiceDescriptor*>& pending) {
  std::vector<std::string> depends_on;
  for (const std::string& dependency : options_.depends_on()) {
    depends_on.push_back(dependency);
    if (dependency == service_.full_name()) {
      Report("depends on itself");
      continue;
    }
    const ServiceDescriptor* target =
        service_.file()->pool()->FindServiceByName(dependency);
    if (target == nullptr) {
      Report(absl::StrCat("depends on unknown service \"", dependency,
                          "\" (a fully qualified name, imported)"));
      continue;
    }
    if (!IsDaemon(*target)) {
      Report(absl::StrCat("depends on ", dependency,
                          ", which is not a daemon (it has no "
                          "(anvil.daemon) option)"));
      continue;
    }
    if (options_.scope() == anvil::PROCESS &&
        OptionsOf(*target).scope() != anvil::PROCESS) {
      Report(ScopeRuleViolation(dependency));
    }
    if (HasMethods(service_)) {
      const std::string field = SnakeCase(target->name());
      if (field == "ref" || field == "actor") {
        Report(absl::StrCat("depends on ", dependency, ", whose accessor ",
                            field,
                            "() would hide the daemon's own; rename the "
                            "service"));
      }
    }
    pending.push_back(target);
  }
  return depends_on;
}

void DaemonChecker::CheckMethods() {
  for (int m = 0; m < service_.method_count(); ++m) {
    const MethodDescriptor& method = *service_.method(m);
    const bool streams = method.client_streaming() || method.server_streaming();
    if (method.options().GetExtension(anvil::method).one_way() && streams) {
      Report(absl::StrCat("method ", method.name(),
                          " streams, so it cannot be one_way (a stream "
                          "always has a caller waiting for its end)"));
    } else if (method.options().GetExtension(anvil::method).one_way() &&
               method.output_type()->full_name() != "google.protobuf.Empty") {
      Report(absl::StrCat("method ", method.name(),
                          " is one_way, so it must return "
                          "google.protobuf.Empty, not ",
                          method.output_type()->full_name()));
    }
  }
}

void DaemonChecker::CheckExposure() {
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
  const bool expose = options_.expose();
#pragma clang diagnostic pop
  if (expose && options_.exposure() != EXPOSURE_UNSPECIFIED &&
      options_.exposure() != anvil::PUBLIC) {
    Report(absl::StrCat("says both expose: true (PUBLIC) and exposure: ",
                        Exposure_Name(options_.exposure()),
                        "; drop the deprecated expose"));
  }
  if (!IsExposed(service_)) return;
  int served = 0;
  std::vector<std::string> internal;
  for (int m = 0; m < service_.method_count(); ++m) {
    const MethodDescriptor& method = *service_.method(m);
    if (method.options().GetExtension(anvil::method).internal()) {
      internal.push_back(method.name());
    } else {
      ++served;
    }
  }
  if (served == 0) {
    Report(absl::StrCat(
        "is exposed (", Exposure_Name(ExposureOf(service_)),
        ") but has no method to serve",
        internal.empty() ? ""
                         : absl::StrCat(": every method is internal (",
                                        absl::StrJoin(internal, ", "), ")")));
  }
}

void DaemonChecker::CheckCpp() {
  const bool uses_cc =
      !options_.cc_interface().empty() || !options_.cc_messages().empty();
  const std::string& header = options_.cc_header();
  if (uses_cc && header.empty()) {
    Report(
        "names C++ types (cc_interface or cc_messages) but no cc_header to "
        "include for them");
  }
  if (!uses_cc && !header.empty()) {
    Report(absl::StrCat("gives cc_header \"", header,
                        "\" but neither cc_interface nor cc_messages, the "
                        "only things it is included for"));
  }
  if (absl::StrContains(header, "\"") || absl::StartsWith(header, "/")) {
    Report(absl::StrCat("cc_header \"", header,
                        "\" must be a path relative to the workspace, as in "
                        "an #include"));
  }
  if (!options_.cc_interface().empty()) {
    if (!IsCppName(options_.cc_interface())) {
      Report(absl::StrCat("cc_interface \"", options_.cc_interface(),
                          "\" is not a qualified C++ name"));
    }
    if (HasMethods(service_)) {
      Report(
          "has methods and a cc_interface; a daemon with methods is reached "
          "through its ref, so cc_interface is for daemons without methods");
    }
  }
  std::set<std::string> seen;
  for (const std::string& message : options_.cc_messages()) {
    if (!IsCppName(message)) {
      Report(absl::StrCat("cc_messages \"", message,
                          "\" is not a qualified C++ name"));
    } else if (!seen.insert(std::string(absl::StripPrefix(message, "::")))
                    .second) {
      Report(absl::StrCat("cc_messages names ", message, " twice"));
    }
  }
  if (!options_.cc_messages().empty() && !HasMethods(service_)) {
    Report(
        "has cc_messages but no method: private messages go to the actor of "
        "a daemon with methods");
  }
}

}  // namespace

std::string Problem::ToString() const {
  const std::string where =
      line > 0 ? absl::StrCat(file, ":", line, ":", column) : file;
  return absl::StrCat(where, ": service ", service, ": ", message);
}

std::vector<Problem> Validate(const std::vector<const FileDescriptor*>& files) {
  std::vector<Problem> problems;
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
    DaemonChecker checker(*service, problems);
    graph.Add(service->full_name(), checker.CheckDependencies(pending))
        .IgnoreError();  // each daemon is added once
    checker.CheckMethods();
    checker.CheckExposure();
    checker.CheckCpp();
  }
  if (!problems.empty()) return problems;
  // Reported at the first daemon on the cycle.
  if (std::vector<std::string> cycle = graph.FindCycle(); !cycle.empty()) {
    Problem problem =
        DaemonChecker::At(*daemons.at(cycle.front()),
                          std::string(DependencyCycleError(cycle).message()));
    problem.cycle = std::move(cycle);
    problems.push_back(std::move(problem));
  }
  return problems;
}

}  // namespace anvil::codegen
