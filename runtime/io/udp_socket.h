// UdpSocket: a datagram socket (UDP, or Unix-domain datagrams) whose sends
// and receives are awaited on the worker's event loop.
//
//   ANVIL_CO_ASSIGN_OR_RETURN(
//       anvil::UdpSocket socket,
//       anvil::UdpSocket::Bind(anvil::SocketAddress::Loopback(0)));
//   char buffer[1500];
//   ANVIL_CO_ASSIGN_OR_RETURN(anvil::Datagram d,
//                             co_await socket.ReceiveFrom(buffer));
//   co_await socket.SendTo(absl::string_view(buffer, d.size), d.from);
//
// A datagram larger than the buffer is cut to fit and reported as
// `truncated`; the rest of it is lost (as recvfrom does). Datagrams are not
// reliable: nothing here retries or orders them.
//
// Threading and ownership as TcpStream.
#ifndef ANVIL_RUNTIME_IO_UDP_SOCKET_H_
#define ANVIL_RUNTIME_IO_UDP_SOCKET_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/io/deadline.h"
#include "runtime/io/polled_fd.h"
#include "runtime/io/socket_address.h"

namespace anvil {

struct Datagram {
  size_t size = 0;         // bytes stored in the buffer
  SocketAddress from;      // the sender (unset for an unbound Unix sender)
  bool truncated = false;  // the datagram was larger than the buffer
};

class UdpSocket {
 public:
  // A socket bound to `address` (port 0 picks one; see local_address()).
  static absl::StatusOr<UdpSocket> Bind(const SocketAddress& address);

  UdpSocket() = default;
  UdpSocket(UdpSocket&&) noexcept = default;
  UdpSocket& operator=(UdpSocket&&) noexcept = default;

  bool is_open() const { return fd_ != nullptr && fd_->is_open(); }

  // Sends one datagram to `to`. An empty datagram is allowed.
  // A datagram too large for the protocol fails with the EMSGSIZE text.
  auto SendTo(absl::string_view data, const SocketAddress& to,
              Deadline deadline = {});

  // Receives one datagram into `buffer`.
  auto ReceiveFrom(absl::Span<char> buffer, Deadline deadline = {});

  // As TcpStream::Cancel and Close.
  void Cancel();
  void Close();

  SocketAddress local_address() const { return address_; }

 private:
  UdpSocket(int fd, SocketAddress address)
      : fd_(std::make_unique<internal::PolledFd>(fd)),
        address_(std::move(address)) {}

  std::unique_ptr<internal::PolledFd> fd_;
  SocketAddress address_;
};

namespace internal {
std::optional<absl::Status> SendToOnce(int fd, absl::string_view data,
                                       const SocketAddress& to);
std::optional<absl::StatusOr<Datagram>> ReceiveFromOnce(
    int fd, absl::Span<char> buffer);
}  // namespace internal

inline auto UdpSocket::SendTo(absl::string_view data, const SocketAddress& to,
                              Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::Status>(
      *fd, internal::PolledFd::kWrite, deadline, "send",
      [fd, data, to]() { return internal::SendToOnce(fd->fd(), data, to); });
}

inline auto UdpSocket::ReceiveFrom(absl::Span<char> buffer, Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::StatusOr<Datagram>>(
      *fd, internal::PolledFd::kRead, deadline, "receive",
      [fd, buffer]() { return internal::ReceiveFromOnce(fd->fd(), buffer); });
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_UDP_SOCKET_H_
