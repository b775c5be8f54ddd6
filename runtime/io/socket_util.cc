#include "runtime/io/socket_util.h"

#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace anvil::internal {

absl::StatusOr<int> OpenSocket(int family, int type) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  return fd;
}

absl::Status SetIntOption(int fd, int level, int option, int value,
                          absl::string_view what) {
  if (::setsockopt(fd, level, option, &value, sizeof(value)) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setsockopt ", what));
  }
  return absl::OkStatus();
}

namespace {

// What getsockname or getpeername (`call`) says of `fd`, or unset.
SocketAddress AddressFrom(int (*call)(int, sockaddr*, socklen_t*), int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (call(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return SocketAddress();
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage),
                                     length);
}

}  // namespace

SocketAddress LocalAddressOf(int fd) { return AddressFrom(::getsockname, fd); }

SocketAddress PeerAddressOf(int fd) { return AddressFrom(::getpeername, fd); }

absl::Status SocketError(int error, absl::string_view what,
                         const SocketAddress& address) {
  return absl::ErrnoToStatus(error,
                             absl::StrCat(what, " ", address.ToString()));
}

std::optional<absl::StatusOr<size_t>> ReadOnce(int fd, char* data,
                                               size_t size) {
  while (true) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return absl::ErrnoToStatus(errno, "read");
  }
}

std::optional<absl::Status> WriteAll(int fd, absl::string_view& data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return absl::ErrnoToStatus(errno, "write");
  }
  return absl::OkStatus();
}

}  // namespace anvil::internal
