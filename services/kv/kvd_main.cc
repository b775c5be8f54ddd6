// kvd: one kv store node as a process.
//
//   kvd --node=n1 --members=n1,n2,n3 \
//       --anvil_peers=n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 \
//       --data_dir=/var/lib/kv
//
// Serves KvStore (to clients: kvctl, any gRPC client) and RaftPeer (to the
// other nodes) at its --anvil_peers address (or --anvil_listen), keeps its
// Raft log in <data_dir>/<node>.wal, fsync'ed before every
// acknowledgement, and runs until SIGINT or SIGTERM. A restarted kvd
// recovers its log and catches up from the leader. The TLS flags of
// runtime/daemon/node_flags.h apply.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/cluster.h"
#include "runtime/daemon/factory.h"
#include "runtime/daemon/node.h"
#include "runtime/daemon/node_flags.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "services/kv/kv_node.h"

ABSL_FLAG(std::string, node, "", "This node's name; one of --members.");
ABSL_FLAG(std::vector<std::string>, members, {},
          "The Raft group's node names, comma-separated; each needs an "
          "--anvil_peers address.");
ABSL_FLAG(std::string, data_dir, "", "Where the node keeps its log.");
ABSL_FLAG(std::string, engine, "durable",
          "durable (a write-ahead log) or memory (lost when the process "
          "ends: for trying things out).");
ABSL_FLAG(bool, fsync, true,
          "fsync the log before acknowledging a write (durable engine).");
ABSL_FLAG(absl::Duration, tick, absl::Milliseconds(20),
          "Raft's tick; elections follow 10 to 20 silent ticks.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string name = absl::GetFlag(FLAGS_node);
  anvil::kv::KvOptions options{.members = absl::GetFlag(FLAGS_members),
                               .data_dir = absl::GetFlag(FLAGS_data_dir),
                               .fsync = absl::GetFlag(FLAGS_fsync),
                               .tick = absl::GetFlag(FLAGS_tick)};
  const std::string engine = absl::GetFlag(FLAGS_engine);
  if (engine == "memory") {
    options.engine = anvil::kv::KvOptions::Engine::kMemory;
  } else if (engine != "durable") {
    std::fprintf(stderr, "kvd: --engine must be durable or memory, not '%s'\n",
                 engine.c_str());
    return 2;
  }
  if (name.empty() || options.members.empty()) {
    std::fprintf(stderr,
                 "kvd: give --node and --members (and --anvil_peers with "
                 "every member's address)\n");
    return 2;
  }

  anvil::Runtime runtime(anvil::RuntimeOptions{.name = "kvd"});
  absl::StatusOr<anvil::NodeOptions> node_options =
      anvil::NodeOptionsFromFlags(runtime, name);
  if (!node_options.ok()) {
    std::fprintf(stderr, "kvd: %s\n", node_options.status().ToString().c_str());
    return 2;
  }
  // Real gRPC (with TLS if the flags say so), also in a --config=sim
  // build, whose default network is the in-process loopback.
  if (node_options->network == nullptr ||
      node_options->network->name() != "grpc") {
    node_options->network = std::make_shared<anvil::GrpcNetwork>(
        runtime, anvil::GrpcNetworkOptions{.node_name = name});
  }
  absl::StatusOr<std::map<std::string, std::string>> peers =
      anvil::Cluster::ParsePeers(absl::GetFlag(FLAGS_anvil_peers));
  if (!peers.ok()) {
    std::fprintf(stderr, "kvd: --anvil_peers: %s\n",
                 peers.status().ToString().c_str());
    return 2;
  }
  anvil::Factory root(runtime);
  root.Provide<anvil::Cluster>(
      std::make_unique<anvil::Cluster>(node_options->network, *peers));
  anvil::kv::BindKv(root, std::move(options));
  anvil::Factory& factory = root.Child(name);
  if (absl::Status built = anvil::kv::BuildKvNode(factory); !built.ok()) {
    std::fprintf(stderr, "kvd: %s\n", built.ToString().c_str());
    return 2;
  }
  anvil::Node root_node(root);
  if (absl::Status started = root_node.Start(); !started.ok()) {
    std::fprintf(stderr, "kvd: %s\n", started.ToString().c_str());
    return 1;
  }
  anvil::Node node(factory, *std::move(node_options));
  if (absl::Status started = node.Start(); !started.ok()) {
    std::fprintf(stderr, "kvd: %s\n", started.ToString().c_str());
    root_node.RequestStop();
    (void)root_node.Wait();
    return 1;
  }
  std::printf("kvd %s: serving at %s\n", name.c_str(), node.address().c_str());
  std::fflush(stdout);
  // SIGINT/SIGTERM shut the runtime down, which stops both nodes.
  const absl::Status stopped = node.Wait();
  root_node.RequestStop();
  (void)root_node.Wait();
  std::printf("kvd %s: stopped: %s\n", name.c_str(),
              stopped.ToString().c_str());
  return stopped.ok() ? 0 : 1;
}
