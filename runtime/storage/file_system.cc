#include "runtime/storage/file_system.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/actor/blocking.h"
#include "runtime/storage/sim_disk.h"

namespace anvil {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view call,
                         absl::string_view path) {
  return absl::ErrnoToStatus(error, absl::StrCat(call, " ", path));
}

// fsync of the directory `path`.
absl::Status SyncDirectoryNow(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory", path);
  absl::Status status;
  if (fsync(fd) != 0) status = ErrnoStatus(errno, "fsync directory", path);
  close(fd);
  return status;
}

}  // namespace

Task<absl::Status> RenameFile(std::string from, std::string to) {
#ifdef ANVIL_SIMULATION
  if (internal::SimDisk* disk = internal::current_sim_disk) {
    co_return co_await disk->shared_from_this()->Rename(std::move(from),
                                                        std::move(to));
  }
#endif
  co_return co_await RunBlocking([&]() -> absl::Status {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus(errno, "rename", absl::StrCat(from, " to ", to));
    }
    return absl::OkStatus();
  });
}

Task<absl::Status> RemoveFile(std::string path) {
#ifdef ANVIL_SIMULATION
  if (internal::SimDisk* disk = internal::current_sim_disk) {
    co_return co_await disk->shared_from_this()->Remove(std::move(path));
  }
#endif
  co_return co_await RunBlocking([&]() -> absl::Status {
    if (unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unlink", path);
    return absl::OkStatus();
  });
}

Task<absl::StatusOr<std::vector<std::string>>> ListDirectory(
    std::string directory) {
#ifdef ANVIL_SIMULATION
  if (internal::SimDisk* disk = internal::current_sim_disk) {
    co_return co_await disk->shared_from_this()->List(std::move(directory));
  }
#endif
  co_return co_await RunBlocking(
      [&]() -> absl::StatusOr<std::vector<std::string>> {
        DIR* dir = opendir(directory.c_str());
        if (dir == nullptr) return ErrnoStatus(errno, "opendir", directory);
        std::vector<std::string> names;
        errno = 0;
        while (dirent* entry = readdir(dir)) {
          const std::string name = entry->d_name;
          if (name != "." && name != "..") names.push_back(name);
        }
        const int error = errno;
        closedir(dir);
        if (error != 0) return ErrnoStatus(error, "readdir", directory);
        std::sort(names.begin(), names.end());
        return names;
      });
}

Task<absl::Status> SyncDirectory(std::string directory) {
#ifdef ANVIL_SIMULATION
  if (internal::SimDisk* disk = internal::current_sim_disk) {
    co_return co_await disk->shared_from_this()->SyncDirectory(
        std::move(directory));
  }
#endif
  co_return co_await RunBlocking([&] { return SyncDirectoryNow(directory); });
}

Task<absl::Status> CreateDirectories(std::string directory) {
#ifdef ANVIL_SIMULATION
  if (internal::current_sim_disk != nullptr) co_return absl::OkStatus();
#endif
  co_return co_await RunBlocking([&]() -> absl::Status {
    // Each prefix in turn, as mkdir -p.
    for (size_t at = 1; at <= directory.size(); ++at) {
      if (at != directory.size() && directory[at] != '/') continue;
      const std::string prefix = directory.substr(0, at);
      if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, "mkdir", prefix);
      }
    }
    struct stat info;
    if (stat(directory.c_str(), &info) != 0) {
      return ErrnoStatus(errno, "stat", directory);
    }
    if (!S_ISDIR(info.st_mode)) {
      return ErrnoStatus(ENOTDIR, "mkdir", directory);
    }
    return absl::OkStatus();
  });
}

FileLock::FileLock(FileLock&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1))
#ifdef ANVIL_SIMULATION
      ,
      sim_disk_(std::move(other.sim_disk_)),
      sim_generation_(other.sim_generation_),
      sim_inode_(other.sim_inode_)
#endif
{
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
#ifdef ANVIL_SIMULATION
    sim_disk_ = std::move(other.sim_disk_);
    sim_generation_ = other.sim_generation_;
    sim_inode_ = other.sim_inode_;
#endif
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

bool FileLock::held() const {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) return sim_generation_ == sim_disk_->generation();
#endif
  return fd_ >= 0;
}

void FileLock::Release() {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) {
    sim_disk_->Unlock(path_, {sim_inode_, sim_generation_});
    sim_disk_.reset();
  }
#endif
  if (fd_ >= 0) close(fd_);  // releases the flock
  fd_ = -1;
}

Task<absl::StatusOr<FileLock>> LockFile(std::string path) {
  FileLock lock;
  lock.path_ = path;
#ifdef ANVIL_SIMULATION
  if (internal::SimDisk* disk = internal::current_sim_disk) {
    std::shared_ptr<internal::SimDisk> owner = disk->shared_from_this();
    absl::StatusOr<internal::SimDisk::Handle> held = co_await owner->Lock(path);
    if (!held.ok()) co_return held.status();
    lock.sim_disk_ = std::move(owner);
    lock.sim_generation_ = held->generation;
    lock.sim_inode_ = held->inode;
    co_return lock;
  }
#endif
  absl::Status locked = co_await RunBlocking([&]() -> absl::Status {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      close(fd);
      if (error == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            absl::StrCat("lock ", path,
                         ": held by another process (or another "
                         "FileLock in this one)"));
      }
      return ErrnoStatus(error, "flock", path);
    }
    lock.fd_ = fd;
    return absl::OkStatus();
  });
  if (!locked.ok()) co_return locked;
  co_return lock;
}

}  // namespace anvil
