#include "runtime/core/internal/scheduler.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/clock.h"

namespace anvil::internal {

Scheduler::Scheduler(SchedulerOptions options) : options_(std::move(options)) {
  size_t threads = options_.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) {
    WorkerOptions worker_options;
    worker_options.name = absl::StrCat(options_.name, "-", i);
    worker_options.cpu =
        options_.cpu_affinity ? static_cast<int>(i % cpus) : -1;
    worker_options.idle_spin = options_.idle_spin;
    workers_.push_back(std::make_unique<Worker>(i, std::move(worker_options)));
  }
  for (auto& worker : workers_) worker->set_siblings(&workers_);
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  if (started_) return;
  started_ = true;
  for (auto& worker : workers_) worker->Start();
  if (options_.stall_threshold > absl::ZeroDuration()) {
    watchdog_ = std::thread([this] { Watch(); });
  }
}

void Scheduler::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  {
    MutexLock lock(watchdog_mu_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.NotifyAll();
  if (watchdog_.joinable()) watchdog_.join();
  for (auto& worker : workers_) worker->RequestStop();
  for (auto& worker : workers_) worker->Join();
}

Worker& Scheduler::NextWorker() {
  return *workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) %
                   workers_.size()];
}

void Scheduler::Watch() {
  struct Seen {
    uint64_t resumptions = 0;
    int64_t since = 0;
    bool reported = false;
  };
  std::vector<Seen> seen(workers_.size(),
                         Seen{0, Clock::MonotonicNanos(), false});
  const int64_t threshold = Clock::ToNanos(options_.stall_threshold);
  const absl::Duration period =
      std::max(options_.stall_threshold / 4, absl::Milliseconds(1));
  MutexLock lock(watchdog_mu_);
  while (!watchdog_stop_) {
    watchdog_cv_.WaitFor(watchdog_mu_, absl::ToChronoNanoseconds(period));
    if (watchdog_stop_) break;
    const int64_t now = Clock::MonotonicNanos();
    for (size_t i = 0; i < workers_.size(); ++i) {
      const Worker& worker = *workers_[i];
      const uint64_t resumptions = worker.resumptions();
      Seen& s = seen[i];
      if (worker.sleeping() || resumptions != s.resumptions) {
        s = Seen{resumptions, now, false};
        continue;
      }
      if (!s.reported && now - s.since >= threshold) {
        s.reported = true;
        const absl::Duration stuck = absl::Nanoseconds(now - s.since);
        if (options_.on_stall) {
          options_.on_stall(i, stuck);
        } else {
          std::fprintf(stderr,
                       "anvil: worker %zu has run one coroutine for %s "
                       "without yielding; other work on it waits\n",
                       i, absl::FormatDuration(stuck).c_str());
        }
        // Counted after the report, so that a reader of stalls() sees it.
        stalls_.fetch_add(1, std::memory_order_release);
      }
    }
  }
}

}  // namespace anvil::internal
