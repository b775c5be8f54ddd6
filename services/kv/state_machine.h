// KvStateMachine: the key-value map that Raft replicates. Every replica
// applies the same committed commands in the same order and so holds the
// same map; a command's result (a Put's version, whether a
// CompareAndSet swapped) is decided here, deterministically.
//
//   KvStateMachine kv;
//   Command put;
//   put.mutable_put()->set_key("k");
//   put.mutable_put()->set_value("v");
//   absl::StatusOr<CommandResult> r = kv.Apply(/*index=*/1, put);
//   GetReply got = kv.Get("k");   // found, "v", version 1
//
// Versions are the log index of the write that last set a key, so they
// only grow. Each change (a Put, a Delete of a key that existed, a
// CompareAndSet that swapped) is also kept as a WatchEvent whose revision
// is its index: the most recent ones, at most `history` of them and
// `history_bytes` of keys and values (EventsFrom: what Watch streams).
//
// Writes with a ClientSession (kv.proto) apply once: the session's latest
// request and its result are kept, a repeat of it gets that result again
// without a change, and an older one ABORTED. At most `sessions` sessions
// are kept, the least recently used dropped first.
// Thread-compatible.
#ifndef ANVIL_SERVICES_KV_STATE_MACHINE_H_
#define ANVIL_SERVICES_KV_STATE_MACHINE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/kv/kv.pb.h"

namespace anvil::kv {

class KvStateMachine {
 public:
  static constexpr size_t kDefaultHistory = 100'000;
  static constexpr size_t kDefaultHistoryBytes = 64 << 20;
  static constexpr size_t kDefaultSessions = 100'000;
  explicit KvStateMachine(size_t history = kDefaultHistory,
                          size_t history_bytes = kDefaultHistoryBytes,
                          size_t sessions = kDefaultSessions)
      : history_limit_(history),
        history_bytes_limit_(history_bytes),
        session_limit_(sessions) {}

  // Applies the committed `command` at log `index`. INVALID_ARGUMENT (and
  // no change) for a command with no operation, or an index not after the
  // last applied one; ABORTED (and no change) for a session's request older
  // than its latest.
  absl::StatusOr<CommandResult> Apply(uint64_t index, const Command& command);

  GetReply Get(const std::string& key) const;

  // Up to `max` changes to keys under `prefix`, oldest first, with
  // revisions from `from_revision` on. OUT_OF_RANGE if changes from that
  // revision are no longer kept.
  absl::StatusOr<std::vector<WatchEvent>> EventsFrom(uint64_t from_revision,
                                                     const std::string& prefix,
                                                     size_t max) const;

  // Index of the last command applied; 0 before any.
  uint64_t applied_index() const { return applied_; }
  size_t size() const { return entries_.size(); }
  size_t sessions() const { return sessions_.size(); }

 private:
  struct Entry {
    std::string value;
    uint64_t version = 0;
  };
  struct Session {
    uint64_t sequence = 0;  // the latest request applied
    CommandResult result;   // its result
    uint64_t last_index = 0;
  };
  // Applies `command`, which no session has applied yet.
  absl::StatusOr<CommandResult> ApplyOnce(uint64_t index,
                                          const Command& command);
  void Record(WatchEvent::Type type, const std::string& key,
              const std::string& value, uint64_t index);
  // Keeps `result` as `session`'s latest, evicting beyond session_limit_.
  void Remember(const ClientSession& session, uint64_t index,
                const CommandResult& result);

  absl::flat_hash_map<std::string, Entry> entries_;
  uint64_t applied_ = 0;
  const size_t history_limit_;
  const size_t history_bytes_limit_;
  std::deque<WatchEvent> history_;  // by revision
  size_t history_bytes_ = 0;        // of its keys and values
  // The last revision no longer kept; 0: nothing dropped.
  uint64_t dropped_through_ = 0;
  const size_t session_limit_;
  absl::flat_hash_map<uint64_t, Session> sessions_;  // by client id
  std::map<uint64_t, uint64_t> sessions_by_use_;     // last index -> id
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_STATE_MACHINE_H_
