// A node serving the Echo daemon (echo.proto) until SIGINT/SIGTERM, for
// clients in other processes and languages:
//
//   echo_server --address_file=/tmp/addr [--anvil_listen=127.0.0.1:0]
//
// Writes the address it serves at to --address_file once serving.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/node/node_flags.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"

ABSL_FLAG(std::string, address_file, "",
          "Where to write the address the node serves at.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  anvil::Runtime runtime(anvil::RuntimeOptions{.name = "echo"});
  absl::StatusOr<anvil::NodeOptions> options =
      anvil::NodeOptionsFromFlags(runtime);
  if (!options.ok()) {
    std::fprintf(stderr, "echo_server: %s\n",
                 options.status().ToString().c_str());
    return 2;
  }
  anvil::Factory root(runtime);
  root.Bind<anvil::transport::testdata::EchoDaemon,
            anvil::transport::testdata::EchoImpl>();
  if (!root.Get<anvil::transport::testdata::EchoDaemon>().ok()) return 1;
  // A gRPC server whatever the build's default network.
  if (options->network == nullptr || options->network->name() != "grpc") {
    options->network = std::make_shared<anvil::GrpcNetwork>(runtime);
  }
  anvil::Node node(root, *std::move(options));
  if (absl::Status started = node.Start(); !started.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", started.ToString().c_str());
    return 1;
  }
  const std::string address_file = absl::GetFlag(FLAGS_address_file);
  if (!address_file.empty()) {
    // Written whole, then renamed, so a reader never sees half of it.
    const std::string partial = address_file + ".partial";
    std::ofstream(partial) << node.address() << "\n";
    std::rename(partial.c_str(), address_file.c_str());
  }
  // SIGINT/SIGTERM shut the runtime down, which stops the node.
  const absl::Status stopped = node.Wait();
  std::printf("echo_server stopped: %s\n", stopped.ToString().c_str());
  return stopped.ok() ? 0 : 1;
}
