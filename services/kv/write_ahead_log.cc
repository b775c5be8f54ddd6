#include "services/kv/write_ahead_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/log.h"

namespace anvil::kv {
namespace {

constexpr size_t kHeaderBytes = 8;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  const int error = errno;
  return absl::Status(
      error == ENOENT ? absl::StatusCode::kNotFound
                      : absl::StatusCode::kInternal,
      absl::StrCat("wal ", path, ": ", what, ": ", std::strerror(error)));
}

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

// Reads the whole file at `fd`.
absl::StatusOr<std::string> ReadAll(int fd, const std::string& path) {
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path);
    }
    if (n == 0) return contents;
    contents.append(buffer, static_cast<size_t>(n));
  }
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

absl::StatusOr<std::unique_ptr<WriteAheadLog>> WriteAheadLog::Open(
    const std::string& path, Options options,
    std::vector<std::string>* recovered) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("open", path);
  absl::StatusOr<std::string> contents = ReadAll(fd, path);
  if (!contents.ok()) {
    close(fd);
    return contents.status();
  }
  // Parse; `valid` is the end of the last good record.
  std::vector<std::string> records;
  size_t offset = 0;
  size_t valid = 0;
  while (offset < contents->size()) {
    const size_t left = contents->size() - offset;
    if (left < kHeaderBytes) break;  // torn header
    const uint32_t length = GetU32(contents->data() + offset);
    const uint32_t crc = GetU32(contents->data() + offset + 4);
    if (length > options.max_record_bytes || length > left - kHeaderBytes) {
      break;  // torn (or garbage) tail
    }
    const absl::string_view payload(contents->data() + offset + kHeaderBytes,
                                    length);
    const size_t end = offset + kHeaderBytes + length;
    if (Crc32c(payload) != crc) {
      if (end < contents->size()) {
        close(fd);
        return absl::DataLossError(absl::StrCat(
            "wal ", path, ": record at offset ", offset, " (", length,
            " bytes) fails its checksum and ", contents->size() - end,
            " bytes follow it: the log is corrupt, not torn"));
      }
      break;  // the last record, partly written
    }
    records.emplace_back(payload);
    offset = end;
    valid = end;
  }
  if (valid < contents->size()) {
    Log().warn("wal {}: dropping a torn tail of {} bytes at offset {}", path,
               contents->size() - valid, valid);
    if (ftruncate(fd, static_cast<off_t>(valid)) != 0 || fsync(fd) != 0) {
      absl::Status error = ErrnoError("truncate torn tail", path);
      close(fd);
      return error;
    }
  }
  if (lseek(fd, static_cast<off_t>(valid), SEEK_SET) < 0) {
    absl::Status error = ErrnoError("seek", path);
    close(fd);
    return error;
  }
  for (std::string& record : records) recovered->push_back(std::move(record));
  return std::unique_ptr<WriteAheadLog>(
      new WriteAheadLog(path, options, fd, valid));
}

WriteAheadLog::WriteAheadLog(std::string path, Options options, int fd,
                             uint64_t size)
    : path_(std::move(path)), options_(options), fd_(fd), size_(size) {}

WriteAheadLog::~WriteAheadLog() { close(fd_); }

absl::Status WriteAheadLog::Fail(absl::Status status) {
  broken_ = absl::FailedPreconditionError(absl::StrCat(
      "wal ", path_, " refuses writes after an error: ", status.message()));
  return status;
}

absl::Status WriteAheadLog::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError("write", path_));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteAheadLog::AppendBatch(
    const std::vector<std::string>& records) {
  if (!broken_.ok()) return broken_;
  std::string bytes;
  for (const std::string& record : records) {
    if (record.size() > options_.max_record_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "wal ", path_, ": a record of ", record.size(),
          " bytes is larger than the limit of ", options_.max_record_bytes));
    }
    char header[kHeaderBytes];
    PutU32(static_cast<uint32_t>(record.size()), header);
    PutU32(Crc32c(record), header + 4);
    bytes.append(header, kHeaderBytes);
    bytes.append(record);
  }
  if (absl::Status written = Write(bytes); !written.ok()) return written;
  return options_.sync_each_append ? Sync() : absl::OkStatus();
}

absl::Status WriteAheadLog::Append(absl::string_view record) {
  return AppendBatch({std::string(record)});
}

absl::Status WriteAheadLog::Sync() {
  if (!broken_.ok()) return broken_;
  if (fdatasync(fd_) != 0) return Fail(ErrnoError("fdatasync", path_));
  return absl::OkStatus();
}

absl::Status WriteAheadLog::Reset() {
  if (!broken_.ok()) return broken_;
  if (ftruncate(fd_, 0) != 0) return Fail(ErrnoError("truncate", path_));
  if (lseek(fd_, 0, SEEK_SET) < 0) return Fail(ErrnoError("seek", path_));
  size_ = 0;
  if (fsync(fd_) != 0) return Fail(ErrnoError("fsync", path_));
  return absl::OkStatus();
}

}  // namespace anvil::kv
