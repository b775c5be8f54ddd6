// SocketAddress: an IPv4, IPv6 or Unix-domain socket address, parsed from and
// printed as text.
//
//   ASSIGN_OR_RETURN(anvil::SocketAddress a,
//                    anvil::SocketAddress::Parse("127.0.0.1:8080"));
//   anvil::SocketAddress b = *anvil::SocketAddress::Parse("[::1]:0");
//   anvil::SocketAddress c = anvil::SocketAddress::Unix("/run/app.sock");
//   a.ToString();   // "127.0.0.1:8080"
//
// Parse takes numeric addresses only (no name resolution, which would block
// the worker): "a.b.c.d:port", "[v6]:port", or "unix:/path". A value type;
// thread-compatible.
#ifndef ANVIL_RUNTIME_IO_SOCKET_ADDRESS_H_
#define ANVIL_RUNTIME_IO_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace anvil {

class SocketAddress {
 public:
  // INVALID_ARGUMENT naming the text and what is wrong with it.
  static absl::StatusOr<SocketAddress> Parse(absl::string_view text);
  // 127.0.0.1:port.
  static SocketAddress Loopback(uint16_t port);
  // A Unix-domain stream or datagram address. INVALID_ARGUMENT if the path
  // does not fit sockaddr_un (107 bytes).
  static absl::StatusOr<SocketAddress> Unix(absl::string_view path);
  // What getsockname/getpeername/accept filled in.
  static SocketAddress FromSockaddr(const sockaddr* addr, socklen_t length);

  // AF_UNSPEC: an address that is not set.
  SocketAddress() = default;

  int family() const { return storage_.ss_family; }
  bool is_unix() const { return family() == AF_UNIX; }
  // The port of an IP address; 0 for Unix addresses.
  uint16_t port() const;
  // The same address with `port` (IP addresses only).
  SocketAddress WithPort(uint16_t port) const;

  const sockaddr* sockaddr_ptr() const {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  socklen_t length() const { return length_; }

  // "127.0.0.1:80", "[::1]:80", "unix:/path", or "unset".
  std::string ToString() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_SOCKET_ADDRESS_H_
