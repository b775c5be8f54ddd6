#include "runtime/actor/runtime.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "runtime/core/clock.h"
#include "runtime/core/log.h"

namespace anvil {
namespace {

// At most one runtime holds SIGINT and SIGTERM at a time.
std::atomic<bool> signals_taken{false};

internal::SchedulerOptions ToSchedulerOptions(const RuntimeOptions& options) {
  internal::SchedulerOptions s;
  s.threads = options.threads;
  s.name = options.name;
  s.cpu_affinity = options.cpu_affinity;
  s.idle_spin = options.idle_spin;
  s.stall_threshold = options.stall_threshold;
  const std::string name = options.name;
  s.on_stall = [name](size_t worker, absl::Duration stuck) {
    Log().warn(
        "{}: worker {} has run one actor step for {} without yielding; the "
        "other actors on it wait (co_await something, or anvil::Yield())",
        name, worker, absl::FormatDuration(stuck));
  };
  return s;
}

}  // namespace

class Runtime::SignalHandler final : public internal::EventHandler {
 public:
  SignalHandler(Runtime& runtime, int fd) : runtime_(runtime), fd_(fd) {}
  void OnEvents(uint32_t) override {
    signalfd_siginfo info;
    while (read(fd_, &info, sizeof(info)) == sizeof(info)) {
      runtime_.OnSignal(static_cast<int>(info.ssi_signo));
    }
  }

 private:
  Runtime& runtime_;
  const int fd_;
};

Runtime::Runtime(RuntimeOptions options)
    : options_(std::move(options)), scheduler_(ToSchedulerOptions(options_)) {
  if (!options_.client_interceptors.empty()) {
    internal::runtimes_with_client_interceptors.fetch_add(1);
  }
  for (size_t i = 0; i < scheduler_.size(); ++i) {
    scheduler_.worker(i).set_owner(this);
  }
  if (options_.handle_signals && !options_.manual_workers &&
      !signals_taken.exchange(true)) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    // Blocked here, before the workers start, so that they inherit it.
    pthread_sigmask(SIG_BLOCK, &set, &saved_signal_mask_);
    signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) {
      Log().error("{}: signalfd failed: {}; signals are not handled",
                  options_.name, std::strerror(errno));
      pthread_sigmask(SIG_SETMASK, &saved_signal_mask_, nullptr);
      signals_taken.store(false);
    } else {
      signal_handler_ = std::make_unique<SignalHandler>(*this, signal_fd_);
      absl::Status added = scheduler_.worker(0).AddFd(signal_fd_, EPOLLIN,
                                                      signal_handler_.get());
      if (!added.ok()) Log().error("{}: {}", options_.name, added.ToString());
    }
  }
  if (!options_.manual_workers) scheduler_.Start();
}

size_t Runtime::StepWorkers() {
  size_t steps = 0;
  for (size_t i = 0; i < scheduler_.size(); ++i) {
    steps += scheduler_.worker(i).RunOnce();
  }
  return steps;
}

Runtime::~Runtime() {
  Shutdown();
  absl::Status status = Run();
  if (!status.ok() && absl::IsDeadlineExceeded(status)) {
    Log().error("{}: {}; destroying them", options_.name, status.ToString());
  }
  scheduler_.Stop();
  ForceFinishRemaining();
  std::vector<std::thread> threads;
  {
    MutexLock lock(mu_);
    threads.swap(sync_threads_);
    signal_subscribers_.clear();
  }
  for (std::thread& t : threads) t.join();
  // A blocking job may still be inside Worker::Schedule of the coroutine
  // it resumed; the workers must outlive that.
  while (blocking_jobs_.load(std::memory_order_acquire) > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (signal_fd_ >= 0) {
    close(signal_fd_);
    pthread_sigmask(SIG_SETMASK, &saved_signal_mask_, nullptr);
    signals_taken.store(false);
  }
  if (!options_.client_interceptors.empty()) {
    internal::runtimes_with_client_interceptors.fetch_sub(1);
  }
}

namespace {
thread_local int scoped_spawn_worker = -1;
}  // namespace

ScopedSpawnWorker::ScopedSpawnWorker(int worker)
    : previous_(scoped_spawn_worker) {
  scoped_spawn_worker = worker;
}

ScopedSpawnWorker::~ScopedSpawnWorker() { scoped_spawn_worker = previous_; }

int ScopedSpawnWorker::Current() { return scoped_spawn_worker; }

void Runtime::WarnSupervisorDropped(const std::string& name) {
  Log().error(
      "actor '{}' takes move-only arguments, which a restart cannot copy: it "
      "runs without its supervisor and stops on failure",
      name.empty() ? "(unnamed)" : name);
}

internal::Worker* Runtime::ChooseWorker(const ActorOptions& options) {
  if (options.worker >= 0) {
    return &scheduler_.worker(static_cast<size_t>(options.worker) %
                              scheduler_.size());
  }
  internal::Worker* current = internal::Worker::Current();
  if (current != nullptr && current->index() < scheduler_.size() &&
      &scheduler_.worker(current->index()) == current) {
    return current;
  }
  if (scoped_spawn_worker >= 0) {
    return &scheduler_.worker(static_cast<size_t>(scoped_spawn_worker) %
                              scheduler_.size());
  }
  return &scheduler_.NextWorker();
}

void Runtime::StartActor(internal::ActorCellBase* cell) {
  bool refused = false;
  {
    MutexLock lock(mu_);
    cell->registry_next = registry_;
    if (registry_ != nullptr) registry_->registry_prev = cell;
    registry_ = cell;
    ++live_;
    refused = stopping();
  }
  if (refused) {
    cell->ForceFinish(absl::UnavailableError(
        absl::StrCat("runtime '", options_.name, "' is shutting down; actor '",
                     cell->name(), "' was not started")));
    return;
  }
  cell->Start();
}

void Runtime::StartSyncThread(std::function<void()> body) {
  MutexLock lock(mu_);
  sync_threads_.emplace_back(std::move(body));
}

void Runtime::OnActorFinished(internal::ActorCellBase* cell,
                              const absl::Status& status) {
  MutexLock lock(mu_);
  if (cell->registry_prev != nullptr) {
    cell->registry_prev->registry_next = cell->registry_next;
  } else {
    registry_ = cell->registry_next;
  }
  if (cell->registry_next != nullptr) {
    cell->registry_next->registry_prev = cell->registry_prev;
  }
  cell->registry_prev = cell->registry_next = nullptr;
  --live_;
  if (!status.ok() && first_failure_.ok() && !stopping()) {
    first_failure_ = absl::Status(
        status.code(),
        absl::StrCat("actor '", cell->name(), "' failed: ", status.message()));
  }
  finished_cv_.NotifyAll();
}

absl::Status Runtime::Run() {
  if (options_.manual_workers) {
    // Drive the workers here until the actors finish or nothing can move.
    while (live_actors() > 0) {
      if (StepWorkers() > 0) continue;
      int64_t next_timer = INT64_MAX;
      for (size_t i = 0; i < scheduler_.size(); ++i) {
        next_timer =
            std::min(next_timer, scheduler_.worker(i).timers().NextDeadline());
      }
      if (next_timer == INT64_MAX) {
        MutexLock lock(mu_);
        if (live_ == 0) break;
        return absl::FailedPreconditionError(
            absl::StrCat(live_,
                         " actor(s) are waiting and nothing can wake them "
                         "(manual_workers: no runnable work and no timer)"));
      }
      const int64_t wait = next_timer - Clock::MonotonicNanos();
      if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
    }
  }
  MutexLock lock(mu_);
  while (live_ > 0) {
    if (shutdown_deadline_ == INT64_MAX) {
      finished_cv_.Wait(mu_);
      continue;
    }
    const int64_t left = shutdown_deadline_ - Clock::MonotonicNanos();
    if (left <= 0) {
      const std::vector<std::string> names =
          ListLiveActorsLocked(10, /*with_activity=*/false);
      return absl::DeadlineExceededError(
          absl::StrCat(live_, " actor(s) still running ",
                       absl::FormatDuration(options_.shutdown_timeout),
                       " after shutdown began: ", absl::StrJoin(names, ", ")));
    }
    finished_cv_.WaitFor(mu_, std::chrono::nanoseconds(left));
  }
  return first_failure_;
}

void Runtime::Shutdown() {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  MutexLock lock(mu_);
  shutdown_deadline_ = Clock::DeadlineAfter(options_.shutdown_timeout);
  for (internal::ActorCellBase* c = registry_; c != nullptr;
       c = c->registry_next) {
    c->RequestStop();
  }
  finished_cv_.NotifyAll();
}

std::vector<std::string> Runtime::DescribeLiveActors(size_t limit) {
  MutexLock lock(mu_);
  return ListLiveActorsLocked(limit, /*with_activity=*/true);
}

std::vector<std::string> Runtime::ListLiveActorsLocked(size_t limit,
                                                       bool with_activity) {
  std::vector<std::string> listed;
  for (internal::ActorCellBase* c = registry_; c != nullptr;
       c = c->registry_next) {
    if (listed.size() == limit) {
      listed.push_back("...");
      break;
    }
    listed.push_back(with_activity
                         ? absl::StrCat(c->name(), " (", c->activity(), ")")
                         : c->name());
  }
  return listed;
}

size_t Runtime::live_actors() {
  MutexLock lock(mu_);
  return live_;
}

void Runtime::SubscribeSignals(ActorRef<Signal> subscriber) {
  MutexLock lock(mu_);
  signal_subscribers_.push_back(std::move(subscriber));
}

void Runtime::OnSignal(int signal_number) {
  if (stopping()) {
    Log().error("{}: second signal ({}) during shutdown; exiting now",
                options_.name, strsignal(signal_number));
    std::_Exit(128 + signal_number);
  }
  std::vector<ActorRef<Signal>> subscribers;
  {
    MutexLock lock(mu_);
    std::erase_if(signal_subscribers_,
                  [](const ActorRef<Signal>& r) { return !r.IsAlive(); });
    subscribers = signal_subscribers_;
  }
  size_t delivered = 0;
  for (const ActorRef<Signal>& subscriber : subscribers) {
    absl::Status sent = subscriber.TrySend(Signal{signal_number});
    if (sent.ok()) {
      ++delivered;
    } else {
      Log().warn("{}: could not deliver signal {} to '{}': {}", options_.name,
                 strsignal(signal_number), subscriber.name(), sent.ToString());
    }
  }
  if (delivered > 0) return;
  Log().info("{}: {} received; shutting down gracefully (again to force)",
             options_.name, strsignal(signal_number));
  Shutdown();
}

void Runtime::ForceFinishRemaining() {
  while (true) {
    internal::ActorCellBase* cell;
    {
      MutexLock lock(mu_);
      // Sync actors finish on their own threads, which are joined next.
      cell = registry_;
      while (cell != nullptr && cell->is_sync()) cell = cell->registry_next;
      if (cell == nullptr) return;
    }
    cell->ForceFinish(absl::CancelledError(
        absl::StrCat("runtime '", options_.name,
                     "' was destroyed before the actor finished")));
  }
}

}  // namespace anvil
