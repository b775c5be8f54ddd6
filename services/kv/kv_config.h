// KvConfig: the kv store's ClusterConfig daemon (ClusterConfigApi): who the
// Raft group's members are, how fast its clock ticks, and which storage
// engine nodes use. One per process (PROCESS scope), provided to the root
// factory:
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

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/core/mutex.h"
#include "runtime/daemon/serves_until_stopped.h"
#include "services/kv/kv.anvil.h"

namespace anvil::kv {

// OK, or INVALID_ARGUMENT naming the first bad option (every node's Raft
// daemon checks at Prepare, so no node starts on them): no members, an
// empty or repeated member name, a tick outside [1ms, 10s], election_ticks
// not above heartbeat_ticks (or either below 1), a peer_timeout that is not
// positive, a durable engine without a data_dir.
absl::Status ValidateKvOptions(const KvOptions& options);

class KvConfig final : public ServesUntilStopped<ClusterConfigDaemon> {
 public:
  explicit KvConfig(KvOptions options);

  const KvOptions& options() const override { return options_; }
  uint64_t NextSeed(const std::string& node) override;

 private:
  const KvOptions options_;
  Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> boots_ ABSL_GUARDED_BY(mu_);
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_KV_CONFIG_H_
