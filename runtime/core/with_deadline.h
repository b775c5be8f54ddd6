// WithDeadline: await a Task, or give up after a timeout with
// DEADLINE_EXCEEDED.
//
//   absl::StatusOr<Reply> reply =
//       co_await anvil::WithDeadline(absl::Milliseconds(50), FetchReply());
//   if (absl::IsDeadlineExceeded(reply.status())) { ... }
//
// The result type folds the task's own status in:
//   Task<void>            -> absl::Status
//   Task<absl::Status>    -> absl::Status
//   Task<absl::StatusOr<U>> -> absl::StatusOr<U>
//   Task<U>               -> absl::StatusOr<U>
//
// NOTE: a coroutine cannot be interrupted. When the timeout wins, the task
// keeps running in the background until it finishes on its own, and its
// result is discarded. So the task must own what it uses (take arguments by
// value, not references to the caller's locals). Prefer operations that take
// a deadline themselves (ActorRef::Call) where one exists: they stop waiting
// without leaving work behind.
//
// REQUIRES: awaited on a runtime worker. An exception from the task is
// rethrown to the awaiter if the task finishes first.
#ifndef ANVIL_RUNTIME_CORE_WITH_DEADLINE_H_
#define ANVIL_RUNTIME_CORE_WITH_DEADLINE_H_

#include <cassert>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/mutex.h"
#include "runtime/core/task.h"

namespace anvil {
namespace internal {

template <typename T>
struct DeadlineResult {
  using type = absl::StatusOr<T>;
};
template <>
struct DeadlineResult<void> {
  using type = absl::Status;
};
template <>
struct DeadlineResult<absl::Status> {
  using type = absl::Status;
};
template <typename U>
struct DeadlineResult<absl::StatusOr<U>> {
  using type = absl::StatusOr<U>;
};

// Shared by the awaiting coroutine, the task's runner and the timer.
template <typename T>
struct DeadlineState final : TimerNode {
  using Result = typename DeadlineResult<T>::type;

  Mutex mu;
  // The task finished; result or exception is set.
  bool finished ABSL_GUARDED_BY(mu) = false;
  // The timer won; the task's result is dropped.
  bool timed_out ABSL_GUARDED_BY(mu) = false;
  // Set while the awaiter is suspended.
  std::coroutine_handle<> waiter ABSL_GUARDED_BY(mu);
  Worker* worker = nullptr;  // where the awaiter waits; set before the timer
  std::optional<Result> result ABSL_GUARDED_BY(mu);
  std::exception_ptr exception ABSL_GUARDED_BY(mu);
  absl::Duration timeout;
};

template <typename T>
void FinishDeadline(DeadlineState<T>& state,
                    std::optional<typename DeadlineState<T>::Result> result,
                    std::exception_ptr exception) {
  std::coroutine_handle<> waiter;
  Worker* worker = nullptr;
  {
    MutexLock lock(state.mu);
    if (state.timed_out) return;
    state.finished = true;
    state.result = std::move(result);
    state.exception = std::move(exception);
    waiter = std::exchange(state.waiter, {});
    worker = state.worker;
  }
  if (waiter) worker->Schedule(waiter);
}

template <typename T>
Detached RunDeadlineTask(Task<T> task,
                         std::shared_ptr<DeadlineState<T>> state) {
  using Result = typename DeadlineState<T>::Result;
  std::optional<Result> result;
  std::exception_ptr exception;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      result.emplace(absl::OkStatus());
    } else {
      result.emplace(co_await std::move(task));
    }
  } catch (...) {
    exception = std::current_exception();
  }
  FinishDeadline(*state, std::move(result), std::move(exception));
}

template <typename T>
void FireDeadline(TimerNode* node) {
  auto* state = static_cast<DeadlineState<T>*>(node);
  std::coroutine_handle<> waiter;
  {
    MutexLock lock(state->mu);
    if (state->finished) return;
    state->timed_out = true;
    waiter = std::exchange(state->waiter, {});
  }
  if (waiter) state->worker->Schedule(waiter);
}

template <typename T>
class DeadlineAwaiter {
 public:
  explicit DeadlineAwaiter(std::shared_ptr<DeadlineState<T>> state)
      : state_(std::move(state)) {}
  DeadlineAwaiter(const DeadlineAwaiter&) = delete;
  DeadlineAwaiter& operator=(const DeadlineAwaiter&) = delete;
  ~DeadlineAwaiter() {
    if (state_->queued()) state_->worker->timers().Cancel(state_.get());
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> waiter) {
    Worker* worker = Worker::Current();
    assert(worker != nullptr && "WithDeadline needs a runtime worker");
    MutexLock lock(state_->mu);
    if (state_->finished) return false;
    state_->waiter = waiter;
    state_->worker = worker;
    state_->deadline = Clock::DeadlineAfter(state_->timeout);
    state_->fire = &FireDeadline<T>;
    worker->timers().Add(state_.get());
    return true;
  }
  typename DeadlineState<T>::Result await_resume() {
    if (state_->queued()) state_->worker->timers().Cancel(state_.get());
    MutexLock lock(state_->mu);
    if (state_->timed_out) {
      return absl::DeadlineExceededError(absl::StrCat(
          "deadline of ", absl::FormatDuration(state_->timeout), " exceeded"));
    }
    if (state_->exception) std::rethrow_exception(state_->exception);
    return std::move(*state_->result);
  }

 private:
  std::shared_ptr<DeadlineState<T>> state_;
};

}  // namespace internal

// Awaits `task` for at most `timeout`. See the file comment.
template <typename T>
Task<typename internal::DeadlineResult<T>::type> WithDeadline(
    absl::Duration timeout, Task<T> task) {
  auto state = std::make_shared<internal::DeadlineState<T>>();
  state->timeout = timeout;
  // Runs the task inline up to its first suspension; it may finish there.
  internal::RunDeadlineTask(std::move(task), state).StartInline();
  co_return co_await internal::DeadlineAwaiter<T>(std::move(state));
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_WITH_DEADLINE_H_
