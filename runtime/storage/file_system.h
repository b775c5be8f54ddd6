// The file system's names on the storage seam: create, rename, remove and
// list entries, make directory changes durable, and lock a path against a
// second process. Each call is awaited on a worker; see file.h for where
// it runs (POSIX in production, the node's simulated disk in a Simulation)
// and for what is durable when.
//
//   ANVIL_CO_RETURN_IF_ERROR(co_await anvil::CreateDirectories(dir));
//   absl::StatusOr<anvil::FileLock> lock =
//       co_await anvil::LockFile(dir + "/LOCK");   // one process per dir
//   if (!lock.ok()) co_return lock.status();     // FAILED_PRECONDITION
//   // Replace a file atomically:
//   ... write and Sync() dir + "/state.tmp" ...
//   ANVIL_CO_RETURN_IF_ERROR(
//       co_await anvil::RenameFile(dir + "/state.tmp", dir + "/state"));
//   ANVIL_CO_RETURN_IF_ERROR(co_await anvil::SyncDirectory(dir));
//
// Errors are absl::ErrnoToStatus codes naming the call and path (NOT_FOUND
// for a missing name). Thread-safe: the calls share no state of their own.
#ifndef ANVIL_RUNTIME_STORAGE_FILE_SYSTEM_H_
#define ANVIL_RUNTIME_STORAGE_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/clock.h"  // ANVIL_SIMULATION
#include "runtime/core/task.h"

namespace anvil {
namespace internal {
class SimDisk;
}  // namespace internal

// Renames `from` to `to`, replacing `to` atomically if it exists. Durable
// after SyncDirectory of both directories.
Task<absl::Status> RenameFile(std::string from, std::string to);
// Removes the name `path`; open handles keep working.
Task<absl::Status> RemoveFile(std::string path);
// The names in `directory` (files and subdirectories), sorted, without "."
// and "..".
Task<absl::StatusOr<std::vector<std::string>>> ListDirectory(
    std::string directory);
// Makes the creations, renames and removals in `directory` durable (fsync
// of the directory).
Task<absl::Status> SyncDirectory(std::string directory);
// Creates `directory` and its missing parents (mode 0755); OK if it exists.
// On a simulated disk directories exist implicitly and this does nothing.
Task<absl::Status> CreateDirectories(std::string directory);

// An exclusive lock on a path, held until destroyed (or the process dies):
// a second LockFile of the same path, from this process or another, fails
// FAILED_PRECONDITION while it is held. Production: flock(2) on the file,
// created if missing. Move-only.
class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  const std::string& path() const { return path_; }
  bool held() const;

 private:
  friend Task<absl::StatusOr<FileLock>> LockFile(std::string path);
  void Release();

  std::string path_;
  int fd_ = -1;
#ifdef ANVIL_SIMULATION
  std::shared_ptr<internal::SimDisk> sim_disk_;
  uint64_t sim_generation_ = 0;
  uint64_t sim_inode_ = 0;
#endif
};

// Locks `path` (see FileLock). FAILED_PRECONDITION naming the path if
// another holder has it.
Task<absl::StatusOr<FileLock>> LockFile(std::string path);

}  // namespace anvil

#endif  // ANVIL_RUNTIME_STORAGE_FILE_SYSTEM_H_
