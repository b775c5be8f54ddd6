#include "runtime/io/tcp_stream.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/status_macros.h"
#include "runtime/io/socket_util.h"

namespace anvil {

TcpStream::TcpStream(int fd) : fd_(std::make_unique<internal::PolledFd>(fd)) {}

TcpStream TcpStream::FromFd(int fd) { return TcpStream(fd); }

bool TcpStream::is_open() const {
#ifdef ANVIL_SIMULATION
  if (sim_) return sim_->is_open();
#endif
  return fd_ != nullptr && fd_->is_open();
}

size_t TcpStream::BytesReadable() const {
#ifdef ANVIL_SIMULATION
  if (sim_) return sim_->BytesReadable();
#endif
  if (!is_open()) return 0;
  int bytes = 0;
  if (::ioctl(fd_->fd(), FIONREAD, &bytes) != 0 || bytes < 0) return 0;
  return static_cast<size_t>(bytes);
}

size_t TcpStream::TryWrite(absl::string_view data) {
#ifdef ANVIL_SIMULATION
  if (sim_) return sim_->WriteNow(data);
#endif
  if (!is_open()) return 0;
  const ssize_t n =
      ::send(fd_->fd(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

Task<absl::StatusOr<TcpStream>> TcpStream::Connect(SocketAddress address,
                                                   Deadline deadline) {
#ifdef ANVIL_SIMULATION
  if (const internal::SimHost* host = internal::current_sim_host) {
    ANVIL_CO_ASSIGN_OR_RETURN(
        std::unique_ptr<internal::SimEndpoint> endpoint,
        co_await host->hosts->Connect(*host, address, deadline));
    co_return TcpStream(std::move(endpoint));
  }
#endif
  ANVIL_CO_ASSIGN_OR_RETURN(
      int fd, internal::OpenSocket(address.family(), SOCK_STREAM));
  TcpStream stream(fd);
  if (::connect(fd, address.sockaddr_ptr(), address.length()) == 0) {
    co_return stream;
  }
  if (errno != EINPROGRESS) {
    co_return internal::SocketError(errno, "connect to", address);
  }
  // In progress: the socket turns writable once the handshake finished or
  // failed, and SO_ERROR says which.
  bool started = false;
  absl::Status connected = co_await internal::MakeIoAwaiter<absl::Status>(
      *stream.fd_, internal::PolledFd::kWrite, deadline, "connect",
      [&]() -> std::optional<absl::Status> {
        if (!std::exchange(started, true)) return std::nullopt;
        int error = 0;
        socklen_t length = sizeof(error);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
          error = errno;
        }
        if (error != 0)
          return internal::SocketError(error, "connect to", address);
        return absl::OkStatus();
      });
  if (!connected.ok()) {
    if (absl::IsDeadlineExceeded(connected)) {
      co_return absl::DeadlineExceededError(absl::StrCat(
          "connect to ", address.ToString(), ": deadline exceeded"));
    }
    co_return connected;
  }
  co_return stream;
}

Task<absl::Status> TcpStream::WriteVectored(
    absl::Span<const absl::string_view> pieces, Deadline deadline) {
#ifdef ANVIL_SIMULATION
  if (sim_) co_return co_await sim_->Write(absl::StrJoin(pieces, ""), deadline);
#endif
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  size_t next = 0;    // first piece not fully written
  size_t offset = 0;  // bytes of pieces[next] already written
  std::vector<iovec> iov;
  co_return co_await internal::MakeIoAwaiter<absl::Status>(
      *fd, internal::PolledFd::kWrite, deadline, "write",
      [&]() -> std::optional<absl::Status> {
        while (next < pieces.size()) {
          iov.clear();
          for (size_t i = next; i < pieces.size() && iov.size() < IOV_MAX;
               ++i) {
            const size_t skip = i == next ? offset : 0;
            iov.push_back(iovec{const_cast<char*>(pieces[i].data()) + skip,
                                pieces[i].size() - skip});
          }
          msghdr message{};
          message.msg_iov = iov.data();
          message.msg_iovlen = iov.size();
          const ssize_t n = ::sendmsg(fd->fd(), &message, MSG_NOSIGNAL);
          if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
            return absl::ErrnoToStatus(errno, "write");
          }
          size_t written = static_cast<size_t>(n);
          while (next < pieces.size() &&
                 written >= pieces[next].size() - offset) {
            written -= pieces[next].size() - offset;
            offset = 0;
            ++next;
          }
          offset += written;
        }
        return absl::OkStatus();
      });
}

Task<absl::Status> TcpStream::SendFile(int file_fd, off_t offset, size_t count,
                                       Deadline deadline) {
#ifdef ANVIL_SIMULATION
  if (sim_) {
    std::string contents(count, '\0');
    const ssize_t n = ::pread(file_fd, contents.data(), count, offset);
    if (n < 0) co_return absl::ErrnoToStatus(errno, "sendfile");
    contents.resize(static_cast<size_t>(n));
    ANVIL_CO_RETURN_IF_ERROR(co_await sim_->Write(contents, deadline));
    if (static_cast<size_t>(n) < count) {
      co_return absl::OutOfRangeError(
          absl::StrCat("sendfile: the file ended with ",
                       count - static_cast<size_t>(n), " bytes still to send"));
    }
    co_return absl::OkStatus();
  }
#endif
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  co_return co_await internal::MakeIoAwaiter<absl::Status>(
      *fd, internal::PolledFd::kWrite, deadline, "sendfile",
      [&]() -> std::optional<absl::Status> {
        while (count > 0) {
          const ssize_t n = ::sendfile(fd->fd(), file_fd, &offset, count);
          if (n > 0) {
            count -= static_cast<size_t>(n);
            continue;
          }
          if (n == 0) {
            return absl::OutOfRangeError(
                absl::StrCat("sendfile: the file ended with ", count,
                             " bytes still to send"));
          }
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
          return absl::ErrnoToStatus(errno, "sendfile");
        }
        return absl::OkStatus();
      });
}

absl::Status TcpStream::ShutdownWrite() {
#ifdef ANVIL_SIMULATION
  if (sim_) return sim_->ShutdownWrite();
#endif
  if (!is_open()) return absl::FailedPreconditionError("the socket is closed");
  if (::shutdown(fd_->fd(), SHUT_WR) != 0) {
    return absl::ErrnoToStatus(errno, "shutdown");
  }
  return absl::OkStatus();
}

void TcpStream::Cancel() {
#ifdef ANVIL_SIMULATION
  if (sim_) sim_->Cancel();
#endif
  if (fd_) fd_->Cancel();
}

void TcpStream::Close() {
#ifdef ANVIL_SIMULATION
  if (sim_) sim_->Close();
#endif
  if (fd_) fd_->Close();
}

absl::Status TcpStream::SetNoDelay(bool on) {
  if (!is_open()) return absl::FailedPreconditionError("the socket is closed");
  if (fd_ == nullptr) return absl::OkStatus();  // simulated
  if (local_address().is_unix()) return absl::OkStatus();
  return internal::SetIntOption(fd_->fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0,
                                "TCP_NODELAY");
}

absl::Status TcpStream::SetKeepAlive(bool on, absl::Duration idle) {
  if (!is_open()) return absl::FailedPreconditionError("the socket is closed");
  if (fd_ == nullptr) return absl::OkStatus();  // simulated
  ANVIL_RETURN_IF_ERROR(internal::SetIntOption(
      fd_->fd(), SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, "SO_KEEPALIVE"));
  if (on && idle > absl::ZeroDuration() && !local_address().is_unix()) {
    const int seconds =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Seconds(idle)));
    ANVIL_RETURN_IF_ERROR(internal::SetIntOption(
        fd_->fd(), IPPROTO_TCP, TCP_KEEPIDLE, seconds, "TCP_KEEPIDLE"));
  }
  return absl::OkStatus();
}

SocketAddress TcpStream::local_address() const {
#ifdef ANVIL_SIMULATION
  if (sim_) return sim_->local_address();
#endif
  return is_open() ? internal::LocalAddressOf(fd_->fd()) : SocketAddress();
}

SocketAddress TcpStream::peer_address() const {
#ifdef ANVIL_SIMULATION
  if (sim_) return sim_->peer_address();
#endif
  return is_open() ? internal::PeerAddressOf(fd_->fd()) : SocketAddress();
}

}  // namespace anvil
