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

  bool is_open() const { return fd_ != nullptr && fd_->is_open(); }
  int fd() const { return fd_ ? fd_->fd() : -1; }

  // Reads what is available, at most buffer.size() bytes, waiting for at
  // least one. 0 means the peer shut down its side (end of stream).
  auto Read(absl::Span<char> buffer, Deadline deadline = {});

  // Writes all of `data`, waiting for room as often as needed.
  auto Write(absl::string_view data, Deadline deadline = {});

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

 private:
  explicit TcpStream(int fd);

  std::unique_ptr<internal::PolledFd> fd_;
};

// The awaitables are returned by value so that a read or write that can
// complete at once costs one system call and no allocation.

inline auto TcpStream::Read(absl::Span<char> buffer, Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::StatusOr<size_t>>(
      *fd, internal::PolledFd::kRead, deadline, "read",
      [fd, buffer]() -> std::optional<absl::StatusOr<size_t>> {
        return internal::ReadOnce(fd->fd(), buffer.data(), buffer.size());
      });
}

inline auto TcpStream::Write(absl::string_view data, Deadline deadline) {
  internal::PolledFd* fd = fd_ ? fd_.get() : internal::ClosedFd();
  return internal::MakeIoAwaiter<absl::Status>(
      *fd, internal::PolledFd::kWrite, deadline, "write",
      [fd, data]() mutable -> std::optional<absl::Status> {
        return internal::WriteAll(fd->fd(), data);
      });
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_TCP_STREAM_H_
