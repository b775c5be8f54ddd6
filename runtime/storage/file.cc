#include "runtime/storage/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/actor/blocking.h"
#include "runtime/core/status_macros.h"
#include "runtime/storage/sim_disk.h"

namespace anvil {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view call,
                         absl::string_view path) {
  return absl::ErrnoToStatus(error, absl::StrCat(call, " ", path));
}

}  // namespace

File::File(File&& other) noexcept
    : path_(std::move(other.path_)),
      size_(other.size_),
      fd_(std::exchange(other.fd_, -1))
#ifdef ANVIL_SIMULATION
      ,
      sim_disk_(std::move(other.sim_disk_)),
      sim_inode_(other.sim_inode_),
      sim_generation_(other.sim_generation_)
#endif
{
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    size_ = other.size_;
    fd_ = std::exchange(other.fd_, -1);
#ifdef ANVIL_SIMULATION
    sim_disk_ = std::move(other.sim_disk_);
    sim_inode_ = other.sim_inode_;
    sim_generation_ = other.sim_generation_;
#endif
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) close(fd_);
}

bool File::is_open() const {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) return true;
#endif
  return fd_ >= 0;
}

Task<absl::StatusOr<File>> File::Open(std::string path,
                                      FileOpenOptions options) {
  File file;
  file.path_ = path;
#ifdef ANVIL_SIMULATION
  if (internal::SimDisk* disk = internal::current_sim_disk) {
    std::shared_ptr<internal::SimDisk> owner = disk->shared_from_this();
    ANVIL_CO_ASSIGN_OR_RETURN(
        internal::SimDisk::Handle handle,
        co_await owner->Open(path, {.create = options.create,
                                    .exclusive = options.exclusive,
                                    .truncate = options.truncate}));
    ANVIL_CO_ASSIGN_OR_RETURN(file.size_, owner->Size(handle));
    file.sim_disk_ = std::move(owner);
    file.sim_inode_ = handle.inode;
    file.sim_generation_ = handle.generation;
    co_return file;
  }
#endif
  int flags = O_RDWR | O_CLOEXEC;
  if (options.create) flags |= O_CREAT;
  if (options.create && options.exclusive) flags |= O_EXCL;
  if (options.truncate) flags |= O_TRUNC;
  absl::Status opened = co_await RunBlocking([&]() -> absl::Status {
    const int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    struct stat info;
    if (fstat(fd, &info) != 0) {
      const int error = errno;
      close(fd);
      return ErrnoStatus(error, "fstat", path);
    }
    file.fd_ = fd;
    file.size_ = static_cast<uint64_t>(info.st_size);
    return absl::OkStatus();
  });
  if (!opened.ok()) co_return opened;
  co_return file;
}

Task<absl::StatusOr<std::string>> File::Read(uint64_t offset, size_t length) {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) {
    co_return co_await sim_disk_->Read({sim_inode_, sim_generation_}, offset,
                                       length);
  }
#endif
  co_return co_await RunBlocking([&]() -> absl::StatusOr<std::string> {
    std::string out(length, '\0');
    size_t done = 0;
    while (done < length) {
      const ssize_t n = pread(fd_, out.data() + done, length - done,
                              static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pread", path_);
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    out.resize(done);
    return out;
  });
}

Task<absl::StatusOr<std::string>> File::ReadAll() {
  std::string contents;
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    ANVIL_CO_ASSIGN_OR_RETURN(std::string chunk,
                              co_await Read(contents.size(), kChunk));
    contents += chunk;
    if (chunk.size() < kChunk) co_return contents;
  }
}

Task<absl::Status> File::Write(uint64_t offset, absl::string_view data) {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) {
    absl::Status written = co_await sim_disk_->Write(
        {sim_inode_, sim_generation_}, offset, std::string(data));
    if (written.ok()) size_ = std::max<uint64_t>(size_, offset + data.size());
    co_return written;
  }
#endif
  absl::Status written = co_await RunBlocking([&]() -> absl::Status {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = pwrite(fd_, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pwrite", path_);
      }
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  });
  if (written.ok()) size_ = std::max<uint64_t>(size_, offset + data.size());
  co_return written;
}

Task<absl::Status> File::Append(absl::string_view data) {
  return Write(size_, data);
}

Task<absl::Status> File::Sync() {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) {
    co_return co_await sim_disk_->Sync({sim_inode_, sim_generation_});
  }
#endif
  co_return co_await RunBlocking([&]() -> absl::Status {
    if (fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync", path_);
    return absl::OkStatus();
  });
}

Task<absl::Status> File::Truncate(uint64_t size) {
#ifdef ANVIL_SIMULATION
  if (sim_disk_ != nullptr) {
    absl::Status cut =
        co_await sim_disk_->Truncate({sim_inode_, sim_generation_}, size);
    if (cut.ok()) size_ = size;
    co_return cut;
  }
#endif
  absl::Status cut = co_await RunBlocking([&]() -> absl::Status {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus(errno, "ftruncate", path_);
    }
    return absl::OkStatus();
  });
  if (cut.ok()) size_ = size;
  co_return cut;
}

}  // namespace anvil
