#include "runtime/node/node_main.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/core/log.h"
#include "runtime/node/cluster.h"
#include "runtime/node/flag_help.h"
#include "runtime/node/library_logs.h"
#include "runtime/node/node.h"
#include "runtime/node/node_flags.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/network_flags.h"

ABSL_FLAG(std::optional<int>, anvil_threads, std::nullopt,
          "Worker threads, one event loop each (0: one per CPU). Unset: "
          "the program's default.");
ABSL_FLAG(std::optional<absl::Duration>, anvil_idle_spin, std::nullopt,
          "The longest an idle worker polls before sleeping in epoll_wait "
          "(0: never polls). Unset: the program's default.");
ABSL_FLAG(std::string, anvil_log_format, "auto",
          "Log lines as text (for people), json (one object per line, for "
          "machines) or auto (text on a terminal or under bazel test, else "
          "json). gRPC's and protobuf's own lines included.");
ABSL_FLAG(std::string, anvil_log_level, "info",
          "The least severe log lines written: trace, debug, info, warn, "
          "error, critical or off.");
ABSL_FLAG(absl::Duration, anvil_run_for, absl::ZeroDuration(),
          "Stop by itself after this long, as on SIGTERM (0: run until a "
          "signal). For demos and tests.");

namespace anvil {

int NodeMain(int argc, char** argv, NodeProgram program) {
  const std::string program_name = program.runtime.name;
  auto fail = [&](int code, const absl::Status& status) {
    std::fprintf(stderr, "%s: %s\n", program_name.c_str(),
                 std::string(status.message()).c_str());
    return code;
  };
  absl::SetProgramUsageMessage(program.usage);
  if (AsksForHelp(argc, argv)) {
    PrintFlagHelp(std::cout, program.usage, program.flags_file,
                  /*with_runtime_flags=*/true);
    return 0;
  }
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    return fail(2, absl::InvalidArgumentError(
                       std::string("unexpected argument '") + rest[1] +
                       "' (flags are --name=value; see --help)"));
  }
  const absl::StatusOr<LogFormat> log_format =
      ParseLogFormat(absl::GetFlag(FLAGS_anvil_log_format));
  if (!log_format.ok()) {
    return fail(2, absl::InvalidArgumentError(absl::StrCat(
                       "--anvil_log_format: ", log_format.status().message())));
  }
  const absl::StatusOr<spdlog::level::level_enum> log_level =
      ParseLogLevel(absl::GetFlag(FLAGS_anvil_log_level));
  if (!log_level.ok()) {
    return fail(2, absl::InvalidArgumentError(absl::StrCat(
                       "--anvil_log_level: ", log_level.status().message())));
  }
  SetLogFormat(*log_format);
  SetLogLevel(*log_level);
  RouteLibraryLogs();
  std::string name = program.node_name ? program.node_name() : "";
  if (name.empty()) name = "node";
  if (const std::optional<int> threads = absl::GetFlag(FLAGS_anvil_threads)) {
    if (*threads < 0 || *threads > 1024) {
      return fail(2, absl::InvalidArgumentError(absl::StrCat(
                         "--anvil_threads=", *threads,
                         " is out of range: 0 (one per CPU) to 1024")));
    }
    program.runtime.threads = static_cast<size_t>(*threads);
  }
  if (const std::optional<absl::Duration> spin =
          absl::GetFlag(FLAGS_anvil_idle_spin)) {
    if (*spin < absl::ZeroDuration() || *spin > absl::Seconds(1)) {
      return fail(2, absl::InvalidArgumentError(absl::StrCat(
                         "--anvil_idle_spin=", absl::FormatDuration(*spin),
                         " is out of range: 0 to 1s")));
    }
    program.runtime.idle_spin = *spin;
  }

  Runtime runtime(program.runtime);
  // Real gRPC, also in a --config=sim build (whose default network is the
  // in-process loopback): this process talks to others.
  absl::StatusOr<std::shared_ptr<GrpcNetwork>> network =
      GrpcNetworkFromFlags(runtime, name);
  if (!network.ok()) return fail(2, network.status());
  NodeOptions options = NodeOptionsFromFlags(*std::move(network));
  absl::StatusOr<std::map<std::string, std::string>> peers =
      Cluster::ParsePeers(absl::GetFlag(FLAGS_anvil_peers));
  if (!peers.ok()) return fail(2, peers.status());

  Factory root(runtime);
  root.Provide<Cluster>(std::make_unique<Cluster>(options.network, *peers));
  if (absl::StatusOr<Cluster*> cluster = root.Get<Cluster>(); !cluster.ok()) {
    return fail(2, cluster.status());
  }
  Factory& node_factory = root.Child(name);
  if (program.bind) {
    if (absl::Status bound = program.bind(root, node_factory); !bound.ok()) {
      return fail(2, bound);
    }
  }

  Node root_node(root);
  if (absl::Status started = root_node.Start(); !started.ok()) {
    return fail(1, started);
  }
  Node node(node_factory, std::move(options));
  if (absl::Status started = node.Start(); !started.ok()) {
    root_node.RequestStop();
    (void)root_node.Wait();
    return fail(1, started);
  }
  if (!node.address().empty()) {
    std::printf("%s %s: serving at %s\n", program_name.c_str(), name.c_str(),
                node.address().c_str());
  } else {
    std::printf("%s %s: running\n", program_name.c_str(), name.c_str());
  }
  std::fflush(stdout);
  // SIGINT/SIGTERM shut the runtime down, which stops both nodes; so does
  // --anvil_run_for passing.
  if (const absl::Duration run_for = absl::GetFlag(FLAGS_anvil_run_for);
      run_for > absl::ZeroDuration()) {
    if (!node.WaitFor(run_for)) node.RequestStop();
  }
  const absl::Status stopped = node.Wait();
  root_node.RequestStop();
  const absl::Status root_stopped = root_node.Wait();
  std::printf("%s %s: stopped: %s\n", program_name.c_str(), name.c_str(),
              stopped.ToString().c_str());
  return stopped.ok() && root_stopped.ok() ? 0 : 1;
}

}  // namespace anvil
