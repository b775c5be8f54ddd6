// LogStore: what a Raft node keeps: its log of entries and its hard state
// (current term, vote, commit index). Two engines: MemoryLogStore (lost with
// the process; for tests and simulations that do not crash nodes) and
// DurableLogStore (every change written to a WriteAheadLog and fsync'ed
// before the call returns, recovered on open).
//
//   absl::StatusOr<std::unique_ptr<DurableLogStore>> store =
//       co_await DurableLogStore::Open("/var/lib/kv/n1.wal");
//   if (!store.ok()) co_return store.status();
//   ANVIL_CO_RETURN_IF_ERROR(
//       co_await (*store)->Append(/*from_index=*/1, entries));
//   ANVIL_CO_RETURN_IF_ERROR(
//       co_await (*store)->SetHardState({.term = 3, .vote = "n2"}));
//
// Indexes start at 1; entry i has index i. Append(from, entries) replaces
// everything from `from` on (Raft's truncation of a conflicting suffix)
// with `entries`. Errors: OUT_OF_RANGE for a `from` past the end + 1 or an
// entry index past the end; what the WAL reports for I/O (a durable store
// refuses writes after an I/O error).
//
// Thread-compatible: one actor at a time, one call at a time, each awaited
// on a worker (DurableLogStore's writes go through the storage seam,
// runtime/storage/file.h, which keeps the event loop free).
#ifndef ANVIL_SERVICES_KV_LOG_STORE_H_
#define ANVIL_SERVICES_KV_LOG_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/task.h"
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
  // Durable when the task finishes OK (for a durable store). REQUIRES:
  // `entries` and `state` outlive the call (co_await it at once).
  virtual Task<absl::Status> Append(uint64_t from,
                                    const std::vector<LogEntry>& entries) = 0;
  virtual Task<absl::Status> SetHardState(const HardState& state) = 0;

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
  Task<absl::Status> Append(uint64_t from,
                            const std::vector<LogEntry>& entries) override {
    co_return ApplyAppend(from, entries);
  }
  Task<absl::Status> SetHardState(const HardState& state) override {
    hard_state_ = state;
    co_return absl::OkStatus();
  }
};

class DurableLogStore final : public LogStore {
 public:
  // Opens (or creates) the store whose WAL is at `path` and recovers it.
  // DATA_LOSS if the WAL is corrupt or holds a record this code cannot
  // read. `options.sync_each_append = false` skips the fsyncs: changes
  // survive the process (a simulated crash) but not the machine.
  static Task<absl::StatusOr<std::unique_ptr<DurableLogStore>>> Open(
      std::string path, WriteAheadLog::Options options = {});

  Task<absl::Status> Append(uint64_t from,
                            const std::vector<LogEntry>& entries) override;
  Task<absl::Status> SetHardState(const HardState& state) override;

 private:
  explicit DurableLogStore(std::unique_ptr<WriteAheadLog> wal)
      : wal_(std::move(wal)) {}
  // Applies one recovered WAL record.
  absl::Status Replay(const std::string& record);

  std::unique_ptr<WriteAheadLog> wal_;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_LOG_STORE_H_
