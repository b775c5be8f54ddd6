// File: an open file on the storage seam, read and written by coroutines on
// a worker. Services that keep data (the kv store's write-ahead log) use
// this and the functions of file_system.h, never POSIX directly, so that the
// simulation can crash the machine under them.
//
//   absl::StatusOr<anvil::File> log = co_await anvil::File::Open(
//       "/var/lib/kv/n1.wal", {.create = true});
//   if (!log.ok()) co_return log.status();
//   ANVIL_CO_RETURN_IF_ERROR(co_await log->Append(record));
//   ANVIL_CO_RETURN_IF_ERROR(co_await log->Sync());   // durable from here
//   ANVIL_CO_RETURN_IF_ERROR(co_await anvil::SyncDirectory("/var/lib/kv"));
//
// Durability is POSIX's: a write is in the page cache when its call
// returns, and survives a machine crash only after Sync() (fdatasync). A
// new file's name survives only after SyncDirectory of its directory.
// After a failed Sync, assume every write since the last good Sync is lost
// (Linux drops those pages); do not retry it and carry on.
//
// Where it runs, chosen by the build:
//   - Production: POSIX calls (pread, pwrite, fdatasync, ftruncate), each run
//     with RunBlocking, so the worker serves other actors while the kernel
//     blocks. Errors are absl::ErrnoToStatus codes naming the call and path
//     ("pwrite /var/lib/kv/n1.wal: No space left on device").
//   - The simulation build, while a Simulation runs: the simulated disk of
//     the node whose worker opens the file (sim_disk.h), which models the
//     page cache, crashes that lose unsynced writes, latency and faults.
//     Outside a running Simulation the files are real.
//
// Thread-compatible: a File is used by one actor at a time, one call at a
// time; await each call before the next. Move-only; destruction closes it.
#ifndef ANVIL_RUNTIME_STORAGE_FILE_H_
#define ANVIL_RUNTIME_STORAGE_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/core/clock.h"  // ANVIL_SIMULATION
#include "runtime/core/task.h"

namespace anvil {
namespace internal {
class SimDisk;
}  // namespace internal

struct FileOpenOptions {
  // Create the file if it does not exist (mode 0644).
  bool create = false;
  // With create: fail ALREADY_EXISTS if it exists.
  bool exclusive = false;
  // Empty the file on open.
  bool truncate = false;
};

class File {
 public:
  // Opens `path` for reading and writing. NOT_FOUND if it does not exist
  // and `options.create` is false; other errors as errno says.
  static Task<absl::StatusOr<File>> Open(std::string path,
                                         FileOpenOptions options = {});

  File() = default;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  // Up to `length` bytes from `offset` (fewer at the end of the file, none
  // past it).
  Task<absl::StatusOr<std::string>> Read(uint64_t offset, size_t length);
  // The whole file.
  Task<absl::StatusOr<std::string>> ReadAll();
  // Writes `data` at `offset` (extending the file if it ends there or
  // before; a gap reads as zeros). On error, some of `data` may have been
  // written. REQUIRES: `data` outlives the call (co_await it at once).
  Task<absl::Status> Write(uint64_t offset, absl::string_view data);
  // Writes `data` at the end: size() as this handle knows it (one writer
  // per file). REQUIRES: as Write.
  Task<absl::Status> Append(absl::string_view data);
  // Makes every write so far durable (fdatasync).
  Task<absl::Status> Sync();
  // Cuts (or extends with zeros) the file to `size` bytes.
  Task<absl::Status> Truncate(uint64_t size);

  // The file's size as this handle knows it: at open, then as its own
  // writes and truncations changed it.
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  bool is_open() const;

 private:
  std::string path_;
  uint64_t size_ = 0;
  int fd_ = -1;
#ifdef ANVIL_SIMULATION
  // Set when the file is on a simulated disk (then fd_ is -1).
  std::shared_ptr<internal::SimDisk> sim_disk_;
  uint64_t sim_inode_ = 0;
  uint64_t sim_generation_ = 0;
#endif
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_STORAGE_FILE_H_
