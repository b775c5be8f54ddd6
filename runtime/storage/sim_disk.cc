#include "runtime/storage/sim_disk.h"

#include <errno.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/buggify.h"
#include "runtime/core/clock.h"
#include "runtime/core/fnv1a.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"

namespace anvil::internal {
namespace {

absl::Status Errno(int error, absl::string_view call, absl::string_view disk,
                   absl::string_view path) {
  return absl::ErrnoToStatus(
      error, absl::StrCat(call, " ", path, " (simulated disk ", disk, ")"));
}

}  // namespace

std::string NormalizePath(absl::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string ParentDirectory(absl::string_view path) {
  const std::string normal = NormalizePath(path);
  const size_t slash = normal.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return normal.substr(0, slash);
}

SimDisk::SimDisk(std::string name, SimDiskOptions options,
                 std::mt19937_64* random, SimDiskTrace trace)
    : name_(std::move(name)),
      options_(options),
      random_(random),
      trace_(std::move(trace)) {}

bool SimDisk::Chance(double p) {
  if (random_ == nullptr || p <= 0) return false;
  return static_cast<double>((*random_)() >> 11) * 0x1.0p-53 < p;
}

uint64_t SimDisk::Draw(uint64_t below) {
  if (random_ == nullptr || below <= 1) return 0;
  return (*random_)() % below;
}

void SimDisk::Trace(const char* what, uint64_t a, uint64_t b) {
  if (trace_) trace_(what, a, b);
}

Task<> SimDisk::Wait(bool sync) {
  const int64_t min =
      Clock::ToNanos(sync ? options_.min_sync_latency : options_.min_latency);
  const int64_t max = std::max(
      min,
      Clock::ToNanos(sync ? options_.max_sync_latency : options_.max_latency));
  int64_t latency =
      min + static_cast<int64_t>(Draw(static_cast<uint64_t>(max - min) + 1));
  // Now and then a slow moment of the device (a queue behind a flush, a
  // remapped sector): 50-550 ms. At 2% of calls the kv store's leaders,
  // whose heartbeats wait behind their own fsync, lose their leadership
  // too often to serve (13 of 10,000 kv_sim_test seeds).
  if (ANVIL_BUGGIFY_WITH_PROB("storage.slow_disk", 0.005)) {
    latency += 50'000'000 + static_cast<int64_t>(Draw(500'000'000));
  }
  if (latency > 0) co_await Sleep(absl::Nanoseconds(latency));
}

absl::Status SimDisk::CheckPowered(const char* call) const {
  if (powered_) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(call, " on simulated disk ", name_,
                                             ": the machine is down"));
}

absl::Status SimDisk::CheckAlive(Handle file, const char* call) const {
  ANVIL_RETURN_IF_ERROR(CheckPowered(call));
  if (file.generation != generation_ || !inodes_.contains(file.inode)) {
    return absl::UnavailableError(
        absl::StrCat(call, " on simulated disk ", name_,
                     ": the file was opened before the machine crashed"));
  }
  return absl::OkStatus();
}

void SimDisk::ApplyWrite(std::string& data, const PendingWrite& write) {
  if (write.truncate) {
    data.resize(write.offset);
    return;
  }
  const uint64_t end = write.offset + write.data.size();
  if (data.size() < end) data.resize(end);  // a hole reads as zeros
  data.replace(write.offset, write.data.size(), write.data);
}

uint64_t SimDisk::UsedBytes() const {
  uint64_t used = 0;
  for (const auto& [id, inode] : inodes_) used += inode.data.size();
  return used;
}

void SimDisk::CommitNames(Directory& dir, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const PendingName& change = dir.pending[i];
    if (change.inode == 0) {
      dir.synced.erase(change.name);
    } else {
      dir.synced[change.name] = change.inode;
    }
    if (!change.replaces.empty()) dir.synced.erase(change.replaces);
  }
  dir.pending.clear();
}

void SimDisk::SetName(const std::string& path, uint64_t inode,
                      const std::string& replaces) {
  if (inode == 0) {
    names_.erase(path);
  } else {
    names_[path] = inode;
  }
  if (!replaces.empty()) names_.erase(replaces);
  directories_[ParentDirectory(path)].pending.push_back(
      PendingName{path, inode, replaces});
}

Task<absl::StatusOr<SimDisk::Handle>> SimDisk::Open(std::string path,
                                                    OpenOptions options) {
  co_await Wait(false);
  ANVIL_CO_RETURN_IF_ERROR(CheckPowered("open"));
  path = NormalizePath(path);
  Trace("disk.open", Fnv1a(path),
        (options.create ? 1 : 0) | (options.exclusive ? 2 : 0) |
            (options.truncate ? 4 : 0));
  auto it = names_.find(path);
  uint64_t id = 0;
  if (it == names_.end()) {
    if (!options.create) co_return Errno(ENOENT, "open", name_, path);
    id = next_inode_++;
    inodes_[id];
    SetName(path, id);
  } else {
    if (options.create && options.exclusive) {
      co_return Errno(EEXIST, "open", name_, path);
    }
    id = it->second;
  }
  Inode& inode = inodes_[id];
  if (options.truncate && !inode.data.empty()) {
    PendingWrite cut{.truncate = true, .offset = 0};
    ApplyWrite(inode.data, cut);
    inode.pending.push_back(std::move(cut));
  }
  co_return Handle{id, generation_};
}

absl::StatusOr<uint64_t> SimDisk::Size(Handle file) const {
  if (absl::Status alive = CheckAlive(file, "size"); !alive.ok()) {
    return alive;
  }
  return inodes_.at(file.inode).data.size();
}

Task<absl::StatusOr<std::string>> SimDisk::Read(Handle file, uint64_t offset,
                                                size_t length) {
  co_await Wait(false);
  if (absl::Status alive = CheckAlive(file, "read"); !alive.ok()) {
    co_return alive;
  }
  ++stats_.reads;
  Inode& inode = inodes_.at(file.inode);
  std::string out;
  if (offset < inode.data.size()) {
    out = inode.data.substr(offset, length);
  }
  if (!out.empty() && Chance(options_.read_corruption)) {
    // A latent sector error: the bit is wrong on the medium, so every
    // later read sees it too.
    const uint64_t at = Draw(out.size());
    const char bit = static_cast<char>(1 << Draw(8));
    out[at] ^= bit;
    inode.data[offset + at] ^= bit;
    if (offset + at < inode.synced.size()) inode.synced[offset + at] ^= bit;
    ++stats_.corrupted_reads;
    Trace("disk.corrupt", file.inode, offset + at);
  }
  Trace("disk.read", file.inode ^ (offset << 20), Fnv1a(out));
  co_return out;
}

Task<absl::Status> SimDisk::Write(Handle file, uint64_t offset,
                                  std::string data) {
  co_await Wait(false);
  if (absl::Status alive = CheckAlive(file, "write"); !alive.ok()) {
    co_return alive;
  }
  ++stats_.writes;
  Trace("disk.write", file.inode ^ (offset << 20), Fnv1a(data));
  if (Chance(options_.write_error)) {
    ++stats_.write_errors;
    co_return Errno(EIO, "write", name_, absl::StrCat("inode ", file.inode));
  }
  Inode& inode = inodes_.at(file.inode);
  const uint64_t end = offset + data.size();
  if (end > inode.data.size() &&
      UsedBytes() + (end - inode.data.size()) > options_.capacity_bytes) {
    ++stats_.no_space;
    co_return Errno(ENOSPC, "write", name_, absl::StrCat("inode ", file.inode));
  }
  if (Chance(options_.misdirected_write)) {
    offset = offset >= kSectorBytes && Draw(2) == 0 ? offset - kSectorBytes
                                                    : offset + kSectorBytes;
    ++stats_.misdirected_writes;
    Trace("disk.misdirect", file.inode, offset);
  }
  PendingWrite write{
      .truncate = false, .offset = offset, .data = std::move(data)};
  ApplyWrite(inode.data, write);
  inode.pending.push_back(std::move(write));
  co_return absl::OkStatus();
}

Task<absl::Status> SimDisk::Truncate(Handle file, uint64_t size) {
  co_await Wait(false);
  if (absl::Status alive = CheckAlive(file, "truncate"); !alive.ok()) {
    co_return alive;
  }
  Trace("disk.truncate", file.inode, size);
  Inode& inode = inodes_.at(file.inode);
  PendingWrite cut{.truncate = true, .offset = size};
  ApplyWrite(inode.data, cut);
  inode.pending.push_back(std::move(cut));
  co_return absl::OkStatus();
}

Task<absl::Status> SimDisk::Sync(Handle file) {
  co_await Wait(true);
  if (absl::Status alive = CheckAlive(file, "sync"); !alive.ok()) {
    co_return alive;
  }
  ++stats_.syncs;
  Inode& inode = inodes_.at(file.inode);
  Trace("disk.sync", file.inode, inode.pending.size());
  if (!inode.pending.empty() && Chance(options_.sync_error)) {
    // Linux drops dirty pages it failed to write back: what was not on the
    // disk is gone.
    ++stats_.sync_errors;
    stats_.lost_writes += inode.pending.size();
    inode.data = inode.synced;
    inode.pending.clear();
    co_return Errno(EIO, "fsync", name_, absl::StrCat("inode ", file.inode));
  }
  inode.synced = inode.data;
  inode.pending.clear();
  co_return absl::OkStatus();
}

Task<absl::Status> SimDisk::Rename(std::string from, std::string to) {
  co_await Wait(false);
  ANVIL_CO_RETURN_IF_ERROR(CheckPowered("rename"));
  from = NormalizePath(from);
  to = NormalizePath(to);
  Trace("disk.rename", Fnv1a(from), Fnv1a(to));
  auto it = names_.find(from);
  if (it == names_.end()) co_return Errno(ENOENT, "rename", name_, from);
  const uint64_t inode = it->second;
  if (from == to) co_return absl::OkStatus();
  if (ParentDirectory(from) == ParentDirectory(to)) {
    SetName(to, inode, /*replaces=*/from);  // atomic in one directory
  } else {
    SetName(to, inode);
    SetName(from, 0);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> SimDisk::Remove(std::string path) {
  co_await Wait(false);
  ANVIL_CO_RETURN_IF_ERROR(CheckPowered("unlink"));
  path = NormalizePath(path);
  Trace("disk.remove", Fnv1a(path));
  if (!names_.contains(path)) co_return Errno(ENOENT, "unlink", name_, path);
  SetName(path, 0);
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::vector<std::string>>> SimDisk::List(
    std::string directory) {
  co_await Wait(false);
  ANVIL_CO_RETURN_IF_ERROR(CheckPowered("opendir"));
  directory = NormalizePath(directory);
  Trace("disk.list", Fnv1a(directory));
  const std::string prefix = directory == "/" ? "/" : directory + "/";
  std::vector<std::string> entries;
  for (const auto& [path, inode] : names_) {
    if (!path.starts_with(prefix)) continue;
    std::string rest = path.substr(prefix.size());
    rest = rest.substr(0, rest.find('/'));  // a file, or a subdirectory
    if (entries.empty() || entries.back() != rest) entries.push_back(rest);
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  co_return entries;
}

Task<absl::Status> SimDisk::SyncDirectory(std::string directory) {
  co_await Wait(true);
  ANVIL_CO_RETURN_IF_ERROR(CheckPowered("fsync"));
  directory = NormalizePath(directory);
  Directory& dir = directories_[directory];
  Trace("disk.syncdir", Fnv1a(directory), dir.pending.size());
  if (!dir.pending.empty() && Chance(options_.sync_error)) {
    ++stats_.sync_errors;
    co_return Errno(EIO, "fsync", name_, directory);
  }
  CommitNames(dir, dir.pending.size());
  co_return absl::OkStatus();
}

Task<absl::StatusOr<SimDisk::Handle>> SimDisk::Lock(std::string path) {
  absl::StatusOr<Handle> file =
      co_await Open(path, OpenOptions{.create = true});
  if (!file.ok()) co_return file.status();
  path = NormalizePath(path);
  Trace("disk.lock", Fnv1a(path));
  auto [it, taken] = locks_.try_emplace(path, generation_);
  if (!taken) {
    co_return absl::FailedPreconditionError(
        absl::StrCat("lock ", path, " (simulated disk ", name_,
                     "): held by another process"));
  }
  co_return *file;
}

void SimDisk::Unlock(const std::string& path, Handle lock) {
  auto it = locks_.find(NormalizePath(path));
  if (it != locks_.end() && it->second == lock.generation &&
      lock.generation == generation_) {
    locks_.erase(it);
  }
}

void SimDisk::PowerOn() {
  powered_ = true;
  Trace("disk.power_on", generation_);
}

void SimDisk::Crash() {
  powered_ = false;
  ++generation_;
  ++stats_.crashes;
  locks_.clear();
  Trace("disk.crash", generation_);
  // Each directory keeps its synced names and a prefix of the changes since.
  names_.clear();
  for (auto& [path, dir] : directories_) {
    CommitNames(dir, Draw(dir.pending.size() + 1));
    for (const auto& [name, inode] : dir.synced) names_[name] = inode;
  }
  // Files nobody names are gone; the others keep their synced bytes and a
  // prefix of the writes since, the last one of it perhaps torn.
  std::map<uint64_t, bool> named;
  for (const auto& [name, inode] : names_) named[inode] = true;
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    if (!named.contains(it->first)) {
      it = inodes_.erase(it);
      continue;
    }
    Inode& inode = it->second;
    const uint64_t keep = Draw(inode.pending.size() + 1);
    std::string data = inode.synced;
    for (uint64_t i = 0; i < keep; ++i) ApplyWrite(data, inode.pending[i]);
    if (keep < inode.pending.size() && options_.torn_writes && Draw(2) == 0 &&
        !inode.pending[keep].truncate && !inode.pending[keep].data.empty()) {
      // The write was under way: some of its sectors reached the disk, the
      // last of them only partly, the rest of that sector garbage.
      PendingWrite part = inode.pending[keep];
      const uint64_t cut = 1 + Draw(part.data.size());
      part.data.resize(cut);
      const uint64_t end = part.offset + cut;
      const uint64_t sector =
          std::max(part.offset, (end - 1) / kSectorBytes * kSectorBytes);
      for (uint64_t at = sector; at < end; ++at) {
        part.data[at - part.offset] = static_cast<char>(Draw(256));
      }
      ApplyWrite(data, part);
      ++stats_.torn_writes;
      Trace("disk.torn", it->first, end);
    }
    stats_.lost_writes += inode.pending.size() - keep;
    inode.synced = data;
    inode.data = std::move(data);
    inode.pending.clear();
    ++it;
  }
}

std::optional<std::string> SimDisk::Contents(const std::string& path) const {
  auto it = names_.find(NormalizePath(path));
  if (it == names_.end()) return std::nullopt;
  return inodes_.at(it->second).data;
}

std::optional<std::string> SimDisk::SyncedContents(
    const std::string& path) const {
  const std::string normal = NormalizePath(path);
  auto dir = directories_.find(ParentDirectory(normal));
  if (dir == directories_.end()) return std::nullopt;
  auto it = dir->second.synced.find(normal);
  if (it == dir->second.synced.end()) return std::nullopt;
  return inodes_.at(it->second).synced;
}

bool SimDisk::Corrupt(const std::string& path, uint64_t offset,
                      absl::string_view bytes) {
  auto it = names_.find(NormalizePath(path));
  if (it == names_.end()) return false;
  Inode& inode = inodes_.at(it->second);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (offset + i < inode.data.size()) inode.data[offset + i] = bytes[i];
    if (offset + i < inode.synced.size()) inode.synced[offset + i] = bytes[i];
  }
  return true;
}

}  // namespace anvil::internal
