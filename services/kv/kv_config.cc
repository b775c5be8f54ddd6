#include "services/kv/kv_config.h"

#include <random>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"

namespace anvil::kv {

KvConfig::KvConfig(KvOptions options) : options_(std::move(options)) {}

absl::StatusOr<KvConfig*> KvConfig::From(ClusterConfigDaemon& daemon) {
  auto* config = dynamic_cast<KvConfig*>(&daemon);
  if (config == nullptr) {
    return absl::InternalError(
        "anvil.kv.ClusterConfig is bound to something other than KvConfig; "
        "provide a KvConfig to the root factory");
  }
  return config;
}

uint64_t KvConfig::NextSeed(const std::string& node) {
  uint64_t boot;
  {
    MutexLock lock(mu_);
    boot = boots_[node]++;
  }
  if (options_.seed == 0) return std::random_device()();
  // absl::Hash is salted per process; the seed must replay.
  std::seed_seq mix{options_.seed, boot, std::hash<std::string>()(node)};
  uint64_t seed[1];
  mix.generate(reinterpret_cast<uint32_t*>(seed),
               reinterpret_cast<uint32_t*>(seed) + 2);
  return seed[0];
}

Task<absl::Status> KvConfig::Run() {
  co_await stopped_.Wait();
  co_return absl::OkStatus();
}

Task<> KvConfig::Stop() {
  stopped_.Notify();
  co_return;
}

}  // namespace anvil::kv
