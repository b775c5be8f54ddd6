// Scheduler: the runtime's worker threads, one event loop each, plus a
// watchdog that reports coroutines that run too long without yielding.
//
//   anvil::internal::Scheduler scheduler({.threads = 2});
//   scheduler.Start();
//   scheduler.worker(1).Schedule(h);  // resumed on worker 1
//   ...
//   scheduler.Stop();                 // joins the threads
//
// Internal: users reach it through anvil::Runtime.
//
// Thread-safe, except Start() and Stop(), which belong to the owner.
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_SCHEDULER_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_SCHEDULER_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/mutex.h"

namespace anvil::internal {

struct SchedulerOptions {
  // Worker threads; 0 means one per available CPU.
  size_t threads = 0;
  // Prefix of the thread names ("anvil" gives anvil-0, anvil-1, ...).
  std::string name = "anvil";
  // Pin worker i to CPU i (modulo the CPU count).
  bool cpu_affinity = false;
  // See WorkerOptions::idle_spin.
  absl::Duration idle_spin = absl::Microseconds(20);
  // A worker that resumes nothing new for this long while awake is reported
  // to `on_stall`. Zero disables the watchdog.
  absl::Duration stall_threshold = absl::Seconds(1);
  // Called on the watchdog thread with the worker index and for how long it
  // has been stuck; once per stall. Default: a line on stderr.
  std::function<void(size_t worker, absl::Duration stuck)> on_stall;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  // Stops the workers if Stop() was not called.
  ~Scheduler();

  // Starts the worker threads and the watchdog. Called once. Not called
  // for a scheduler whose caller drives the workers (Worker::RunOnce).
  void Start();

  // Stops every worker after its current batch and joins the threads.
  // Suspended coroutines stay suspended; their owners destroy them.
  void Stop();

  size_t size() const { return workers_.size(); }
  Worker& worker(size_t index) { return *workers_[index]; }

  // The next worker in round-robin order.
  Worker& NextWorker();

  // How many stalls the watchdog has reported.
  uint64_t stalls() const { return stalls_.load(std::memory_order_acquire); }

 private:
  void Watch();

  const SchedulerOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> next_worker_{0};
  std::atomic<uint64_t> stalls_{0};
  bool started_ = false;
  bool stopped_ = false;

  Mutex watchdog_mu_;
  CondVar watchdog_cv_;
  bool watchdog_stop_ ABSL_GUARDED_BY(watchdog_mu_) = false;
  std::thread watchdog_;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_SCHEDULER_H_
