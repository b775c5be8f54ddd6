// TcpStream: a connected stream socket (TCP, or Unix-domain) whose reads and
// writes are awaited on the worker's event loop.
//
//   anvil::Task<absl::Status> Echo(anvil::TcpStream stream) {
//     char buffer[4096];
//     while (true) {
//       ANVIL_CO_ASSIGN_OR_RETURN(
//           size_t n, co_await stream.Read(buffer, absl::Seconds(30)));
//       if (n == 0) co_return absl::OkStatus();   // the peer shut down
//       ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(
//           absl::string_view(buffer, n), absl::Seconds(5)));
//     }
//   }
//
//   absl::StatusOr<anvil::TcpStream> s = co_await anvil::TcpStream::Connect(
//       *anvil::SocketAddress::Parse("127.0.0.1:8080"), absl::Seconds(1));
//
// Every wait takes a Deadline (a Duration converts to one); past it the
// operation ends with DEADLINE_EXCEEDED. Errors are absl::Status built from
// the errno (absl::ErrnoToStatus: ECONNRESET is UNAVAILABLE, EPIPE
// FAILED_PRECONDITION, ...) with its text and the peer's address.
//
// Buffering: none. Write() returns once the kernel took every byte; a peer
// that does not read fills the socket buffer and Write() waits (until its
// deadline), so memory never grows with a slow peer.
//
// In the simulation build, streams between simulated nodes run over the
// simulated network (see tcp_listener.h and sim_stream.h).
//
// Threading and ownership: move-only; owns the socket and closes it on
// destruction. One read and one write may wait at the same time (from two
// coroutines of the same actor); a second concurrent read (or write) gets
// FAILED_PRECONDITION. The stream belongs to the worker that first waits on
// it (see polled_fd.h): keep it in a Placement::kWorker actor.
#ifndef ANVIL_RUNTIME_IO_TCP_STREAM_H_
#define ANVIL_RUNTIME_IO_TCP_STREAM_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "runtime/core/task.h"
#include "runtime/io/deadline.h"
#include "runtime/io/polled_fd.h"
#include "runtime/io/sim_stream.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/socket_util.h"

namespace anvil {

class TcpStream {
 public:
  // Connects to `address` (TCP, or Unix stream for a unix: address).
  // DEADLINE_EXCEEDED past `deadline`; UNAVAILABLE (ECONNREFUSED) if nothing
  // listens.
  static Task<absl::StatusOr<TcpStream>> Connect(SocketAddress address,
                                                 Deadline deadline = {});

  // Takes a connected, non-blocking socket (as accept4 returns it).
  static TcpStream FromFd(int fd);

  // A stream that holds no socket: every operation fails.
  TcpStream() = default;
  TcpStream(TcpStream&&) noexcept = default;
  TcpStream& operator=(TcpStream&&) noexcept = default;
  ~TcpStream() = default;

  bool is_open() const;
  // The socket's descriptor; -1 if closed or simulated.
  int fd() const { return fd_ ? fd_->fd() : -1; }

  // Bytes received and not yet read (FIONREAD); 0 if closed or on error.
  size_t BytesReadable() const;

  // Sends what the socket takes at once, without waiting; returns how many
  // bytes (0 on any error). For a last word before closing, such as an
  // overload reply.
  size_t TryWrite(absl::string_view data);

  // Reads what is available, at most buffer.size() bytes, waiting for at
  // least one. 0 means the peer shut down its side (end of stream).
  // Writes all of `data`, waiting for room as often as needed.
  // (In production builds these return the awaitables directly: a read or
  // write that can complete at once costs one system call and no
  // allocation. The simulation build adds a coroutine that picks the
  // simulated network.)
#ifdef ANVIL_SIMULATION
  Task<absl::StatusOr<size_t>> Read(absl::Span<char> buffer,
                                    Deadline deadline = {});
  Task<absl::Status> Write(absl::string_view data, Deadline deadline = {});
#else
  auto Read(absl::Span<char> buffer, Deadline deadline = {});
  auto Write(absl::string_view data, Deadline deadline = {});
#endif

  // Writes all the pieces in order with as few system calls as possible
  // (sendmsg with an iovec per piece). The pieces must stay valid until the
  // write finishes.
  Task<absl::Status> WriteVectored(absl::Span<const absl::string_view> pieces,
                                   Deadline deadline = {});

  // Sends `count` bytes of `file_fd` from `offset` with sendfile(2): the
  // kernel copies them without passing through user space. OUT_OF_RANGE if
  // the file ends first.
  Task<absl::Status> SendFile(int file_fd, off_t offset, size_t count,
                              Deadline deadline = {});

  // Shuts down the sending side: the peer reads end of stream once it has
  // read everything sent before. Reading still works.
  absl::Status ShutdownWrite();

  // Ends the waiting read and write with CANCELLED, and every later
  // operation too; the socket stays open until Close() or destruction.
  // REQUIRES: on the stream's worker.
  void Cancel();

  // Closes the socket (a waiting operation ends with CANCELLED). Idempotent.
  void Close();

  // TCP_NODELAY: send small writes at once instead of coalescing them
  // (Nagle). FAILED_PRECONDITION-free no-op on Unix sockets.
  absl::Status SetNoDelay(bool on);
  // SO_KEEPALIVE, with the idle time before the first probe if given.
  absl::Status SetKeepAlive(bool on,
                            absl::Duration idle = absl::ZeroDuration());

  SocketAddress local_address() const;
  SocketAddress peer_address() const;

#ifdef ANVIL_SIMULATION
  // A stream over the simulated network (internal/sim_stream.h).
  explicit TcpStream(std::unique_ptr<internal::SimEndpoint> sim)
      : sim_(std::move(sim)) {}
#endif

 private:
  explicit TcpStream(int fd);

  auto ReadOnFd(absl::Span<char> buffer, Deadline deadline);
  auto WriteOnFd(absl::string_view data, Deadline deadline);

  std::unique_ptr<internal::PolledFd> fd_;
#ifdef ANVIL_SIMULATION
  std::unique_ptr<internal::SimEndpoint> sim_;
#endif
};

inline auto TcpStream::ReadOnFd(absl::Span<char> buffer, Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::StatusOr<size_t>>(
      *fd, internal::PolledFd::kRead, deadline, "read",
      [fd, buffer]() -> std::optional<absl::StatusOr<size_t>> {
        return internal::ReadOnce(fd->fd(), buffer.data(), buffer.size());
      });
}

inline auto TcpStream::WriteOnFd(absl::string_view data, Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::Status>(
      *fd, internal::PolledFd::kWrite, deadline, "write",
      [fd, data]() mutable -> std::optional<absl::Status> {
        return internal::WriteAll(fd->fd(), data);
      });
}

#ifndef ANVIL_SIMULATION
inline auto TcpStream::Read(absl::Span<char> buffer, Deadline deadline) {
  return ReadOnFd(buffer, deadline);
}
inline auto TcpStream::Write(absl::string_view data, Deadline deadline) {
  return WriteOnFd(data, deadline);
}
#else
inline Task<absl::StatusOr<size_t>> TcpStream::Read(absl::Span<char> buffer,
                                                    Deadline deadline) {
  if (sim_) co_return co_await sim_->Read(buffer, deadline);
  co_return co_await ReadOnFd(buffer, deadline);
}

inline Task<absl::Status> TcpStream::Write(absl::string_view data,
                                           Deadline deadline) {
  if (sim_) co_return co_await sim_->Write(data, deadline);
  co_return co_await WriteOnFd(data, deadline);
}
#endif

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_TCP_STREAM_H_
