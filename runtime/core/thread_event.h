// ThreadEvent: a one-shot event that blocks OS threads (not coroutines),
// like absl::Notification, but built on std::mutex and
// std::condition_variable.
//
// Debian's Abseil is not built for ThreadSanitizer, so TSan cannot see the
// ordering that absl::Notification and absl::Mutex provide; anvil uses
// ThreadEvent (and std::mutex) where a thread waits for another.
//
//   anvil::ThreadEvent done;
//   std::thread t([&] { Work(); done.Notify(); });
//   done.Wait();
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_CORE_THREAD_EVENT_H_
#define ANVIL_RUNTIME_CORE_THREAD_EVENT_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "runtime/core/mutex.h"

namespace anvil {

class ThreadEvent {
 public:
  // Wakes every waiter, now and later. Calling it again has no effect.
  void Notify() {
    MutexLock lock(mu_);
    notified_ = true;
    cv_.NotifyAll();
  }

  // Blocks until Notify() was called.
  void Wait() {
    MutexLock lock(mu_);
    while (!notified_) cv_.Wait(mu_);
  }

  // True once Notify() was called. Does not block.
  bool HasBeenNotified() const {
    MutexLock lock(mu_);
    return notified_;
  }

  // Blocks until Notify() or `timeout`; returns whether it was notified.
  bool WaitFor(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(mu_);
    while (!notified_) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      cv_.WaitFor(mu_, absl::ToChronoNanoseconds(left));
    }
    return true;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_THREAD_EVENT_H_
