// TcpListener: a listening stream socket (TCP, or Unix-domain) whose
// Accept() is awaited on the worker's event loop.
//
//   ANVIL_CO_ASSIGN_OR_RETURN(
//       anvil::TcpListener listener,
//       anvil::TcpListener::Bind(anvil::SocketAddress::Loopback(0)));
//   uint16_t port = listener.local_address().port();   // the one picked
//   while (true) {
//     ANVIL_CO_ASSIGN_OR_RETURN(anvil::TcpStream client,
//                               co_await listener.Accept());
//     ...
//   }
//
// In the simulation build, while a simulation runs a node's worker, Bind and
// TcpStream::Connect use the simulated network instead (see sim_stream.h):
// the same code is tested under latency, loss, partitions and crashes.
//
// Several listeners may share one port with ListenOptions::reuse_port
// (SO_REUSEPORT): the kernel spreads incoming connections over them, which
// is how TcpServer gives each worker its own listener (Nginx's model).
//
// Threading and ownership as TcpStream: move-only, closes on destruction,
// belongs to the worker that first waits on it.
#ifndef ANVIL_RUNTIME_IO_TCP_LISTENER_H_
#define ANVIL_RUNTIME_IO_TCP_LISTENER_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/io/deadline.h"
#include "runtime/io/polled_fd.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_stream.h"

namespace anvil {

struct ListenOptions {
  // Length of the queue of connections not yet accepted.
  int backlog = 1024;
  // SO_REUSEPORT: let other listeners with the option bind the same port.
  bool reuse_port = false;
};

class TcpListener {
 public:
  // Binds and listens. Port 0 picks a free port (see local_address()).
  // Binding a unix: path that exists fails (EADDRINUSE): remove a stale
  // socket file first. Errors carry the errno text and name the address.
  static absl::StatusOr<TcpListener> Bind(const SocketAddress& address,
                                          ListenOptions options = {});

  TcpListener() = default;
  TcpListener(TcpListener&&) noexcept = default;
  TcpListener& operator=(TcpListener&&) noexcept = default;

  bool is_open() const;

  // The next connection, as a non-blocking TcpStream. Errors of one
  // connection that failed before it was accepted (ECONNABORTED) are skipped;
  // running out of descriptors (EMFILE, ENFILE) is RESOURCE_EXHAUSTED with
  // the errno text, and the listener stays usable.
#ifdef ANVIL_SIMULATION
  Task<absl::StatusOr<TcpStream>> Accept(Deadline deadline = {});
#else
  auto Accept(Deadline deadline = {});
#endif

  // Ends a waiting Accept with CANCELLED, and later ones too. REQUIRES: on
  // the listener's worker.
  void Cancel();
  // Stops listening and closes the socket. Idempotent.
  void Close();

  SocketAddress local_address() const { return address_; }

 private:
  auto AcceptOnFd(Deadline deadline);

  TcpListener(int fd, SocketAddress address)
      : fd_(std::make_unique<internal::PolledFd>(fd)),
        address_(std::move(address)) {}

  std::unique_ptr<internal::PolledFd> fd_;
  SocketAddress address_;
#ifdef ANVIL_SIMULATION
  std::unique_ptr<internal::SimListener> sim_;
#endif
};

namespace internal {
// One accept4(2): the connection's fd, nullopt if none is waiting, or the
// error.
std::optional<absl::StatusOr<int>> AcceptOnce(int listen_fd);
}  // namespace internal

inline auto TcpListener::AcceptOnFd(Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::StatusOr<TcpStream>>(
      *fd, internal::PolledFd::kRead, deadline, "accept",
      [fd]() -> std::optional<absl::StatusOr<TcpStream>> {
        std::optional<absl::StatusOr<int>> accepted =
            internal::AcceptOnce(fd->fd());
        if (!accepted.has_value()) return std::nullopt;
        if (!accepted->ok()) return accepted->status();
        return TcpStream::FromFd(**accepted);
      });
}

#ifndef ANVIL_SIMULATION
inline auto TcpListener::Accept(Deadline deadline) {
  return AcceptOnFd(deadline);
}
#else
inline Task<absl::StatusOr<TcpStream>> TcpListener::Accept(Deadline deadline) {
  if (sim_) {
    absl::StatusOr<std::unique_ptr<internal::SimEndpoint>> endpoint =
        co_await sim_->Accept(deadline);
    if (!endpoint.ok()) co_return endpoint.status();
    co_return TcpStream(*std::move(endpoint));
  }
  co_return co_await AcceptOnFd(deadline);
}
#endif

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_TCP_LISTENER_H_
