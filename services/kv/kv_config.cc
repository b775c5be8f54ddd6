#include "services/kv/kv_config.h"

#include <array>
#include <functional>
#include <random>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace anvil::kv {

absl::Status ValidateKvOptions(const KvOptions& options) {
  if (options.members.empty()) {
    return absl::InvalidArgumentError("the kv group needs members");
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& member : options.members) {
    if (member.empty()) {
      return absl::InvalidArgumentError("a member's name is empty");
    }
    if (!seen.insert(member).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("member \"", member, "\" is listed twice"));
    }
  }
  if (options.tick < absl::Milliseconds(1) ||
      options.tick > absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the tick must be between 1ms and 10s, not ",
                     absl::FormatDuration(options.tick)));
  }
  if (options.heartbeat_ticks < 1 ||
      options.election_ticks <= options.heartbeat_ticks) {
    return absl::InvalidArgumentError(
        absl::StrCat("election_ticks (", options.election_ticks,
                     ") must exceed heartbeat_ticks (", options.heartbeat_ticks,
                     "), which must be at least 1"));
  }
  if (options.peer_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer_timeout must be positive, not ",
                     absl::FormatDuration(options.peer_timeout)));
  }
  if (options.engine == KvOptions::Engine::kDurable &&
      options.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "the durable engine needs a data directory (data_dir) for its log");
  }
  return absl::OkStatus();
}

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
