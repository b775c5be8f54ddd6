// KvConfig: the kv store's ClusterConfig daemon: who the Raft group's
// members are, how fast its clock ticks, and which storage engine nodes
// use. One per process (PROCESS scope), provided to the root factory:
//
//   anvil::kv::KvOptions options;
//   options.members = {"n1", "n2", "n3"};
//   options.data_dir = "/var/lib/kv";
//   root.Provide<anvil::kv::ClusterConfigDaemon>(
//       std::make_unique<anvil::kv::KvConfig>(options));
//
// Thread-safe after construction (options are read-only; NextSeed locks).
#ifndef ANVIL_SERVICES_KV_KV_CONFIG_H_
#define ANVIL_SERVICES_KV_KV_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/core/mutex.h"
#include "runtime/daemon/serves_until_stopped.h"
#include "services/kv/kv.anvil.h"

namespace anvil::kv {

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

class KvConfig final : public ServesUntilStopped<ClusterConfigDaemon> {
 public:
  explicit KvConfig(KvOptions options);

  // The KvConfig behind a ClusterConfig dependency. INTERNAL if the
  // process bound another implementation.
  static absl::StatusOr<KvConfig*> From(ClusterConfigDaemon& daemon);

  const KvOptions& options() const { return options_; }
  // A seed for `node`'s next boot: different for every node and boot,
  // the same for the same KvOptions::seed.
  uint64_t NextSeed(const std::string& node);

 private:
  const KvOptions options_;
  Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> boots_ ABSL_GUARDED_BY(mu_);
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_KV_CONFIG_H_
