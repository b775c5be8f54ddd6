#include "runtime/io/udp_socket.h"

#include <sys/socket.h>

#include <cerrno>

#include "runtime/core/status_macros.h"
#include "runtime/io/socket_util.h"

namespace anvil {

absl::StatusOr<UdpSocket> UdpSocket::Bind(const SocketAddress& address) {
  ANVIL_ASSIGN_OR_RETURN(int fd,
                         internal::OpenSocket(address.family(), SOCK_DGRAM));
  UdpSocket socket(fd, address);
  if (::bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    return internal::SocketError(errno, "bind", address);
  }
  if (!address.is_unix()) socket.address_ = internal::LocalAddressOf(fd);
  return socket;
}

void UdpSocket::Cancel() {
  if (fd_) fd_->Cancel();
}

void UdpSocket::Close() {
  if (fd_) fd_->Close();
}

namespace internal {

std::optional<absl::Status> SendToOnce(int fd, absl::string_view data,
                                       const SocketAddress& to) {
  while (true) {
    const ssize_t n = ::sendto(fd, data.data(), data.size(), MSG_NOSIGNAL,
                               to.sockaddr_ptr(), to.length());
    if (n >= 0) return absl::OkStatus();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return SocketError(errno, "send to", to);
  }
}

std::optional<absl::StatusOr<Datagram>> ReceiveFromOnce(
    int fd, absl::Span<char> buffer) {
  while (true) {
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n =
        ::recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC,
                   reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n >= 0) {
      Datagram datagram;
      // With MSG_TRUNC recvfrom returns the datagram's real length.
      datagram.truncated = static_cast<size_t>(n) > buffer.size();
      datagram.size =
          datagram.truncated ? buffer.size() : static_cast<size_t>(n);
      datagram.from = SocketAddress::FromSockaddr(
          reinterpret_cast<sockaddr*>(&from), from_length);
      return datagram;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return absl::ErrnoToStatus(errno, "receive");
  }
}

}  // namespace internal
}  // namespace anvil
