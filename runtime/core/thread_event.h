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

#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"

namespace anvil {

class ThreadEvent {
 public:
  // Wakes every waiter, now and later. Calling it again has no effect.
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }

  // Blocks until Notify() was called.
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return notified_; });
  }

  // Blocks until Notify() or `timeout`; returns whether it was notified.
  bool WaitFor(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [this] { return notified_; });
  }

  bool HasBeenNotified() {
    std::lock_guard<std::mutex> lock(mu_);
    return notified_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_THREAD_EVENT_H_
