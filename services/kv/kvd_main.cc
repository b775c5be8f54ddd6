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
// recovers its log and catches up from the leader. `kvd --help` lists the
// flags, the node's (TLS, limits) included.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "runtime/core/status_macros.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node_main.h"
#include "services/kv/kv_config.h"
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

namespace {

absl::Status BindFromFlags(anvil::Factory& root, anvil::Factory& node) {
  anvil::kv::KvOptions options{.members = absl::GetFlag(FLAGS_members),
                               .data_dir = absl::GetFlag(FLAGS_data_dir),
                               .fsync = absl::GetFlag(FLAGS_fsync),
                               .tick = absl::GetFlag(FLAGS_tick)};
  const std::string engine = absl::GetFlag(FLAGS_engine);
  if (engine == "memory") {
    options.engine = anvil::kv::KvOptions::Engine::kMemory;
  } else if (engine != "durable") {
    return absl::InvalidArgumentError(
        "--engine must be durable or memory, not '" + engine + "'");
  }
  const std::string node_name = absl::GetFlag(FLAGS_node);
  if (node_name.empty() || options.members.empty()) {
    return absl::InvalidArgumentError(
        "give --node and --members (and --anvil_peers with every member's "
        "address)");
  }
  ANVIL_RETURN_IF_ERROR(anvil::kv::ValidateKvOptions(options));
  if (std::find(options.members.begin(), options.members.end(), node_name) ==
      options.members.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node=", node_name, " is not one of --members (",
                     absl::StrJoin(options.members, ","), ")"));
  }
  ANVIL_ASSIGN_OR_RETURN(
      const auto addresses,
      anvil::Cluster::ParsePeers(absl::GetFlag(FLAGS_anvil_peers)));
  for (const std::string& member : options.members) {
    if (!addresses.contains(member)) {
      return absl::InvalidArgumentError(
          absl::StrCat("member ", member, " has no address in --anvil_peers"));
    }
  }
  anvil::kv::BindKv(root, std::move(options));
  return anvil::kv::BuildKvNode(node);
}

}  // namespace

int main(int argc, char** argv) {
  return anvil::NodeMain(
      argc, argv,
      {.usage = "kvd: one node of a replicated key-value store.\n\n"
                "  kvd --node=n1 --members=n1,n2,n3 "
                "--anvil_peers=n1=127.0.0.1:7001,... --data_dir=/var/lib/kv",
       .runtime = {.name = "kvd"},
       .node_name = [] { return absl::GetFlag(FLAGS_node); },
       .bind = BindFromFlags});
}
