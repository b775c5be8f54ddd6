#include "runtime/io/tcp_listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "runtime/core/status_macros.h"
#include "runtime/io/socket_util.h"

namespace anvil {

absl::StatusOr<TcpListener> TcpListener::Bind(const SocketAddress& address,
                                              ListenOptions options) {
#ifdef ANVIL_SIMULATION
  if (const internal::SimHost* host = internal::current_sim_host) {
    ANVIL_ASSIGN_OR_RETURN(std::unique_ptr<internal::SimListener> sim,
                           host->hosts->Listen(*host, address));
    TcpListener listener;
    listener.address_ = sim->address();
    listener.sim_ = std::move(sim);
    return listener;
  }
#endif
  ANVIL_ASSIGN_OR_RETURN(int fd,
                         internal::OpenSocket(address.family(), SOCK_STREAM));
  // Owns fd from here, so every error path closes it.
  TcpListener listener(fd, address);
  if (!address.is_unix()) {
    ANVIL_RETURN_IF_ERROR(internal::SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR,
                                                 1, "SO_REUSEADDR"));
    if (options.reuse_port) {
      ANVIL_RETURN_IF_ERROR(internal::SetIntOption(fd, SOL_SOCKET, SO_REUSEPORT,
                                                   1, "SO_REUSEPORT"));
    }
  }
  if (::bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    return internal::SocketError(errno, "bind", address);
  }
  if (::listen(fd, options.backlog) != 0) {
    return internal::SocketError(errno, "listen on", address);
  }
  if (!address.is_unix()) listener.address_ = internal::LocalAddressOf(fd);
  return listener;
}

bool TcpListener::is_open() const {
#ifdef ANVIL_SIMULATION
  if (sim_) return true;
#endif
  return fd_ != nullptr && fd_->is_open();
}

void TcpListener::Cancel() {
#ifdef ANVIL_SIMULATION
  if (sim_) sim_->Cancel();
#endif
  if (fd_) fd_->Cancel();
}

void TcpListener::Close() {
#ifdef ANVIL_SIMULATION
  if (sim_) sim_->Close();
#endif
  if (fd_) fd_->Close();
}

namespace internal {

std::optional<absl::StatusOr<int>> AcceptOnce(int listen_fd) {
  while (true) {
    const int fd =
        ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    switch (errno) {
      case EINTR:
      case ECONNABORTED:  // the peer gave up before we accepted: next one
      case EPROTO:
        continue;
      case EAGAIN:
#if EAGAIN != EWOULDBLOCK
      case EWOULDBLOCK:
#endif
        return std::nullopt;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        return absl::ResourceExhaustedError(
            absl::StrCat("accept: ", strerror(errno)));
      default:
        return absl::ErrnoToStatus(errno, "accept");
    }
  }
}

}  // namespace internal
}  // namespace anvil
