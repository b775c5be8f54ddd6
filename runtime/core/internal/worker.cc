#include "runtime/core/internal/worker.h"

#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/clock.h"

namespace anvil::internal {
namespace {

// epoll data for the worker's own descriptors; handlers are real pointers,
// which are never this small.
constexpr uintptr_t kEventFdTag = 1;
constexpr uintptr_t kTimerFdTag = 2;

[[noreturn]] void DieErrno(const char* what) {
  std::fprintf(stderr, "anvil: worker: %s failed: %s\n", what,
               std::strerror(errno));
  std::abort();
}

}  // namespace

thread_local Worker* Worker::current_ = nullptr;

Worker::Worker(size_t index, WorkerOptions options)
    : index_(index), options_(std::move(options)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) DieErrno("epoll_create1");
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) DieErrno("eventfd");
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) DieErrno("timerfd_create");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kEventFdTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &event) != 0) {
    DieErrno("epoll_ctl(eventfd)");
  }
  event.data.u64 = kTimerFdTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &event) != 0) {
    DieErrno("epoll_ctl(timerfd)");
  }
}

Worker::~Worker() {
  close(timer_fd_);
  close(event_fd_);
  close(epoll_fd_);
}

void Worker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Worker::RequestStop() {
  stop_requested_.store(true, std::memory_order_seq_cst);
  // Wake the loop whether or not it sleeps.
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

absl::Status Worker::AddFd(int fd, uint32_t events, EventHandler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return absl::InternalError(
        absl::StrCat("epoll_ctl(ADD, fd ", fd, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Worker::RemoveFd(int fd) {
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("epoll_ctl(DEL, fd ", fd, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void Worker::ScheduleRemote(std::coroutine_handle<> handle) {
  if (!inbox_.TryPush(handle)) {
    MutexLock lock(overflow_mu_);
    overflow_.push_back(handle);
    overflow_pending_.store(true, std::memory_order_seq_cst);
  }
  // Pairs with the store to sleeping_ in WaitForEvents: the push above is
  // sequentially consistent (the inbox's tail CAS, or the overflow flag),
  // so either the worker sees it before sleeping, or this sees sleeping_
  // and wakes it.
  // Only the thread that flips sleeping_ back writes the eventfd.
  if (sleeping_.load(std::memory_order_seq_cst) &&
      sleeping_.exchange(false, std::memory_order_seq_cst)) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
  }
}

bool Worker::DrainInbox() {
  bool any = false;
  while (std::optional<std::coroutine_handle<>> handle = inbox_.PopWaiting()) {
    run_queue_.Push(*handle);
    any = true;
  }
  if (!overflow_pending_.load(std::memory_order_acquire)) return any;
  {
    MutexLock lock(overflow_mu_);
    overflow_pending_.store(false, std::memory_order_relaxed);
    draining_.swap(overflow_);
  }
  for (std::coroutine_handle<> handle : draining_) run_queue_.Push(handle);
  any |= !draining_.empty();
  draining_.clear();
  return any;
}

size_t Worker::RunOnce(bool poll_events) {
  Worker* const previous = current_;
  current_ = this;
  DrainInbox();
  if (!timers_.empty()) timers_.FireExpired(Clock::MonotonicNanos());
  if (poll_events) {
    PollEvents(0);
    DrainInbox();
  }
  const uint64_t before = resumptions_.load(std::memory_order_relaxed);
  RunReady();
  current_ = previous;
  return resumptions_.load(std::memory_order_relaxed) - before;
}

void Worker::RunReady() {
  // One batch: what is queued now. Work queued while it runs waits for the
  // next round, after the inbox and timers had their turn.
  size_t n = run_queue_.size();
  while (n-- > 0) {
    const std::coroutine_handle<> next = run_queue_.Pop();
    const auto bits = reinterpret_cast<uintptr_t>(next.address());
    if (bits & 1) {
      reinterpret_cast<Continuation*>(bits & ~uintptr_t{1})->Run();
    } else {
      next.resume();
    }
    resumptions_.store(resumptions_.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
  }
}

// A spin shorter than this is not worth its clock reads.
constexpr int64_t kMinSpinNanos = 1000;

void Worker::Loop() {
  current_ = this;
  const std::string name = options_.name.substr(0, 15);
  pthread_setname_np(pthread_self(), name.c_str());
  if (options_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(options_.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  // How long to poll before sleeping adapts between 0 and idle_spin:
  // spinning pays when work comes from other workers within microseconds
  // (actors calling each other), and only takes CPU from other threads when
  // it comes slower (gRPC's threads, sockets, clients on the same machine).
  // A spin that finds nothing halves the next one (to none); a wake-up that
  // brings inbox work within idle_spin of going to sleep restores it.
  const int64_t max_spin = Clock::ToNanos(options_.idle_spin);
  int64_t spin_nanos = max_spin;

  while (true) {
    DrainInbox();
    if (!timers_.empty()) timers_.FireExpired(Clock::MonotonicNanos());
    if (!run_queue_.empty()) {
      running_cpu_.store(sched_getcpu(), std::memory_order_relaxed);
      RunReady();
      if (stop_requested_.load(std::memory_order_acquire)) break;
      continue;
    }
    if (stop_requested_.load(std::memory_order_acquire)) break;

    // Idle: poll the inbox for a short while before paying for a sleep and
    // an eventfd wake-up. When another worker shares this CPU (the kernel
    // put both threads there, say because another process keeps the other
    // CPUs busy), the work this one waits for is likely that worker's, and
    // a spin would only keep it off the CPU: yield to it instead.
    if (spin_nanos > 0) {
      const int64_t spin_until = Clock::MonotonicNanos() + spin_nanos;
      bool work = false;
      if (SiblingOnMyCpu()) sched_yield();
      for (int i = 0;; ++i) {
        if (inbox_.NonEmpty() ||
            overflow_pending_.load(std::memory_order_relaxed) ||
            stop_requested_.load(std::memory_order_relaxed)) {
          work = true;
          break;
        }
        if ((i & 63) == 63) {
          const int64_t now = Clock::MonotonicNanos();
          if (now >= spin_until || timers_.NextDeadline() <= now) break;
          if (SiblingOnMyCpu()) sched_yield();
        }
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      }
      if (work) {
        spin_nanos = max_spin;
        continue;
      }
      spin_nanos = spin_nanos / 2 >= kMinSpinNanos ? spin_nanos / 2 : 0;
    }
    if (max_spin > 0) {
      const int64_t slept_at = Clock::MonotonicNanos();
      WaitForEvents();
      // Only work a spin can see counts: the inbox, not epoll's events.
      if (Clock::MonotonicNanos() - slept_at < max_spin &&
          (inbox_.NonEmpty() ||
           overflow_pending_.load(std::memory_order_relaxed))) {
        spin_nanos = max_spin;
      }
    } else {
      WaitForEvents();
    }
  }
  current_ = nullptr;
}

bool Worker::SiblingOnMyCpu() {
  const int cpu = sched_getcpu();
  running_cpu_.store(cpu, std::memory_order_relaxed);
  if (siblings_ == nullptr || cpu < 0) return false;
  for (const std::unique_ptr<Worker>& sibling : *siblings_) {
    if (sibling.get() != this &&
        sibling->running_cpu_.load(std::memory_order_relaxed) == cpu) {
      return true;
    }
  }
  return false;
}

void Worker::ArmTimerFd(int64_t deadline) {
  if (deadline == armed_deadline_) return;
  itimerspec spec{};
  if (deadline != INT64_MAX) {
    // A zero it_value disarms the timer, so an already-due deadline is
    // armed one nanosecond in.
    const int64_t at = deadline > 0 ? deadline : 1;
    spec.it_value.tv_sec = at / 1'000'000'000;
    spec.it_value.tv_nsec = at % 1'000'000'000;
  }
  if (timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    DieErrno("timerfd_settime");
  }
  armed_deadline_ = deadline;
}

void Worker::WaitForEvents() {
  ArmTimerFd(timers_.NextDeadline());

  running_cpu_.store(-1, std::memory_order_relaxed);
  sleeping_.store(true, std::memory_order_seq_cst);
  const bool pending = inbox_.NonEmpty() ||
                       overflow_pending_.load(std::memory_order_seq_cst) ||
                       stop_requested_.load(std::memory_order_seq_cst);
  // With work pending, still collect ready I/O events, without blocking.
  PollEvents(pending ? 0 : -1);
  sleeping_.store(false, std::memory_order_seq_cst);
}

void Worker::PollEvents(int timeout_ms) {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    DieErrno("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const uintptr_t tag = events[i].data.u64;
    if (tag == kEventFdTag) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = read(event_fd_, &count, sizeof(count));
    } else if (tag == kTimerFdTag) {
      uint64_t expirations;
      [[maybe_unused]] ssize_t r =
          read(timer_fd_, &expirations, sizeof(expirations));
      armed_deadline_ = INT64_MAX;  // a one-shot timerfd disarms itself
    } else {
      static_cast<EventHandler*>(events[i].data.ptr)
          ->OnEvents(events[i].events);
    }
  }
}

}  // namespace anvil::internal
