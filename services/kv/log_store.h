// LogStore: what a Raft node keeps: its log of entries and its hard state
// (current term, vote, commit index). Two engines: MemoryLogStore (lost with
// the process; for tests and simulations that do not crash nodes) and
// DurableLogStore (every change written to a WriteAheadLog and fsync'ed
// before the call returns, recovered on open).
//
//   absl::StatusOr<std::unique_ptr<LogStore>> store =
//       DurableLogStore::Open("/var/lib/kv/n1.wal");
//   ANVIL_RETURN_IF_ERROR((*store)->Append(/*from_index=*/1, entries));
//   ANVIL_RETURN_IF_ERROR((*store)->SetHardState({.term = 3, .vote = "n2"}));
//
// Indexes start at 1; entry i has index i. Append(from, entries) replaces
// everything from `from` on (Raft's truncation of a conflicting suffix)
// with `entries`. Errors: OUT_OF_RANGE for a `from` past the end + 1 or an
// entry index past the end; what the WAL reports for I/O (a durable store
// refuses writes after an I/O error).
//
// Thread-compatible. DurableLogStore blocks on fsync: use it through
// RunBlocking (runtime/actor/blocking.h) from an actor.
#ifndef ANVIL_SERVICES_KV_LOG_STORE_H_
#define ANVIL_SERVICES_KV_LOG_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/kv/write_ahead_log.h"

namespace anvil::kv {

struct LogEntry {
  uint64_t term = 0;
  std::string command;

  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

struct HardState {
  uint64_t term = 0;
  std::string vote;  // the node voted for in `term`, or empty
  uint64_t commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

class LogStore {
 public:
  virtual ~LogStore() = default;

  // Replaces the entries from index `from` on with `entries`.
  virtual absl::Status Append(uint64_t from,
                              const std::vector<LogEntry>& entries) = 0;
  virtual absl::Status SetHardState(const HardState& state) = 0;

  // Index of the last entry; 0 when empty.
  uint64_t last_index() const { return entries_.size(); }
  // Term of entry `index`; 0 for index 0.
  absl::StatusOr<uint64_t> TermAt(uint64_t index) const;
  // Entries [from, from + max_entries), fewer at the end.
  absl::StatusOr<std::vector<LogEntry>> Read(uint64_t from,
                                             size_t max_entries) const;
  const HardState& hard_state() const { return hard_state_; }

 protected:
  // OUT_OF_RANGE unless an append may start at `from`.
  absl::Status CheckAppend(uint64_t from) const;
  // Checks and applies an append to the in-memory copy.
  absl::Status ApplyAppend(uint64_t from, const std::vector<LogEntry>& entries);

  std::vector<LogEntry> entries_;  // entries_[i] has index i + 1
  HardState hard_state_;
};

class MemoryLogStore final : public LogStore {
 public:
  absl::Status Append(uint64_t from,
                      const std::vector<LogEntry>& entries) override {
    return ApplyAppend(from, entries);
  }
  absl::Status SetHardState(const HardState& state) override {
    hard_state_ = state;
    return absl::OkStatus();
  }
};

class DurableLogStore final : public LogStore {
 public:
  // Opens (or creates) the store whose WAL is at `path` and recovers it.
  // DATA_LOSS if the WAL is corrupt or holds a record this code cannot
  // read. `options.sync_each_append = false` skips the fsyncs: changes
  // survive the process (a simulated crash) but not the machine.
  static absl::StatusOr<std::unique_ptr<DurableLogStore>> Open(
      const std::string& path, WriteAheadLog::Options options = {});

  absl::Status Append(uint64_t from,
                      const std::vector<LogEntry>& entries) override;
  absl::Status SetHardState(const HardState& state) override;

 private:
  explicit DurableLogStore(std::unique_ptr<WriteAheadLog> wal)
      : wal_(std::move(wal)) {}
  // Applies one recovered WAL record.
  absl::Status Replay(const std::string& record);

  std::unique_ptr<WriteAheadLog> wal_;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_LOG_STORE_H_
