// Helpers for tests of code that runs on an anvil::Runtime.
//
//   anvil::Runtime runtime(anvil::testing::TestRuntimeOptions());
//   int n = anvil::testing::BlockOn(runtime, SomeTask());  // on a worker
//   anvil::testing::RunUntilIdle(runtime);   // every actor parked or asleep
//   {
//     anvil::testing::WorkerBlocker blocked(runtime, 0);  // worker 0 stalls
//     ... fill a mailbox of an actor on worker 0 ...
//   }                                                     // and resumes
//   ANVIL_ASSERT_SIZE(anvil::ActorRef<int>, 8);
//
//   // Step by step, on the test's thread:
//   RuntimeOptions options = TestRuntimeOptions();
//   options.manual_workers = true;
//   anvil::Runtime manual(options);
//   auto ref = manual.Spawn(Counter);
//   ref.TrySend(Increment{});
//   anvil::testing::Step(manual);    // the actor takes the message
//
//   // A coroutine API that needs a worker, without a runtime of the test's:
//   absl::Status s = anvil::testing::Await(log->Append("record"));
//
// Thread-safe; call them from the test's thread, not from a worker.
#ifndef ANVIL_TESTING_RUNTIME_TEST_UTIL_H_
#define ANVIL_TESTING_RUNTIME_TEST_UTIL_H_

#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/actor/runtime.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/task.h"
#include "runtime/core/thread_event.h"

// Fails to compile unless sizeof(type) == bytes, naming both.
#define ANVIL_ASSERT_SIZE(type, bytes)                                  \
  static_assert(::anvil::testing::internal::SizeIs<type, bytes>::value, \
                "sizeof(" #type ") is not " #bytes)

namespace anvil::testing {
namespace internal {

template <typename T, size_t N>
struct SizeIs {
  // On failure the compiler prints the actual size in this instantiation.
  static constexpr bool value = sizeof(T) == N;
};

}  // namespace internal

// Options for tests: two workers (whatever the machine), no signal
// handling, a short shutdown timeout.
inline RuntimeOptions TestRuntimeOptions() {
  RuntimeOptions options;
  options.threads = 2;
  options.name = "test";
  options.handle_signals = false;
  options.shutdown_timeout = absl::Seconds(10);
  return options;
}

// Runs `task` on one of the runtime's workers (round robin, or `worker` if
// given) and blocks until it finishes. Exceptions propagate.
template <typename T>
T BlockOn(Runtime& runtime, Task<T> task, int worker = -1) {
  std::optional<T> result;
  std::exception_ptr exception;
  ThreadEvent done;
  auto run = [](Task<T> t, std::optional<T>& out, std::exception_ptr& error,
                ThreadEvent& event) -> anvil::internal::Detached {
    try {
      out.emplace(co_await std::move(t));
    } catch (...) {
      error = std::current_exception();
    }
    event.Notify();
  };
  anvil::internal::Worker& target =
      worker >= 0 ? runtime.scheduler().worker(static_cast<size_t>(worker))
                  : runtime.scheduler().NextWorker();
  run(std::move(task), result, exception, done).StartOn(target);
  done.Wait();
  if (exception) std::rethrow_exception(exception);
  return std::move(*result);
}

inline void BlockOn(Runtime& runtime, Task<void> task, int worker = -1) {
  auto wrap = [](Task<void> t) -> Task<bool> {
    co_await std::move(t);
    co_return true;
  };
  BlockOn(runtime, wrap(std::move(task)), worker);
}

// The test binary's shared runtime (TestRuntimeOptions), made on first use
// and never shut down: for tests that await coroutine APIs (files, stores)
// and need a worker but no runtime of their own.
Runtime& SharedTestRuntime();

// BlockOn(SharedTestRuntime(), task).
template <typename T>
T Await(Task<T> task) {
  return BlockOn(SharedTestRuntime(), std::move(task));
}

// For a runtime with RuntimeOptions::manual_workers: runs one round on
// every worker, on this thread, and returns how many steps ran. Lets a test
// poll actors step by step and look at their effects in between.
inline size_t Step(Runtime& runtime) { return runtime.StepWorkers(); }

// Steps until a round runs nothing; returns the number of steps in all.
// Timers that are not due yet are not waited for.
inline size_t StepUntilIdle(Runtime& runtime) {
  size_t total = 0;
  while (size_t steps = runtime.StepWorkers()) total += steps;
  return total;
}

// Returns once no worker has anything to run: every actor is parked in
// Receive, asleep on a timer, or waiting on something outside the runtime.
// Timers that are not due yet are not waited for. With `workers`, only those
// are watched (the others may be blocked by a WorkerBlocker).
void RunUntilIdle(Runtime& runtime, std::vector<size_t> workers = {});

// Occupies one worker from construction until destruction (or Release()):
// actors placed there do not run, so their mailboxes fill deterministically.
class WorkerBlocker {
 public:
  WorkerBlocker(Runtime& runtime, size_t worker);
  WorkerBlocker(const WorkerBlocker&) = delete;
  WorkerBlocker& operator=(const WorkerBlocker&) = delete;
  ~WorkerBlocker() { Release(); }
  void Release();

 private:
  std::atomic<bool> released_{false};
  ThreadEvent blocking_;
  ThreadEvent finished_;
  bool started_ = false;
};

}  // namespace anvil::testing

#endif  // ANVIL_TESTING_RUNTIME_TEST_UTIL_H_
