// AsyncEvent: a one-shot event that coroutines await without blocking their
// worker. The coroutine counterpart of ThreadEvent.
//
//   anvil::AsyncEvent ready;
//   // On a worker:
//   co_await ready.Wait();    // suspends until Notify(); at once after it
//   // Anywhere (a worker, another thread):
//   ready.Notify();
//
// Each waiter is resumed on the worker it awaited on (queued there, after
// what is already runnable), never inline in Notify(), so Notify() may be
// called while holding locks. The event must outlive its waiters.
//
// Thread-safe. Wait() must be awaited on a runtime worker.
#ifndef ANVIL_RUNTIME_CORE_ASYNC_EVENT_H_
#define ANVIL_RUNTIME_CORE_ASYNC_EVENT_H_

#include <atomic>
#include <cassert>
#include <coroutine>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/mutex.h"

namespace anvil {

class AsyncEvent {
 public:
  AsyncEvent() = default;
  AsyncEvent(const AsyncEvent&) = delete;
  AsyncEvent& operator=(const AsyncEvent&) = delete;

  // Resumes every waiter, and lets later Wait()s go on at once. Calling it
  // again has no effect.
  void Notify() {
    std::vector<Waiting> waiting;
    {
      MutexLock lock(mu_);
      if (notified_.load(std::memory_order_relaxed)) return;
      notified_.store(true, std::memory_order_release);
      waiting.swap(waiting_);
    }
    for (const Waiting& w : waiting) w.worker->Schedule(w.handle);
  }

  bool HasBeenNotified() const {
    return notified_.load(std::memory_order_acquire);
  }

  class [[nodiscard]] Awaiter {
   public:
    explicit Awaiter(AsyncEvent& event) : event_(event) {}
    bool await_ready() const { return event_.HasBeenNotified(); }
    bool await_suspend(std::coroutine_handle<> handle) {
      internal::Worker* worker = internal::Worker::Current();
      assert(worker != nullptr && "co_await AsyncEvent::Wait() off a worker");
      MutexLock lock(event_.mu_);
      if (event_.notified_.load(std::memory_order_relaxed)) return false;
      event_.waiting_.push_back(Waiting{handle, worker});
      return true;
    }
    void await_resume() const {}

   private:
    AsyncEvent& event_;
  };

  // co_await: until Notify() was called.
  Awaiter Wait() { return Awaiter(*this); }

 private:
  struct Waiting {
    std::coroutine_handle<> handle;
    internal::Worker* worker;
  };

  Mutex mu_;
  std::atomic<bool> notified_{false};
  std::vector<Waiting> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_ASYNC_EVENT_H_
