#include "services/kv/kv_config.h"

#include <array>
#include <functional>
#include <random>
#include <utility>

namespace anvil::kv {

KvConfig::KvConfig(KvOptions options) : options_(std::move(options)) {}

uint64_t KvConfig::NextSeed(const std::string& node) {
  uint64_t boot;
  {
    MutexLock lock(mu_);
    boot = boots_[node]++;
  }
  if (options_.seed == 0) return std::random_device()();
  // absl::Hash is salted per process; the seed must replay.
  const uint64_t name = std::hash<std::string>()(node);
  // seed_seq reads 32 bits of each value: give it both halves.
  std::seed_seq mix{static_cast<uint32_t>(options_.seed),
                    static_cast<uint32_t>(options_.seed >> 32),
                    static_cast<uint32_t>(boot), static_cast<uint32_t>(name),
                    static_cast<uint32_t>(name >> 32)};
  std::array<uint32_t, 2> words;
  mix.generate(words.begin(), words.end());
  return (uint64_t{words[0]} << 32) | words[1];
}

}  // namespace anvil::kv
