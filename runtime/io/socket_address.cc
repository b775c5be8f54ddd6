#include "runtime/io/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace anvil {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad socket address \"", text, "\": ", why));
}

}  // namespace

absl::StatusOr<SocketAddress> SocketAddress::Parse(absl::string_view text) {
  if (absl::ConsumePrefix(&text, "unix:")) return Unix(text);
  const absl::string_view original = text;
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return Invalid(original, "expected host:port");
  }
  absl::string_view host = text.substr(0, colon);
  absl::string_view port_text = text.substr(colon + 1);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return Invalid(original, "the port is not a number from 0 to 65535");
  }
  SocketAddress address;
  if (absl::ConsumePrefix(&host, "[")) {
    if (!absl::ConsumeSuffix(&host, "]")) {
      return Invalid(original, "an IPv6 address needs its closing ']'");
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, std::string(host).c_str(), &in6->sin6_addr) != 1) {
      return Invalid(original, "not a numeric IPv6 address");
    }
    address.length_ = sizeof(sockaddr_in6);
    return address;
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, std::string(host).c_str(), &in4->sin_addr) != 1) {
    return Invalid(original,
                   "not a numeric IPv4 address (names are not resolved)");
  }
  address.length_ = sizeof(sockaddr_in);
  return address;
}

SocketAddress SocketAddress::Loopback(uint16_t port) {
  SocketAddress address;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(port);
  in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.length_ = sizeof(sockaddr_in);
  return address;
}

absl::StatusOr<SocketAddress> SocketAddress::Unix(absl::string_view path) {
  SocketAddress address;
  auto* un = reinterpret_cast<sockaddr_un*>(&address.storage_);
  if (path.empty()) return Invalid("unix:", "the path is empty");
  if (path.size() >= sizeof(un->sun_path)) {
    return Invalid(absl::StrCat("unix:", path),
                   absl::StrCat("the path is longer than ",
                                sizeof(un->sun_path) - 1, " bytes"));
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  address.length_ =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return address;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* addr,
                                          socklen_t length) {
  SocketAddress address;
  if (length > sizeof(address.storage_)) length = sizeof(address.storage_);
  std::memcpy(&address.storage_, addr, length);
  address.length_ = length;
  return address;
}

uint16_t SocketAddress::port() const {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

SocketAddress SocketAddress::WithPort(uint16_t port) const {
  SocketAddress copy = *this;
  if (family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&copy.storage_)->sin_port = htons(port);
  } else if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&copy.storage_)->sin6_port = htons(port);
  }
  return copy;
}

std::string SocketAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      inet_ntop(AF_INET,
                &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr,
                text, sizeof(text));
      return absl::StrCat(text, ":", port());
    case AF_INET6:
      inet_ntop(AF_INET6,
                &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr,
                text, sizeof(text));
      return absl::StrCat("[", text, "]:", port());
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
      const size_t path_bytes =
          length_ > offsetof(sockaddr_un, sun_path)
              ? strnlen(un->sun_path, length_ - offsetof(sockaddr_un, sun_path))
              : 0;
      return absl::StrCat("unix:", absl::string_view(un->sun_path, path_bytes));
    }
    default:
      return "unset";
  }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  return a.length_ == b.length_ &&
         std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

}  // namespace anvil
