// SimDisk: the simulated disk of one simulated machine, what File and the
// file-system functions (file.h, file_system.h) run on in the simulation
// build while a Simulation runs (testing/sim). Internal to runtime/storage;
// users keep writing File::Open and SyncDirectory, and tests reach a node's
// disk through SimCluster::disk(name).
//
//   auto disk = std::make_shared<internal::SimDisk>(
//       "n1", internal::SimDiskOptions{.sync_error = 0.01}, &random, trace);
//   internal::current_sim_disk = disk.get();  // while running n1's worker
//   ...
//   disk->Crash();                            // the machine loses power
//
// A File opened on it keeps it alive (shared_ptr): make it with
// std::make_shared.
//
// The model is Linux's page cache over a disk:
//   - Reads see every completed write at once (the page cache). A write is
//     volatile until Sync of its file; creating, renaming or removing a name
//     is volatile until SyncDirectory of its directory.
//   - Crash() keeps, for each file, its synced content plus a prefix, drawn
//     from the seed, of the writes made since (the last one of that prefix
//     possibly cut short, its final sector torn: filled with garbage), and,
//     for each directory, its synced names plus a prefix of the name changes
//     since. Files whose names are gone are gone. Handles and locks from
//     before the crash are dead: every call on them fails UNAVAILABLE (the
//     process that held them died with the machine), and so does every
//     call until PowerOn().
//   - Faults, each switchable in SimDiskOptions and drawn from the seed:
//     latency of every call; EIO on a write (nothing written); EIO on a
//     sync, after which the file's unsynced writes are gone (what Linux
//     does with dirty pages it failed to write back); ENOSPC past the
//     capacity; a bit flipped in the stored data a read returns (latent
//     corruption: it stays flipped); a misdirected write, landing one
//     sector away from where it was aimed.
//   - Directories exist implicitly: every path has a parent directory
//     whether or not it was created. Paths are compared as strings after
//     removing duplicate and trailing slashes.
// Every call, its arguments and a digest of the bytes moved go to `trace`,
// so two runs of a seed do the same disk operations byte for byte.
//
// Threading: the simulation drives every worker from one thread, so the
// disk takes no locks. A call's latency is a timer on the worker that
// awaits it.
#ifndef ANVIL_RUNTIME_STORAGE_SIM_DISK_H_
#define ANVIL_RUNTIME_STORAGE_SIM_DISK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/core/task.h"

namespace anvil::internal {

// What a simulated disk does besides storing bytes. Probabilities are per
// call; 0 turns the fault off.
struct SimDiskOptions {
  // Behaviour.
  // Each call takes a latency drawn uniformly from [min, max]; a sync
  // takes its own.
  absl::Duration min_latency = absl::ZeroDuration();
  absl::Duration max_latency = absl::ZeroDuration();
  absl::Duration min_sync_latency = absl::ZeroDuration();
  absl::Duration max_sync_latency = absl::ZeroDuration();
  // EIO on a write; nothing of it is written.
  double write_error = 0;
  // EIO on a sync; the file's unsynced writes are lost.
  double sync_error = 0;
  // A read returns (and the disk keeps) one flipped bit.
  double read_corruption = 0;
  // A write lands one sector before or after its offset.
  double misdirected_write = 0;
  // Bytes the disk holds (in the page cache) before writes fail ENOSPC.
  uint64_t capacity_bytes = UINT64_MAX;
  // Whether Crash() may tear the last write it keeps.
  bool torn_writes = true;
};

// Event sink: (what, a, b), e.g. ("disk.write", path digest, data digest).
using SimDiskTrace =
    std::function<void(const char* what, uint64_t a, uint64_t b)>;

class SimDisk : public std::enable_shared_from_this<SimDisk> {
 public:
  // An open file: which inode, opened in which incarnation of the machine.
  struct Handle {
    uint64_t inode = 0;
    uint64_t generation = 0;
  };
  struct OpenOptions {
    bool create = false;
    bool exclusive = false;  // with create: ALREADY_EXISTS if it exists
    bool truncate = false;
  };

  // `random` and `trace` may be null; neither is owned, both must outlive
  // the disk's calls. Without `random` no fault fires and every latency is
  // its minimum.
  SimDisk(std::string name, SimDiskOptions options,
          std::mt19937_64* random = nullptr, SimDiskTrace trace = {});
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  const std::string& name() const { return name_; }
  // Forgets `random` and `trace` (their owner is going away): from here no
  // fault fires, every latency is its minimum and nothing is traced.
  void Detach() {
    random_ = nullptr;
    trace_ = nullptr;
  }
  const SimDiskOptions& options() const { return options_; }
  void set_options(const SimDiskOptions& options) { options_ = options; }

  // The file calls (file.h, file_system.h say what each does). Each waits
  // its latency first, then acts; errors as POSIX would give them.
  Task<absl::StatusOr<Handle>> Open(std::string path, OpenOptions options);
  Task<absl::StatusOr<std::string>> Read(Handle file, uint64_t offset,
                                         size_t length);
  Task<absl::Status> Write(Handle file, uint64_t offset, std::string data);
  Task<absl::Status> Sync(Handle file);
  Task<absl::Status> Truncate(Handle file, uint64_t size);
  absl::StatusOr<uint64_t> Size(Handle file) const;
  Task<absl::Status> Rename(std::string from, std::string to);
  Task<absl::Status> Remove(std::string path);
  Task<absl::StatusOr<std::vector<std::string>>> List(std::string directory);
  Task<absl::Status> SyncDirectory(std::string directory);
  // Takes the lock on `path` (creating the file); FAILED_PRECONDITION if it
  // is held. Unlock gives it back; a crash frees every lock.
  Task<absl::StatusOr<Handle>> Lock(std::string path);
  void Unlock(const std::string& path, Handle lock);

  // The machine loses power (see the file comment; draws from `random`),
  // and stays off until PowerOn: meanwhile every call fails UNAVAILABLE,
  // so nothing the dead process still runs reaches the disk.
  void Crash();
  void PowerOn();
  bool powered() const { return powered_; }
  // How many times it crashed: handles from an earlier incarnation are dead.
  uint64_t generation() const { return generation_; }

  // For tests: what a read of `path` sees now (the page cache), and what a
  // crash now would keep at the least (synced names and content). Nullopt
  // if there is no such file.
  std::optional<std::string> Contents(const std::string& path) const;
  std::optional<std::string> SyncedContents(const std::string& path) const;
  // Overwrites `path`'s bytes at `offset`, in the cache and on the disk, as
  // a corruption would (the file must exist; false otherwise).
  bool Corrupt(const std::string& path, uint64_t offset,
               absl::string_view bytes);

  struct Stats {
    uint64_t reads = 0, writes = 0, syncs = 0, crashes = 0;
    uint64_t write_errors = 0, sync_errors = 0, no_space = 0;
    uint64_t corrupted_reads = 0, misdirected_writes = 0, torn_writes = 0;
    uint64_t lost_writes = 0;  // unsynced writes a crash or failed sync lost
  };
  const Stats& stats() const { return stats_; }

  static constexpr size_t kSectorBytes = 512;

 private:
  // One unsynced change to a file's bytes.
  struct PendingWrite {
    bool truncate = false;
    uint64_t offset = 0;  // write: where; truncate: the new size
    std::string data;
  };
  struct Inode {
    std::string data;                   // what reads see
    std::string synced;                 // what is on the disk
    std::vector<PendingWrite> pending;  // applied to `data`, not `synced`
  };
  // One unsynced change to a directory: `name` now points to `inode`
  // (0: removed), and, for a rename within the directory, `replaces` is
  // gone in the same step.
  struct PendingName {
    std::string name;
    uint64_t inode = 0;
    std::string replaces;
  };
  struct Directory {
    std::map<std::string, uint64_t> synced;  // name -> inode on the disk
    std::vector<PendingName> pending;
  };

  Task<> Wait(bool sync);
  bool Chance(double p);
  uint64_t Draw(uint64_t below);
  void Trace(const char* what, uint64_t a = 0, uint64_t b = 0);
  // UNAVAILABLE while the machine is off, or if `file` is from an earlier
  // incarnation.
  absl::Status CheckPowered(const char* call) const;
  absl::Status CheckAlive(Handle file, const char* call) const;
  // The name change `path` -> `inode` (0: removed; `replaces`: a name in
  // the same directory removed in the same step), volatile until its
  // directory is synced.
  void SetName(const std::string& path, uint64_t inode,
               const std::string& replaces = "");
  // Puts the first `count` pending changes of `dir` on the disk and drops
  // the rest.
  static void CommitNames(Directory& dir, size_t count);
  uint64_t UsedBytes() const;
  static void ApplyWrite(std::string& data, const PendingWrite& write);

  const std::string name_;
  SimDiskOptions options_;
  std::mt19937_64* random_;
  SimDiskTrace trace_;
  uint64_t generation_ = 1;
  bool powered_ = true;
  uint64_t next_inode_ = 1;
  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> names_;  // what lookups see
  std::map<std::string, Directory> directories_;
  std::map<std::string, uint64_t> locks_;  // path -> generation that holds it
  Stats stats_;
};

// The disk of the simulated machine whose worker the simulator is running
// (set by testing/sim); null otherwise, and then files are real.
inline thread_local SimDisk* current_sim_disk = nullptr;

// Normalizes `path` (duplicate and trailing slashes), and its directory.
std::string NormalizePath(absl::string_view path);
std::string ParentDirectory(absl::string_view path);

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_STORAGE_SIM_DISK_H_
