#include "services/kv/log_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/status_macros.h"

namespace anvil::kv {
namespace {

// WAL records: 'A' from:u64 count:u32 (term:u64 size:u32 bytes)* for an
// append; 'H' term:u64 commit:u64 size:u32 vote for a hard state. Little
// endian.
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string& out, const std::string& bytes) {
  PutU32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

// Reads a record's fields in order; any read past its end makes ok() false.
class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  uint64_t U64() { return Fixed(8); }
  uint32_t U32() { return static_cast<uint32_t>(Fixed(4)); }
  std::string Bytes() {
    const uint32_t size = U32();
    if (!ok_ || data_.size() - pos_ < size) {
      ok_ = false;
      return {};
    }
    std::string out = data_.substr(pos_, size);
    pos_ += size;
    return out;
  }
  bool done() const { return ok_ && pos_ == data_.size(); }
  bool ok() const { return ok_; }

 private:
  uint64_t Fixed(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    }
    pos_ += n;
    return v;
  }

  const std::string& data_;
  size_t pos_ = 1;  // after the record type
  bool ok_ = true;
};

}  // namespace

absl::StatusOr<uint64_t> LogStore::TermAt(uint64_t index) const {
  if (index == 0) return 0;
  if (index > entries_.size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "no entry ", index, "; the log ends at ", entries_.size()));
  }
  return entries_[index - 1].term;
}

absl::StatusOr<std::vector<LogEntry>> LogStore::Read(uint64_t from,
                                                     size_t max_entries) const {
  if (from == 0 || from > entries_.size() + 1) {
    return absl::OutOfRangeError(absl::StrCat("cannot read from entry ", from,
                                              "; the log holds 1..",
                                              entries_.size()));
  }
  const size_t begin = from - 1;
  const size_t end = std::min(entries_.size(), begin + max_entries);
  return std::vector<LogEntry>(entries_.begin() + begin,
                               entries_.begin() + end);
}

absl::Status LogStore::CheckAppend(uint64_t from) const {
  if (from == 0 || from > entries_.size() + 1) {
    return absl::OutOfRangeError(absl::StrCat("cannot append at entry ", from,
                                              "; the log holds 1..",
                                              entries_.size()));
  }
  return absl::OkStatus();
}

absl::Status LogStore::ApplyAppend(uint64_t from,
                                   const std::vector<LogEntry>& entries) {
  if (absl::Status in_range = CheckAppend(from); !in_range.ok()) {
    return in_range;
  }
  entries_.resize(from - 1);
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  return absl::OkStatus();
}

Task<absl::StatusOr<std::unique_ptr<DurableLogStore>>> DurableLogStore::Open(
    std::string path, WriteAheadLog::Options options) {
  std::vector<std::string> records;
  ANVIL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<WriteAheadLog> wal,
      co_await WriteAheadLog::Open(path, options, &records));
  auto store =
      std::unique_ptr<DurableLogStore>(new DurableLogStore(std::move(wal)));
  for (size_t i = 0; i < records.size(); ++i) {
    if (absl::Status replayed = store->Replay(records[i]); !replayed.ok()) {
      co_return absl::DataLossError(absl::StrCat(
          "log store ", path, ": record ", i, ": ", replayed.message()));
    }
  }
  co_return store;
}

absl::Status DurableLogStore::Replay(const std::string& record) {
  if (record.empty()) return absl::InvalidArgumentError("empty record");
  Reader in(record);
  if (record[0] == 'A') {
    const uint64_t from = in.U64();
    const uint32_t count = in.U32();
    std::vector<LogEntry> entries;
    for (uint32_t i = 0; i < count && in.ok(); ++i) {
      LogEntry entry;
      entry.term = in.U64();
      entry.command = in.Bytes();
      entries.push_back(std::move(entry));
    }
    if (!in.done()) return absl::InvalidArgumentError("malformed append");
    return ApplyAppend(from, entries);
  }
  if (record[0] == 'H') {
    HardState state;
    state.term = in.U64();
    state.commit = in.U64();
    state.vote = in.Bytes();
    if (!in.done()) return absl::InvalidArgumentError("malformed hard state");
    hard_state_ = std::move(state);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown record type ", static_cast<int>(record[0])));
}

Task<absl::Status> DurableLogStore::Append(
    uint64_t from, const std::vector<LogEntry>& entries) {
  // Checked before writing: a refused append must not reach the log.
  if (absl::Status in_range = CheckAppend(from); !in_range.ok()) {
    co_return in_range;
  }
  std::string record = "A";
  PutU64(record, from);
  PutU32(record, static_cast<uint32_t>(entries.size()));
  for (const LogEntry& entry : entries) {
    PutU64(record, entry.term);
    PutBytes(record, entry.command);
  }
  // Durable first, then visible.
  if (absl::Status written = co_await wal_->Append(record); !written.ok()) {
    co_return written;
  }
  co_return ApplyAppend(from, entries);
}

Task<absl::Status> DurableLogStore::SetHardState(const HardState& state) {
  std::string record = "H";
  PutU64(record, state.term);
  PutU64(record, state.commit);
  PutBytes(record, state.vote);
  if (absl::Status written = co_await wal_->Append(record); !written.ok()) {
    co_return written;
  }
  hard_state_ = state;
  co_return absl::OkStatus();
}

}  // namespace anvil::kv
