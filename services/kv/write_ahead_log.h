// WriteAheadLog: an append-only file of records that survive a crash once
// Append (or Sync) returned OK. The durable storage of the key-value store
// (services/kv) writes every change here before applying it. It runs on the
// storage seam (runtime/storage/file.h): real files in production, the
// node's simulated disk in a Simulation.
//
//   std::vector<std::string> recovered;
//   absl::StatusOr<std::unique_ptr<WriteAheadLog>> log =
//       co_await WriteAheadLog::Open("/var/lib/kv/n1.wal", {}, &recovered);
//   if (!log.ok()) co_return log.status();
//   for (const std::string& record : recovered) Apply(record);
//   ANVIL_CO_RETURN_IF_ERROR(co_await (*log)->Append(Encode(change)));
//
// Format: the 8 bytes "ANVWAL02", then records one after another, each
// [u32 length][u32 CRC-32C of the payload][u32 CRC-32C of the 8 bytes
// before][payload], little endian. The header checksum covers the length,
// so a flipped bit there is seen as such, not mistaken for a short record.
//
// Recovery reads the records in order and tells a torn tail from
// corruption. A crash can damage only what was written after the last
// fsync, and a disk writes whole 512-byte sectors except perhaps the last
// one being written, so a bad record is a torn tail, cut off the file with
// a warning as never acknowledged, only if it is the last thing in the
// file (no intact record anywhere after it) and either it is cut short or
// its damage can lie in the file's final sector (its header, or the end of
// its payload, is there). Any other bad record is corruption: Open fails
// DATA_LOSS naming the offset, and changes nothing. An empty file, or one
// holding a prefix of the format's first 8 bytes (a crash while it was
// created), is a new log; any other first bytes are FAILED_PRECONDITION
// (not this format).
//
// Open fsyncs the directory after creating the file, so that its name
// survives a crash. After an I/O error (a failed write or fsync) the log
// refuses every call (FAILED_PRECONDITION): its tail is unknown, and after
// a failed fsync the kernel may have dropped the unsynced pages. Reopen it
// (restart the process) to recover what is durable.
//
// Errors carry the path. Thread-compatible: one writer, one call at a time,
// each awaited on a worker.
#ifndef ANVIL_SERVICES_KV_WRITE_AHEAD_LOG_H_
#define ANVIL_SERVICES_KV_WRITE_AHEAD_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/core/task.h"
#include "runtime/storage/file.h"

namespace anvil::kv {

class WriteAheadLog {
 public:
  struct Options {
    // fsync after every Append. Without it, records are durable only after
    // Sync() (group commit: append many, sync once).
    bool sync_each_append = true;
    // Largest record accepted (and believed on recovery).
    uint32_t max_record_bytes = 64 << 20;
  };

  // The file's first bytes, and each record's header size.
  static constexpr absl::string_view kMagic = "ANVWAL02";
  static constexpr size_t kHeaderBytes = 12;

  // Opens the log at `path`, creating it if missing, and appends its
  // records to `recovered` in order (see the file comment for torn tails
  // and corruption).
  static Task<absl::StatusOr<std::unique_ptr<WriteAheadLog>>> Open(
      std::string path, Options options, std::vector<std::string>* recovered);

  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;

  // Appends one record; durable when it returns OK, with
  // sync_each_append. INVALID_ARGUMENT if larger than max_record_bytes
  // (nothing written). On an I/O error the record may or may not be in the
  // log, and the log refuses further calls. REQUIRES: `record` outlives
  // the call (co_await it at once).
  Task<absl::Status> Append(absl::string_view record);
  // Appends several records with one write and one fsync at the end.
  Task<absl::Status> AppendBatch(const std::vector<std::string>& records);
  // Makes every appended record durable.
  Task<absl::Status> Sync();
  // Empties the log (after its contents were saved elsewhere, as in a
  // snapshot), durably.
  Task<absl::Status> Reset();

  // Bytes in the file, its first 8 included.
  uint64_t size_bytes() const { return file_.size(); }
  const std::string& path() const { return file_.path(); }

  // CRC-32C (Castagnoli) of `data`, as the format stores it.
  static uint32_t Crc32c(absl::string_view data);
  // One record as the format stores it, header included.
  static std::string Frame(absl::string_view record);

 private:
  WriteAheadLog(File file, Options options)
      : file_(std::move(file)), options_(options) {}
  // Records the first I/O error; from then on every call returns broken_.
  absl::Status Fail(const absl::Status& status);

  File file_;
  const Options options_;
  absl::Status broken_;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_WRITE_AHEAD_LOG_H_
