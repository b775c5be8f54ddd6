#include "runtime/io/polled_fd.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace anvil::internal {

PolledFd* ClosedFd() {
  static PolledFd* const closed = new PolledFd(-1);
  return closed;
}

PolledFd::~PolledFd() { Close(); }

absl::Status PolledFd::CheckUsable(Direction direction) const {
  if (fd_ < 0) return absl::FailedPreconditionError("the socket is closed");
  if (cancelled_) return absl::CancelledError("the socket was cancelled");
  if (worker_ != nullptr && Worker::Current() != worker_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the socket belongs to worker ", worker_->index(),
        " and is used off it; keep a socket on one worker (an actor with "
        "Placement::kWorker)"));
  }
  if (parked_[direction] != nullptr) {
    return absl::FailedPreconditionError(
        direction == kRead ? "another read on this socket is waiting"
                           : "another write on this socket is waiting");
  }
  return absl::OkStatus();
}

absl::Status PolledFd::Register() {
  Worker* worker = Worker::Current();
  if (worker == nullptr) {
    return absl::FailedPreconditionError(
        "socket operations must be awaited on a runtime worker");
  }
  // Registered already: CheckUsable, before every park, refused any other
  // worker.
  if (worker_ != nullptr) return absl::OkStatus();
  absl::Status added =
      worker->AddFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  if (added.ok()) worker_ = worker;
  return added;
}

bool PolledFd::Park(IoWait* wait, Direction direction, Deadline deadline,
                    std::coroutine_handle<> waiter, const char* what) {
  if (absl::Status registered = Register(); !registered.ok()) {
    wait->Fail(absl::Status(registered.code(),
                            absl::StrCat(what, ": ", registered.message())));
    return false;
  }
  assert(parked_[direction] == nullptr);
  wait->waiter_ = waiter;
  wait->fd_ = this;
  wait->what_ = what;
  parked_[direction] = wait;
  if (!deadline.is_never()) {
    wait->deadline = deadline.monotonic_nanos();
    wait->fire = &FireDeadline;
    worker_->timers().Add(wait);
  }
  return true;
}

void PolledFd::Unpark(IoWait* wait) {
  for (IoWait*& slot : parked_) {
    if (slot == wait) slot = nullptr;
  }
  if (wait->queued()) worker_->timers().Cancel(wait);
  wait->fd_ = nullptr;
}

void PolledFd::OnEvents(uint32_t events) {
  // An error or hang-up wakes both directions: the retried call reports it.
  constexpr uint32_t kAlways = EPOLLERR | EPOLLHUP;
  if (parked_[kRead] != nullptr &&
      (events & (EPOLLIN | EPOLLRDHUP | kAlways))) {
    if (parked_[kRead]->Retry()) Complete(kRead);
  }
  if (parked_[kWrite] != nullptr && (events & (EPOLLOUT | kAlways))) {
    if (parked_[kWrite]->Retry()) Complete(kWrite);
  }
}

void PolledFd::Complete(Direction direction) {
  IoWait* wait = std::exchange(parked_[direction], nullptr);
  if (wait->queued()) worker_->timers().Cancel(wait);
  wait->fd_ = nullptr;
  worker_->Schedule(wait->waiter_);
}

void PolledFd::FireDeadline(TimerNode* node) {
  auto* wait = static_cast<IoWait*>(node);
  PolledFd* self = wait->fd_;
  const Direction direction = self->parked_[kRead] == wait ? kRead : kWrite;
  wait->Fail(absl::DeadlineExceededError(
      absl::StrCat(wait->what_, ": deadline exceeded")));
  self->Complete(direction);
}

void PolledFd::Cancel() {
  cancelled_ = true;
  for (Direction direction : {kRead, kWrite}) {
    if (parked_[direction] == nullptr) continue;
    parked_[direction]->Fail(absl::CancelledError(
        absl::StrCat(parked_[direction]->what_, ": the socket was cancelled")));
    Complete(direction);
  }
}

void PolledFd::Close() {
  if (fd_ < 0) return;
  Cancel();
  // Closing removes the fd from epoll, unless another process holds a copy
  // of it; leave the set explicitly so no event can name this object again.
  if (worker_ != nullptr) worker_->RemoveFd(fd_).IgnoreError();
  ::close(fd_);
  fd_ = -1;
}

}  // namespace anvil::internal
