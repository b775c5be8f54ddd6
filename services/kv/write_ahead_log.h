// WriteAheadLog: an append-only file of records that survive a crash once
// Append (or Sync) returned OK. The durable storage of the key-value store
// (services/kv) writes every change here before applying it.
//
//   std::vector<std::string> recovered;
//   absl::StatusOr<std::unique_ptr<WriteAheadLog>> log =
//       WriteAheadLog::Open("/var/lib/kv/n1.wal", {}, &recovered);
//   for (const std::string& record : recovered) Apply(record);
//   ANVIL_RETURN_IF_ERROR((*log)->Append(Encode(change)));   // fsync'ed
//
// Format: records one after another, each [u32 length][u32 CRC-32C of the
// payload][payload], little endian. Recovery reads records in order. A
// crash can leave the last record torn (cut short, or its bytes not all
// written): that tail is cut off the file, with a warning, as never
// acknowledged. A bad record with intact data after it is not a torn write
// but corruption: Open fails with DATA_LOSS naming the offset, and changes
// nothing.
//
// Errors carry the path and errno text. Thread-compatible: one writer.
// Blocking file I/O: call it from a sync actor or a thread of its own, not
// from a worker's event loop.
#ifndef ANVIL_SERVICES_KV_WRITE_AHEAD_LOG_H_
#define ANVIL_SERVICES_KV_WRITE_AHEAD_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

  // Opens the log at `path`, creating it if missing, and appends its
  // records to `recovered` in order (see the file comment for torn tails
  // and corruption).
  static absl::StatusOr<std::unique_ptr<WriteAheadLog>> Open(
      const std::string& path, Options options,
      std::vector<std::string>* recovered);

  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;
  ~WriteAheadLog();

  // Appends one record; durable when it returns OK, with
  // sync_each_append. INVALID_ARGUMENT if larger than max_record_bytes. On
  // an I/O error the record may or may not be in the log; the log refuses
  // further appends (FAILED_PRECONDITION), as its tail is unknown.
  absl::Status Append(absl::string_view record);
  // Appends several records with one fsync at the end.
  absl::Status AppendBatch(const std::vector<std::string>& records);
  // Makes every appended record durable.
  absl::Status Sync();
  // Empties the log (after its contents were saved elsewhere, as in a
  // snapshot), durably.
  absl::Status Reset();

  // Bytes in the file.
  uint64_t size_bytes() const { return size_; }
  const std::string& path() const { return path_; }

  // CRC-32C (Castagnoli) of `data`, as the format stores it.
  static uint32_t Crc32c(absl::string_view data);

 private:
  WriteAheadLog(std::string path, Options options, int fd, uint64_t size);
  absl::Status Write(absl::string_view bytes);
  absl::Status Fail(absl::Status status);

  const std::string path_;
  const Options options_;
  int fd_;
  uint64_t size_;
  absl::Status broken_;  // set after an I/O error; then every call fails
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_WRITE_AHEAD_LOG_H_
