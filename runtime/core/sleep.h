// Sleep, Yield and Interval: waiting for time on the current worker.
//
//   co_await anvil::Sleep(absl::Milliseconds(10));   // resumes >= 10 ms later
//   co_await anvil::Yield();                         // lets queued work run
//
//   anvil::Interval tick(absl::Seconds(1));
//   while (running) {
//     co_await tick.Next();    // every second; missed ticks are skipped
//     Report();
//   }
//
// REQUIRES: awaited from a coroutine running on a runtime worker (an actor,
// a daemon, or a task they await). Sleep resumes on the worker that began
// waiting. PERFORMANCE: a sleep is one heap operation on the worker's timer
// heap and allocates nothing.
#ifndef ANVIL_RUNTIME_CORE_SLEEP_H_
#define ANVIL_RUNTIME_CORE_SLEEP_H_

#include <cassert>
#include <coroutine>
#include <cstdint>

#include "absl/time/time.h"
#include "runtime/core/buggify.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/internal/worker.h"

namespace anvil {
namespace internal {

// Awaits a monotonic deadline. The timer node lives in the awaiter, so in
// the awaiting coroutine's frame.
class [[nodiscard]] SleepUntilAwaiter : private TimerNode {
 public:
  explicit SleepUntilAwaiter(int64_t deadline_nanos) {
    deadline = deadline_nanos;
    fire = &Fire;
  }
  SleepUntilAwaiter(const SleepUntilAwaiter&) = delete;
  SleepUntilAwaiter& operator=(const SleepUntilAwaiter&) = delete;
  // Destroyed while waiting only when its coroutine is destroyed (forced
  // shutdown), on the worker's thread or after the workers stopped.
  ~SleepUntilAwaiter() {
    if (queued()) worker_->timers().Cancel(this);
  }

  bool await_ready() const noexcept {
    return deadline <= Clock::MonotonicNanos();
  }
  void await_suspend(std::coroutine_handle<> waiter) noexcept {
    worker_ = Worker::Current();
    assert(worker_ != nullptr && "Sleep() needs a runtime worker");
    waiter_ = waiter;
    // A timer may fire late (a busy worker, a descheduled thread): 1-50
    // ms, varied by the deadline.
    if (ANVIL_BUGGIFY("timer.late_fire")) {
      deadline += 1'000'000 * (1 + (deadline / 1000) % 50);
    }
    worker_->timers().Add(this);
  }
  void await_resume() const noexcept {}

 private:
  static void Fire(TimerNode* node) {
    auto* self = static_cast<SleepUntilAwaiter*>(node);
    self->worker_->Schedule(self->waiter_);
  }

  Worker* worker_ = nullptr;
  std::coroutine_handle<> waiter_;
};

struct [[nodiscard]] YieldAwaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) const noexcept {
    Worker* worker = Worker::Current();
    assert(worker != nullptr && "Yield() needs a runtime worker");
    worker->Schedule(waiter);
  }
  void await_resume() const noexcept {}
};

}  // namespace internal

// Resumes the awaiting coroutine once `duration` has passed. A zero or
// negative duration does not suspend.
inline internal::SleepUntilAwaiter Sleep(absl::Duration duration) {
  return internal::SleepUntilAwaiter(Clock::DeadlineAfter(duration));
}

// Puts the awaiting coroutine at the back of its worker's run queue, so
// other ready work runs first. For long computations that must not starve
// the worker.
inline internal::YieldAwaiter Yield() { return {}; }

// A fixed-rate ticker. Ticks fall on start + k * period; a tick missed
// because the caller was busy is skipped, not delivered late in a burst.
//
// Thread-compatible: one coroutine uses an Interval.
class Interval {
 public:
  // REQUIRES: period > 0. The first tick is one period from now.
  explicit Interval(absl::Duration period)
      : period_(Clock::ToNanos(period)),
        next_(Clock::MonotonicNanos() + period_) {
    assert(period_ > 0);
  }

  // Waits for the next tick.
  internal::SleepUntilAwaiter Next() {
    const int64_t now = Clock::MonotonicNanos();
    if (next_ <= now) {
      // Skip the ticks that are already past.
      next_ += ((now - next_) / period_ + 1) * period_;
      return internal::SleepUntilAwaiter(now);
    }
    const int64_t deadline = next_;
    next_ += period_;
    return internal::SleepUntilAwaiter(deadline);
  }

  absl::Duration period() const { return absl::Nanoseconds(period_); }

 private:
  int64_t period_;
  int64_t next_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_SLEEP_H_
