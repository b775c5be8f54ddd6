#include "runtime/actor/blocking.h"

#include <stdexcept>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/thread_event.h"
#include "testing/runtime_test_util.h"

namespace anvil {
namespace {

RuntimeOptions OneWorker() {
  RuntimeOptions options = testing::TestRuntimeOptions();
  options.threads = 1;
  return options;
}

TEST(RunBlockingTest, TheWorkerServesOthersWhileTheCallBlocks) {
  Runtime runtime(OneWorker());
  ThreadEvent released;
  ActorRef<int> releaser = runtime.Spawn(
      [](ActorContext<int>& ctx, ThreadEvent* event) -> Task<> {
        while (co_await ctx.Receive()) event->Notify();
      },
      &released);
  // On the only worker: a call that asks the other actor, on that same
  // worker, to release it, then blocks until it does. Had the call blocked
  // the worker, it would wait forever.
  const std::string result = anvil::testing::BlockOn(
      runtime,
      [](ActorRef<int> other, ThreadEvent* event) -> Task<std::string> {
        co_return co_await RunBlocking([other, event] {
          if (!other.TrySend(1).ok()) return std::string("send failed");
          event->Wait();
          return std::string("released");
        });
      }(releaser, &released));
  EXPECT_EQ(result, "released");
}

TEST(RunBlockingTest, ResumesOnTheAwaitingWorkerAndRunsElsewhere) {
  Runtime runtime(OneWorker());
  auto [worker_before, pool_thread, worker_after] = anvil::testing::BlockOn(
      runtime,
      []() -> Task<
               std::tuple<std::thread::id, std::thread::id, std::thread::id>> {
        const std::thread::id before = std::this_thread::get_id();
        const std::thread::id inside =
            co_await RunBlocking([] { return std::this_thread::get_id(); });
        co_return std::make_tuple(before, inside, std::this_thread::get_id());
      }());
  EXPECT_EQ(worker_before, worker_after);
  EXPECT_NE(pool_thread, worker_before);
}

TEST(RunBlockingTest, ExceptionsAndVoidResultsReachTheAwaiter) {
  Runtime runtime(OneWorker());
  const std::string caught =
      anvil::testing::BlockOn(runtime, []() -> Task<std::string> {
        int calls = 0;
        co_await RunBlocking([&calls] { ++calls; });
        try {
          co_await RunBlocking([]() -> int { throw std::runtime_error("io"); });
        } catch (const std::runtime_error& e) {
          co_return std::string(e.what()) + std::to_string(calls);
        }
        co_return std::string("no exception");
      }());
  EXPECT_EQ(caught, "io1");
}

TEST(RunBlockingTest, RunsInlineOnADrivenRuntime) {
  RuntimeOptions options = OneWorker();
  options.manual_workers = true;
  Runtime runtime(options);
  std::thread::id inside;
  bool done = false;
  runtime.Spawn(
      [](ActorContext<int>&, std::thread::id* where, bool* finished) -> Task<> {
        *where =
            co_await RunBlocking([] { return std::this_thread::get_id(); });
        *finished = true;
      },
      &inside, &done);
  anvil::testing::StepUntilIdle(runtime);
  EXPECT_TRUE(done);
  EXPECT_EQ(inside, std::this_thread::get_id());
  EXPECT_TRUE(runtime.Run().ok());
}

}  // namespace
}  // namespace anvil
