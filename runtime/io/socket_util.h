// Small system-call wrappers shared by the socket types; internal to
// runtime/io. Errors carry the errno text and what was being done.
#ifndef ANVIL_RUNTIME_IO_SOCKET_UTIL_H_
#define ANVIL_RUNTIME_IO_SOCKET_UTIL_H_

#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/io/socket_address.h"

namespace anvil::internal {

// A new non-blocking, close-on-exec socket.
absl::StatusOr<int> OpenSocket(int family, int type);

// setsockopt of an int option; `what` names it in the error.
absl::Status SetIntOption(int fd, int level, int option, int value,
                          absl::string_view what);

// getsockname / getpeername; an unset address if the call fails.
SocketAddress LocalAddressOf(int fd);
SocketAddress PeerAddressOf(int fd);

// absl::ErrnoToStatus(error, "<what> <address>").
absl::Status SocketError(int error, absl::string_view what,
                         const SocketAddress& address);

// One recv(2): the byte count (0 at end of stream), nullopt if it would
// block, or the error.
std::optional<absl::StatusOr<size_t>> ReadOnce(int fd, char* data, size_t size);

// send(2) until `data` is empty (OK), the socket is full (nullopt; `data`
// holds what is left), or an error. Never raises SIGPIPE.
std::optional<absl::Status> WriteAll(int fd, absl::string_view& data);

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_IO_SOCKET_UTIL_H_
