// Worker: one thread with its own run queue, timers and epoll event loop.
//
// The runtime starts one worker per core (Nginx- and heph-style). A worker
// resumes the coroutines scheduled on it, fires its timers, and sleeps in
// epoll_wait when it has nothing to run. Other threads hand it work through
// a lock-free inbox (a mutex-protected overflow list takes what does not
// fit) and wake it with one eventfd write, and only when it sleeps.
//
// Internal to the runtime: users see workers only as
// RuntimeOptions::threads and ActorOptions::placement.
//
//   Worker* w = Worker::Current();   // the worker running this coroutine
//   w->Schedule(handle);             // resume `handle` later on w
//
// Thread-safety: Schedule() and RequestStop() are thread-safe; everything
// else is only for the worker's own thread (REQUIRES: Current() == this).
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_WORKER_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_WORKER_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/core/internal/continuation.h"
#include "runtime/core/internal/mpsc_queue.h"
#include "runtime/core/internal/run_queue.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/mutex.h"

namespace anvil::internal {

// Receives epoll events for a file descriptor registered with a worker.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // Called on the worker's thread with the epoll event mask.
  virtual void OnEvents(uint32_t events) = 0;
};

struct WorkerOptions {
  // Thread name (at most 15 characters are kept).
  std::string name = "anvil";
  // CPU to pin the thread to, or -1 for none.
  int cpu = -1;
  // The longest an idle worker polls its inbox before sleeping in
  // epoll_wait. Longer makes cross-worker wake-ups cheaper and burns more
  // CPU when idle. The worker adapts within it: spins that find nothing
  // shrink the next ones to none, and a wake-up soon after sleeping that
  // brings inbox work (which a spin would have caught; socket events it
  // would not) restores the full spin. While another awake worker of the
  // same scheduler runs on this worker's CPU, the spin yields the CPU to it
  // (sched_yield) rather than keep it waiting.
  absl::Duration idle_spin = absl::Microseconds(20);
};

class Worker {
 public:
  Worker(size_t index, WorkerOptions options);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // REQUIRES: the thread was joined (Join()), or never started.
  ~Worker();

  // The worker whose thread is calling, or null on any other thread.
  static Worker* Current() { return current_; }

  size_t index() const { return index_; }

  // The object that owns this worker's scheduler (the Runtime), as set by
  // set_owner() before Start().
  void* owner() const { return owner_; }
  void set_owner(void* owner) { owner_ = owner; }

  // Starts the thread. Called once.
  void Start();

  // Queues `handle` to be resumed on this worker, after what is already
  // queued. Thread-safe. From the worker itself it is a ring-buffer push;
  // from another thread a locked push, plus an eventfd write if the worker
  // sleeps.
  void Schedule(std::coroutine_handle<> handle) {
    if (current_ == this) {
      run_queue_.Push(handle);
    } else {
      ScheduleRemote(handle);
    }
  }

  // Queues `runnable->Run()` on this worker. REQUIRES: on this worker;
  // `runnable` outlives the call.
  void ScheduleLocal(Continuation* runnable) {
    run_queue_.Push(std::coroutine_handle<>::from_address(
        reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(runnable) | 1)));
  }

  // The loop finishes what is runnable now and returns; the thread exits.
  // Coroutines still suspended stay suspended. Thread-safe.
  void RequestStop();

  // Waits for the thread to exit. REQUIRES: RequestStop() was called.
  void Join();

  // Runs one round on the calling thread, as the worker: takes what other
  // threads queued, fires the due timers, collects ready I/O events without
  // blocking, and resumes what is runnable now. Returns how many coroutines
  // (and continuations) it resumed. For workers that were never started
  // (a runtime whose caller drives it, as tests do); REQUIRES: Start() was
  // not called and no other thread is running this worker. Without
  // `poll_events` it skips epoll (no system call): for the simulator, where
  // nothing arrives through file descriptors.
  size_t RunOnce(bool poll_events = true);

  // REQUIRES: on this worker.
  TimerHeap& timers() { return timers_; }

  // Adds `fd` to this worker's epoll set; `handler` gets its events until
  // RemoveFd. REQUIRES: on this worker, or the worker not started.
  absl::Status AddFd(int fd, uint32_t events, EventHandler* handler);
  absl::Status RemoveFd(int fd);

  // Number of coroutine resumptions so far; read by the stall watchdog.
  uint64_t resumptions() const {
    return resumptions_.load(std::memory_order_relaxed);
  }
  // True if coroutines other than the running one are queued here.
  // REQUIRES: on this worker.
  bool has_queued_work() const {
    return !run_queue_.empty() || inbox_.NonEmpty() ||
           overflow_pending_.load(std::memory_order_acquire);
  }
  // True while the worker sleeps in epoll_wait.
  bool sleeping() const { return sleeping_.load(std::memory_order_relaxed); }

  // The workers of the same scheduler, this one included, which an idle
  // spin watches for one running on its CPU. Set before Start(); the
  // vector must outlive the worker's thread.
  void set_siblings(const std::vector<std::unique_ptr<Worker>>* siblings) {
    siblings_ = siblings;
  }

 private:
  void Loop();
  void ScheduleRemote(std::coroutine_handle<> handle);
  // Moves the inbox into the run queue. Returns true if it held anything.
  bool DrainInbox();
  void RunReady();
  // Waits in epoll_wait until an event, a wake-up or the next timer.
  void WaitForEvents();
  // Collects epoll events and dispatches them; `timeout_ms` as epoll_wait.
  void PollEvents(int timeout_ms);
  void ArmTimerFd(int64_t deadline);
  // Records the CPU this thread runs on; true if another awake worker last
  // ran there too, so that spinning here only delays it.
  bool SiblingOnMyCpu();

  static thread_local Worker* current_;

  // Constant after construction.
  const size_t index_;
  const WorkerOptions options_;
  void* owner_ = nullptr;
  const std::vector<std::unique_ptr<Worker>>* siblings_ = nullptr;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  int timer_fd_ = -1;

  // Only the worker's thread.
  RunQueue run_queue_;
  TimerHeap timers_;
  int64_t armed_deadline_ = INT64_MAX;
  std::vector<std::coroutine_handle<>> draining_;

  // Shared with other threads, on cache lines of their own: producers on
  // other workers write the inbox; the worker alone writes the counter, on
  // every resumption, and must not drag the inbox's lines with it.
  static constexpr uint32_t kInboxCapacity = 4096;
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> overflow_pending_{false};
  Mutex overflow_mu_;
  std::vector<std::coroutine_handle<>> overflow_ ABSL_GUARDED_BY(overflow_mu_);
  alignas(64) MpscQueue<std::coroutine_handle<>> inbox_{kInboxCapacity,
                                                        inbox_storage_};
  alignas(64) std::byte
      inbox_storage_[MpscQueue<std::coroutine_handle<>>::StorageBytes(
          kInboxCapacity)];
  alignas(64) std::atomic<uint64_t> resumptions_{0};
  // The CPU the worker last ran on while awake, or -1 while it sleeps.
  std::atomic<int> running_cpu_{-1};

  alignas(64) std::thread thread_;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_WORKER_H_
