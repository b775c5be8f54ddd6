#include "runtime/io/blocking_socket.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace anvil::testing {

absl::Status BlockingSocket::Connect(const SocketAddress& address) {
  Close();
  fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return absl::ErrnoToStatus(errno, "socket");
  timeval tv = absl::ToTimeval(timeout_);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd_, address.sockaddr_ptr(), address.length()) != 0) {
    absl::Status error = absl::ErrnoToStatus(
        errno, absl::StrCat("connect to ", address.ToString()));
    Close();
    return error;
  }
  return absl::OkStatus();
}

absl::Status BlockingSocket::Send(absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "send");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> BlockingSocket::Fill() {
  char buffer[16384];
  while (true) {
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n >= 0) {
      buffered_.append(buffer, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return absl::DeadlineExceededError(
          absl::StrCat("recv: nothing for ", absl::FormatDuration(timeout_)));
    }
    return absl::ErrnoToStatus(errno, "recv");
  }
}

absl::StatusOr<std::string> BlockingSocket::ReceiveUntil(
    absl::string_view delimiter) {
  while (true) {
    const size_t at = buffered_.find(delimiter.data(), 0, delimiter.size());
    if (at != std::string::npos) {
      std::string out = buffered_.substr(0, at + delimiter.size());
      buffered_.erase(0, at + delimiter.size());
      return out;
    }
    absl::StatusOr<size_t> n = Fill();
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::OutOfRangeError(absl::StrCat(
          "end of stream before the delimiter; got \"", buffered_, "\""));
    }
  }
}

absl::StatusOr<std::string> BlockingSocket::ReceiveExactly(size_t size) {
  while (buffered_.size() < size) {
    absl::StatusOr<size_t> n = Fill();
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::OutOfRangeError(absl::StrCat(
          "end of stream after ", buffered_.size(), " of ", size, " bytes"));
    }
  }
  std::string out = buffered_.substr(0, size);
  buffered_.erase(0, size);
  return out;
}

absl::StatusOr<std::string> BlockingSocket::ReceiveAll() {
  while (true) {
    absl::StatusOr<size_t> n = Fill();
    if (!n.ok()) return n.status();
    if (*n == 0) return std::exchange(buffered_, "");
  }
}

bool BlockingSocket::PeerClosed() {
  while (true) {
    absl::StatusOr<size_t> n = Fill();
    if (n.ok() && *n == 0) return true;
    if (!n.ok()) return absl::IsUnavailable(n.status());  // ECONNRESET
  }
}

void BlockingSocket::SetResetOnClose() {
  linger hard{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
}

void BlockingSocket::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

void BlockingSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffered_.clear();
}

}  // namespace anvil::testing
