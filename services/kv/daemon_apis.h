// The C++ that kv.proto names beside it (docs/codegen.md, "C++ beside the
// proto"): what the kv store's method-less daemons offer their dependents
// (cc_interface), and the messages Raft's actor gets from its own timer and
// senders (cc_messages), which never go on the wire.
//
//   // Raft's constructor: typed, no cast.
//   const KvOptions& options = deps.cluster_config.options();
//   // Raft's Prepare, after Storage's:
//   LogStore& log = deps.storage.store();
//
// Included by kv.anvil.h, so it must not include it.
#ifndef ANVIL_SERVICES_KV_DAEMON_APIS_H_
#define ANVIL_SERVICES_KV_DAEMON_APIS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/kv/kv.pb.h"

namespace anvil::kv {

class LogStore;

struct KvOptions {
  // Node names of the Raft group (each node's factory name).
  std::vector<std::string> members;

  enum class Engine { kMemory, kDurable };
  // kMemory forgets everything when a node stops: only for nodes that
  // never restart. kDurable keeps the log in <data_dir>/<node>.wal.
  Engine engine = Engine::kDurable;
  std::string data_dir;
  // kDurable: fsync every change before acknowledging it. Off, changes
  // survive the process (or a simulated crash), not the machine.
  bool fsync = true;

  // Raft's clock: one tick this often; an election after
  // [election_ticks, 2 * election_ticks) ticks without a leader; a
  // heartbeat every heartbeat_ticks.
  absl::Duration tick = absl::Milliseconds(20);
  int election_ticks = 10;
  int heartbeat_ticks = 2;
  // How long a node waits for a peer's reply before dropping the request
  // (Raft resends on the next heartbeat).
  absl::Duration peer_timeout = absl::Milliseconds(200);

  // Seeds the election timeouts: 0 picks a random seed; anything else
  // makes them replay (simulation).
  uint64_t seed = 0;
};

// ClusterConfig (KvConfig): the group's members and settings. Thread-safe.
class ClusterConfigApi {
 public:
  virtual ~ClusterConfigApi() = default;

  virtual const KvOptions& options() const = 0;
  // A seed for `node`'s next boot: different for every node and boot,
  // the same for the same KvOptions::seed.
  virtual uint64_t NextSeed(const std::string& node) = 0;
};

// Storage (KvStorage): the node's Raft log and hard state. Used by one Raft
// actor at a time.
class StorageApi {
 public:
  virtual ~StorageApi() = default;

  // REQUIRES: the Storage daemon is prepared (its dependents' Prepare runs
  // after it).
  virtual LogStore& store() = 0;
};

// --- Raft's private messages. ---

// Raft's clock: every KvOptions::tick (and once more when stopping).
struct RaftTick {};
// Proposals queued by Submit: append them now rather than at the next tick.
struct RaftFlush {};
// A peer's reply, from the sender that asked it.
struct VoteOutcome {
  std::string from;
  VoteReply reply;
};
struct AppendOutcome {
  std::string from;
  AppendReply reply;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_DAEMON_APIS_H_
