#include "runtime/core/internal/scheduler.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/sleep.h"
#include "runtime/core/task.h"
#include "runtime/core/thread_event.h"
#include "runtime/core/with_deadline.h"

namespace anvil::internal {
namespace {

// Runs `task` on `worker` and blocks the test thread until it finishes.
template <typename T>
T BlockOn(Worker& worker, Task<T> task) {
  std::optional<T> result;
  ThreadEvent done;
  auto run = [](Task<T> t, std::optional<T>& out, ThreadEvent& n) -> Detached {
    out.emplace(co_await std::move(t));
    n.Notify();
  };
  run(std::move(task), result, done).StartOn(worker);
  done.Wait();
  return std::move(*result);
}

SchedulerOptions TwoWorkers() {
  SchedulerOptions options;
  options.threads = 2;
  options.name = "test";
  return options;
}

TEST(Scheduler, RunsTasksOnItsWorkers) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  ASSERT_EQ(scheduler.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    Worker* expected = &scheduler.worker(i);
    auto where = []() -> Task<Worker*> { co_return Worker::Current(); };
    EXPECT_EQ(BlockOn(scheduler.worker(i), where()), expected);
  }
  EXPECT_EQ(Worker::Current(), nullptr);
}

TEST(Scheduler, DefaultsToOneWorkerPerCpu) {
  Scheduler scheduler(SchedulerOptions{});
  EXPECT_EQ(scheduler.size(),
            std::max(1u, std::thread::hardware_concurrency()));
}

TEST(Sleep, WaitsAtLeastTheDuration) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto sleeper = []() -> Task<int64_t> {
    const int64_t start = Clock::MonotonicNanos();
    co_await Sleep(absl::Milliseconds(20));
    co_return Clock::MonotonicNanos() - start;
  };
  EXPECT_GE(BlockOn(scheduler.worker(0), sleeper()), 20'000'000);
}

TEST(Sleep, SleepersWakeInDeadlineOrder) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto test = []() -> Task<std::vector<int>> {
    std::vector<int> order;
    std::atomic<int> finished{0};
    auto sleeper = [](int ms, std::vector<int>& out,
                      std::atomic<int>& count) -> Detached {
      co_await Sleep(absl::Milliseconds(ms));
      out.push_back(ms);
      count.fetch_add(1);
    };
    for (int ms : {30, 10, 20, 1}) {
      sleeper(ms, order, finished).StartOn(*Worker::Current());
    }
    while (finished.load() < 4) co_await Sleep(absl::Milliseconds(5));
    co_return order;
  };
  EXPECT_EQ(BlockOn(scheduler.worker(0), test()),
            (std::vector<int>{1, 10, 20, 30}));
}

TEST(Sleep, NonPositiveDurationDoesNotSuspend) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto test = []() -> Task<bool> {
    Worker* before = Worker::Current();
    co_await Sleep(absl::ZeroDuration());
    co_await Sleep(-absl::Seconds(1));
    co_return Worker::Current() == before;
  };
  EXPECT_TRUE(BlockOn(scheduler.worker(1), test()));
}

TEST(Yield, LetsQueuedWorkRunFirst) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto test = []() -> Task<std::vector<int>> {
    std::vector<int> order;
    auto other = [](std::vector<int>& out) -> Detached {
      out.push_back(2);
      co_return;
    };
    other(order).StartOn(*Worker::Current());
    order.push_back(1);
    co_await Yield();
    order.push_back(3);
    co_return order;
  };
  EXPECT_EQ(BlockOn(scheduler.worker(0), test()), (std::vector<int>{1, 2, 3}));
}

// A task on one worker hands work to the other (which sleeps in epoll_wait)
// and waits for it; exercises the eventfd wake-up path many times.
TEST(Scheduler, CrossWorkerHandOffWakesSleepingWorkers) {
  SchedulerOptions options = TwoWorkers();
  options.idle_spin = absl::ZeroDuration();  // always sleep: worst case
  Scheduler scheduler(options);
  scheduler.Start();
  std::atomic<int> counter{0};
  auto bump = [](std::atomic<int>& c) -> Detached {
    c.fetch_add(1);
    co_return;
  };
  constexpr int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    bump(counter).StartOn(scheduler.worker(i % 2));
    if (i % 100 == 0) std::this_thread::yield();
  }
  while (counter.load() < kRounds) std::this_thread::yield();
  EXPECT_EQ(counter.load(), kRounds);
}

TEST(Interval, TicksAtTheRequestedRate) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto test = []() -> Task<int64_t> {
    const int64_t start = Clock::MonotonicNanos();
    Interval interval(absl::Milliseconds(5));
    for (int i = 0; i < 4; ++i) co_await interval.Next();
    co_return Clock::MonotonicNanos() - start;
  };
  EXPECT_GE(BlockOn(scheduler.worker(0), test()), 20'000'000);
}

TEST(Interval, SkipsMissedTicks) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto test = []() -> Task<int64_t> {
    Interval interval(absl::Milliseconds(2));
    // Busy past several ticks without awaiting any.
    const int64_t busy_until = Clock::MonotonicNanos() + 10'000'000;
    while (Clock::MonotonicNanos() < busy_until) {
    }
    const int64_t before = Clock::MonotonicNanos();
    co_await interval.Next();  // the missed ticks collapse into one, now
    const int64_t late = Clock::MonotonicNanos() - before;
    co_await interval.Next();  // then the rate resumes
    co_return late;
  };
  // The late tick does not wait a period or more; it is delivered at once.
  EXPECT_LT(BlockOn(scheduler.worker(0), test()), 2'000'000);
}

TEST(WithDeadline, ReturnsTheResultWhenTheTaskFinishesFirst) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto quick = []() -> Task<int> {
    co_await Sleep(absl::Milliseconds(1));
    co_return 5;
  };
  auto test = [&]() -> Task<absl::StatusOr<int>> {
    co_return co_await WithDeadline(absl::Seconds(30), quick());
  };
  absl::StatusOr<int> result = BlockOn(scheduler.worker(0), test());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 5);
}

TEST(WithDeadline, FoldsTheTaskStatus) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto failing = []() -> Task<absl::Status> {
    co_return absl::NotFoundError("nope");
  };
  auto test = [&]() -> Task<absl::Status> {
    co_return co_await WithDeadline(absl::Seconds(30), failing());
  };
  EXPECT_EQ(BlockOn(scheduler.worker(1), test()).code(),
            absl::StatusCode::kNotFound);
}

TEST(WithDeadline, TimesOutAndLetsTheTaskFinishInTheBackground) {
  Scheduler scheduler(TwoWorkers());
  scheduler.Start();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto slow = [](std::shared_ptr<std::atomic<bool>> done) -> Task<void> {
    co_await Sleep(absl::Milliseconds(100));
    done->store(true);
  };
  auto test = [&]() -> Task<absl::Status> {
    co_return co_await WithDeadline(absl::Milliseconds(1), slow(finished));
  };
  absl::Status status = BlockOn(scheduler.worker(0), test());
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(status.message().find("deadline of 1ms exceeded"),
            std::string::npos)
      << status;
  while (!finished->load()) std::this_thread::yield();
}

TEST(Watchdog, ReportsACoroutineThatNeverYields) {
  SchedulerOptions options = TwoWorkers();
  options.stall_threshold = absl::Milliseconds(20);
  std::atomic<int> reported_worker{-1};
  options.on_stall = [&](size_t worker, absl::Duration stuck) {
    EXPECT_GE(stuck, absl::Milliseconds(20));
    reported_worker.store(static_cast<int>(worker));
  };
  Scheduler scheduler(options);
  scheduler.Start();
  ThreadEvent spinning_done;
  // Spins on worker 0 until the watchdog has reported it.
  auto spinner = [](Scheduler& s, ThreadEvent& done) -> Detached {
    while (s.stalls() == 0) {
    }
    done.Notify();
    co_return;
  };
  spinner(scheduler, spinning_done).StartOn(scheduler.worker(0));
  // Worker 1 keeps serving work meanwhile.
  auto answer = []() -> Task<int> { co_return 42; };
  EXPECT_EQ(BlockOn(scheduler.worker(1), answer()), 42);
  spinning_done.Wait();
  EXPECT_EQ(reported_worker.load(), 0);
  EXPECT_EQ(scheduler.stalls(), 1u);
}

}  // namespace
}  // namespace anvil::internal
