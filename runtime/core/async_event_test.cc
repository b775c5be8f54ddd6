#include "runtime/core/async_event.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/scheduler.h"
#include "runtime/core/thread_event.h"

namespace anvil {
namespace {

using internal::Detached;
using internal::Scheduler;
using internal::SchedulerOptions;
using internal::Worker;

Scheduler& StartedScheduler() {
  static Scheduler* scheduler = [] {
    SchedulerOptions options;
    options.threads = 2;
    options.name = "test";
    auto* s = new Scheduler(options);
    s->Start();
    return s;
  }();
  return *scheduler;
}

// Awaits `event` on `worker`, then records the worker it resumed on.
Detached AwaitEvent(AsyncEvent& event, std::atomic<Worker*>& resumed_on,
                    ThreadEvent& done) {
  co_await event.Wait();
  resumed_on.store(Worker::Current());
  done.Notify();
}

TEST(AsyncEvent, ResumesEachWaiterOnItsOwnWorker) {
  Scheduler& scheduler = StartedScheduler();
  AsyncEvent event;
  std::atomic<Worker*> resumed_on[2] = {nullptr, nullptr};
  ThreadEvent done[2];
  for (size_t w = 0; w < 2; ++w) {
    AwaitEvent(event, resumed_on[w], done[w]).StartOn(scheduler.worker(w));
  }
  // Neither can have finished: nothing notified the event yet.
  EXPECT_FALSE(done[0].WaitFor(absl::Milliseconds(20)));
  EXPECT_EQ(resumed_on[0].load(), nullptr);
  EXPECT_EQ(resumed_on[1].load(), nullptr);

  event.Notify();  // from a thread that is not a worker
  for (size_t w = 0; w < 2; ++w) {
    done[w].Wait();
    EXPECT_EQ(resumed_on[w].load(), &scheduler.worker(w));
  }
  EXPECT_TRUE(event.HasBeenNotified());
}

TEST(AsyncEvent, WaitAfterNotifyDoesNotSuspend) {
  Scheduler& scheduler = StartedScheduler();
  AsyncEvent event;
  event.Notify();
  event.Notify();  // a second call has no effect
  std::atomic<Worker*> resumed_on{nullptr};
  ThreadEvent done;
  AwaitEvent(event, resumed_on, done).StartOn(scheduler.worker(1));
  done.Wait();
  EXPECT_EQ(resumed_on.load(), &scheduler.worker(1));
}

TEST(AsyncEvent, NotifyRacingWithManyWaitersWakesAll) {
  Scheduler& scheduler = StartedScheduler();
  constexpr int kWaiters = 200;
  AsyncEvent event;
  std::vector<std::atomic<Worker*>> resumed_on(kWaiters);
  std::vector<ThreadEvent> done(kWaiters);
  std::thread notifier([&] { event.Notify(); });
  for (int i = 0; i < kWaiters; ++i) {
    AwaitEvent(event, resumed_on[i], done[i])
        .StartOn(scheduler.worker(static_cast<size_t>(i % 2)));
  }
  notifier.join();
  for (int i = 0; i < kWaiters; ++i) {
    done[i].Wait();
    EXPECT_EQ(resumed_on[i].load(), &scheduler.worker(i % 2));
  }
}

}  // namespace
}  // namespace anvil
