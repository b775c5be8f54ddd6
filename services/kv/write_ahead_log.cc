#include "services/kv/write_ahead_log.h"

#include <array>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/log.h"
#include "runtime/core/status_macros.h"
#include "runtime/storage/file_system.h"

namespace anvil::kv {
namespace {

// The unit a disk writes whole (sim_disk.h's model; Linux's logical block).
constexpr uint64_t kSectorBytes = 512;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    table[i] = crc;
  }
  return table;
}

void PutU32(uint32_t value, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint32_t GetU32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= uint32_t{static_cast<uint8_t>(in[i])} << (8 * i);
  }
  return value;
}

// What recovery found: the records, and where the intact log ends.
struct Parsed {
  std::vector<std::string> records;
  uint64_t valid_end = 0;
};

// The record at `offset` of `data`, if it is whole and intact.
enum class RecordState { kIntact, kShort, kBadHeader, kTooLarge, kBadPayload };
RecordState Check(absl::string_view data, uint64_t offset, uint32_t max_bytes,
                  uint64_t* end) {
  if (data.size() - offset < WriteAheadLog::kHeaderBytes) {
    return RecordState::kShort;
  }
  const char* header = data.data() + offset;
  if (WriteAheadLog::Crc32c(absl::string_view(header, 8)) !=
      GetU32(header + 8)) {
    return RecordState::kBadHeader;
  }
  const uint32_t length = GetU32(header);
  if (length > max_bytes) return RecordState::kTooLarge;
  *end = offset + WriteAheadLog::kHeaderBytes + length;
  if (*end > data.size()) return RecordState::kShort;
  const absl::string_view payload(header + WriteAheadLog::kHeaderBytes, length);
  if (WriteAheadLog::Crc32c(payload) != GetU32(header + 4)) {
    return RecordState::kBadPayload;
  }
  return RecordState::kIntact;
}

// Whether an intact record starts anywhere after `offset`.
bool IntactRecordAfter(absl::string_view data, uint64_t offset,
                       uint32_t max_bytes) {
  for (uint64_t at = offset + 1;
       at + WriteAheadLog::kHeaderBytes <= data.size(); ++at) {
    uint64_t end = 0;
    if (Check(data, at, max_bytes, &end) == RecordState::kIntact) return true;
  }
  return false;
}

absl::StatusOr<Parsed> Parse(absl::string_view data, uint32_t max_bytes,
                             const std::string& path) {
  Parsed parsed;
  parsed.valid_end = WriteAheadLog::kMagic.size();
  // The final sector: the only place a crash can leave half-written.
  const uint64_t final_sector =
      data.empty() ? 0 : (data.size() - 1) / kSectorBytes * kSectorBytes;
  uint64_t offset = WriteAheadLog::kMagic.size();
  while (offset < data.size()) {
    uint64_t end = 0;
    const RecordState state = Check(data, offset, max_bytes, &end);
    if (state == RecordState::kIntact) {
      parsed.records.emplace_back(
          data.substr(offset + WriteAheadLog::kHeaderBytes,
                      end - offset - WriteAheadLog::kHeaderBytes));
      offset = end;
      parsed.valid_end = end;
      continue;
    }
    const bool in_final_sector =
        state == RecordState::kShort ||
        (state == RecordState::kBadHeader &&
         offset + WriteAheadLog::kHeaderBytes > final_sector) ||
        (state == RecordState::kBadPayload && end > final_sector);
    if (in_final_sector && !IntactRecordAfter(data, offset, max_bytes)) {
      return parsed;  // a torn tail
    }
    const char* what = state == RecordState::kBadHeader ? "header fails its"
                       : state == RecordState::kTooLarge
                           ? "header is intact but claims more than the "
                             "record limit, against its"
                           : "payload fails its";
    return absl::DataLossError(absl::StrCat(
        "wal ", path, ": the record at offset ", offset, " is corrupt (its ",
        what, " checksum) and ", data.size() - offset,
        " bytes of the log are at or after it: this is damage, not a torn "
        "write; the node must not start from this log"));
  }
  return parsed;
}

}  // namespace

uint32_t WriteAheadLog::Crc32c(absl::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) {
    crc = table[(crc ^ static_cast<uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

std::string WriteAheadLog::Frame(absl::string_view record) {
  std::string out(kHeaderBytes, '\0');
  PutU32(static_cast<uint32_t>(record.size()), out.data());
  PutU32(Crc32c(record), out.data() + 4);
  PutU32(Crc32c(absl::string_view(out.data(), 8)), out.data() + 8);
  out.append(record.data(), record.size());
  return out;
}

Task<absl::StatusOr<std::unique_ptr<WriteAheadLog>>> WriteAheadLog::Open(
    std::string path, Options options, std::vector<std::string>* recovered) {
  ANVIL_CO_ASSIGN_OR_RETURN(File file,
                            co_await File::Open(path, {.create = true}));
  ANVIL_CO_ASSIGN_OR_RETURN(std::string contents, co_await file.ReadAll());

  // Empty, or its creation was cut short.
  const bool fresh = contents.size() < kMagic.size() &&
                     kMagic.substr(0, contents.size()) == contents;
  if (fresh) {
    // Write the format's first bytes and make the file and its name
    // durable.
    ANVIL_CO_RETURN_IF_ERROR(co_await file.Truncate(0));
    ANVIL_CO_RETURN_IF_ERROR(co_await file.Write(0, kMagic));
    ANVIL_CO_RETURN_IF_ERROR(co_await file.Sync());
    const size_t slash = path.rfind('/');
    ANVIL_CO_RETURN_IF_ERROR(
        co_await SyncDirectory(slash == std::string::npos ? "."
                               : slash == 0               ? "/"
                                            : path.substr(0, slash)));
    co_return std::unique_ptr<WriteAheadLog>(
        new WriteAheadLog(std::move(file), options));
  }
  if (!absl::StartsWith(contents, kMagic)) {
    co_return absl::FailedPreconditionError(absl::StrCat(
        "wal ", path,
        ": not a write-ahead log of this format (its first "
        "bytes are not \"",
        kMagic, "\"); it may be from an older version, or another file"));
  }
  ANVIL_CO_ASSIGN_OR_RETURN(Parsed parsed,
                            Parse(contents, options.max_record_bytes, path));
  if (parsed.valid_end < contents.size()) {
    Log().warn(
        "wal {}: dropping a torn tail of {} bytes at offset {} (written "
        "after the last fsync, never acknowledged)",
        path, contents.size() - parsed.valid_end, parsed.valid_end);
    ANVIL_CO_RETURN_IF_ERROR(co_await file.Truncate(parsed.valid_end));
    ANVIL_CO_RETURN_IF_ERROR(co_await file.Sync());
  }
  for (std::string& record : parsed.records) {
    recovered->push_back(std::move(record));
  }
  co_return std::unique_ptr<WriteAheadLog>(
      new WriteAheadLog(std::move(file), options));
}

absl::Status WriteAheadLog::Fail(const absl::Status& status) {
  broken_ = absl::FailedPreconditionError(
      absl::StrCat("wal ", path(), " refuses calls after an I/O error (",
                   status.message(), "); reopen it to recover"));
  return status;
}

Task<absl::Status> WriteAheadLog::AppendBatch(
    const std::vector<std::string>& records) {
  if (!broken_.ok()) co_return broken_;
  std::string bytes;
  for (const std::string& record : records) {
    if (record.size() > options_.max_record_bytes) {
      co_return absl::InvalidArgumentError(absl::StrCat(
          "wal ", path(), ": a record of ", record.size(),
          " bytes is larger than the limit of ", options_.max_record_bytes));
    }
    bytes += Frame(record);
  }
  if (absl::Status written = co_await file_.Append(bytes); !written.ok()) {
    co_return Fail(written);
  }
  if (!options_.sync_each_append) co_return absl::OkStatus();
  co_return co_await Sync();
}

Task<absl::Status> WriteAheadLog::Append(absl::string_view record) {
  co_return co_await AppendBatch({std::string(record)});
}

Task<absl::Status> WriteAheadLog::Sync() {
  if (!broken_.ok()) co_return broken_;
  if (absl::Status synced = co_await file_.Sync(); !synced.ok()) {
    co_return Fail(synced);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> WriteAheadLog::Reset() {
  if (!broken_.ok()) co_return broken_;
  if (absl::Status cut = co_await file_.Truncate(kMagic.size()); !cut.ok()) {
    co_return Fail(cut);
  }
  co_return co_await Sync();
}

}  // namespace anvil::kv
