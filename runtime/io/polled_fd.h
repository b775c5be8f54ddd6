// PolledFd: a non-blocking file descriptor on a worker's epoll loop, and the
// awaitable that waits on it. The machinery under TcpStream, TcpListener and
// UdpSocket; internal to runtime/io.
//
//   internal::PolledFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
//   absl::StatusOr<size_t> n =
//       co_await internal::MakeIoAwaiter<absl::StatusOr<size_t>>(
//       fd, internal::PolledFd::kRead, deadline, "read",
//       [&]() -> std::optional<absl::StatusOr<size_t>> {
//         ssize_t r = ::read(fd.fd(), data, size);
//         if (r >= 0) return size_t(r);
//         if (errno == EAGAIN) return std::nullopt;   // wait, then retry
//         return absl::ErrnoToStatus(errno, "read");
//       });
//
// How a wait works: the awaiter tries the system call at once. Only if it
// would block does the coroutine park on the fd, one reader and one writer at
// a time. The fd joins the epoll set of the worker that first parks on it
// (edge-triggered, both directions), so no system call is spent on
// registration until something must wait. When epoll reports the direction
// ready, the worker's event loop retries the call itself and resumes the
// coroutine only once it completed (a spurious wake-up costs no resumption).
// A deadline is a timer on the same worker; when it fires first, the wait ends
// with DEADLINE_EXCEEDED and the system call is not retried.
//
// Threading: a PolledFd belongs to the worker it registered with; using it
// from another worker gives FAILED_PRECONDITION (the fd's events are
// delivered to one event loop only). Create it anywhere; destroy it on its
// worker, or once the workers have stopped. Placement::kWorker actors (the
// default) satisfy this.
#ifndef ANVIL_RUNTIME_IO_POLLED_FD_H_
#define ANVIL_RUNTIME_IO_POLLED_FD_H_

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/internal/worker.h"
#include "runtime/io/deadline.h"

namespace anvil::internal {

class PolledFd;

// A parked operation: what the event loop retries when the fd is ready.
class IoWait : public TimerNode {
 public:
  // Retries the system call. True when the operation completed (its result
  // is set, success or error); false if it would still block.
  virtual bool Retry() = 0;
  // Ends the operation with `status` without retrying.
  virtual void Fail(absl::Status status) = 0;

 protected:
  ~IoWait() = default;

 private:
  friend class PolledFd;
  std::coroutine_handle<> waiter_;
  PolledFd* fd_ = nullptr;  // while parked
  const char* what_ = "";
};

class PolledFd final : public EventHandler {
 public:
  enum Direction { kRead = 0, kWrite = 1 };

  // Owns `fd` (closed by Close or the destructor), or holds nothing if -1.
  // REQUIRES: fd is in non-blocking mode.
  explicit PolledFd(int fd) : fd_(fd) {}
  PolledFd(const PolledFd&) = delete;
  PolledFd& operator=(const PolledFd&) = delete;
  // Close().
  ~PolledFd() override;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }

  // OK if an operation in `direction` may start now. Otherwise
  // FAILED_PRECONDITION (closed, used off its worker, or another operation in
  // that direction is parked) or CANCELLED (after Cancel()).
  absl::Status CheckUsable(Direction direction) const;

  // Ends the parked operations with CANCELLED, and every later one too. The
  // fd stays open. REQUIRES: on the fd's worker (or it never registered).
  void Cancel();
  bool cancelled() const { return cancelled_; }

  // Cancel(), leaves the epoll set, closes the fd. Idempotent.
  void Close();

  // Parks `wait` until `direction` is ready (then Retry) or `deadline`
  // passes. Returns false with the wait's result set to an error if it
  // cannot park (registration failed, wrong worker).
  bool Park(IoWait* wait, Direction direction, Deadline deadline,
            std::coroutine_handle<> waiter, const char* what);
  // Removes a parked wait without completing it (its coroutine is being
  // destroyed).
  void Unpark(IoWait* wait);

  // EventHandler: called by the worker's event loop.
  void OnEvents(uint32_t events) override;

 private:
  absl::Status Register();
  void Complete(Direction direction);
  static void FireDeadline(TimerNode* node);

  int fd_;
  bool cancelled_ = false;
  // The worker whose epoll set holds the fd, once registered.
  Worker* worker_ = nullptr;
  IoWait* parked_[2] = {nullptr, nullptr};
};

// A PolledFd that holds no fd, shared by every empty socket object: its
// operations fail with FAILED_PRECONDITION ("the socket is closed").
PolledFd* ClosedFd();

// Awaits one operation on a PolledFd. `attempt` makes the system call once
// and returns the result, or nullopt if it would block (EAGAIN). `Result` is
// absl::Status or absl::StatusOr<T>. The awaiter lives in the awaiting
// coroutine's frame: no allocation.
template <typename Result, typename Attempt>
class [[nodiscard]] IoAwaiter final : public IoWait {
 public:
  IoAwaiter(PolledFd& fd, PolledFd::Direction direction, Deadline deadline,
            const char* what, Attempt attempt)
      : fd_(fd),
        direction_(direction),
        deadline_(deadline),
        what_(what),
        attempt_(std::move(attempt)) {}
  IoAwaiter(const IoAwaiter&) = delete;
  IoAwaiter& operator=(const IoAwaiter&) = delete;
  ~IoAwaiter() {
    if (parked_) fd_.Unpark(this);
  }

  bool await_ready() {
    if (absl::Status usable = fd_.CheckUsable(direction_); !usable.ok()) {
      result_.emplace(absl::Status(
          usable.code(), absl::StrCat(what_, ": ", usable.message())));
      return true;
    }
    result_ = attempt_();
    return result_.has_value();
  }
  bool await_suspend(std::coroutine_handle<> waiter) {
    parked_ = fd_.Park(this, direction_, deadline_, waiter, what_);
    return parked_;
  }
  Result await_resume() {
    assert(result_.has_value());
    return std::move(*result_);
  }

  bool Retry() override {
    result_ = attempt_();
    if (result_.has_value()) parked_ = false;
    return result_.has_value();
  }
  void Fail(absl::Status status) override {
    parked_ = false;
    result_.emplace(std::move(status));
  }

 private:
  PolledFd& fd_;
  const PolledFd::Direction direction_;
  const Deadline deadline_;
  const char* const what_;
  Attempt attempt_;
  bool parked_ = false;
  std::optional<Result> result_;
};

template <typename Result, typename Attempt>
IoAwaiter<Result, Attempt> MakeIoAwaiter(PolledFd& fd,
                                         PolledFd::Direction direction,
                                         Deadline deadline, const char* what,
                                         Attempt attempt) {
  return IoAwaiter<Result, Attempt>(fd, direction, deadline, what,
                                    std::move(attempt));
}

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_IO_POLLED_FD_H_
