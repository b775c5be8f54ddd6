#include "testing/runtime_test_util.h"

#include <thread>
#include <vector>

namespace anvil::testing {

Runtime& SharedTestRuntime() {
  static Runtime* const runtime = new Runtime(TestRuntimeOptions());
  return *runtime;
}

void RunUntilIdle(Runtime& runtime, std::vector<size_t> workers) {
  anvil::internal::Scheduler& scheduler = runtime.scheduler();
  if (workers.empty()) {
    for (size_t i = 0; i < scheduler.size(); ++i) workers.push_back(i);
  }
  const size_t n = workers.size();
  auto total_resumptions = [&] {
    uint64_t sum = 0;
    for (size_t i : workers) sum += scheduler.worker(i).resumptions();
    return sum;
  };
  // A barrier task per worker reports whether anything else was queued
  // there. Idle means: one round in which no worker had other work and
  // nothing but the barriers ran.
  while (true) {
    const uint64_t before = total_resumptions();
    std::atomic<bool> busy{false};
    std::vector<ThreadEvent> done(n);
    auto barrier = [](std::atomic<bool>& busy_flag,
                      ThreadEvent& event) -> anvil::internal::Detached {
      if (anvil::internal::Worker::Current()->has_queued_work()) {
        busy_flag.store(true);
      }
      event.Notify();
      co_return;
    };
    for (size_t i = 0; i < n; ++i) {
      barrier(busy, done[i]).StartOn(scheduler.worker(workers[i]));
    }
    for (ThreadEvent& event : done) event.Wait();
    // Each barrier counts once when its resume() returns; wait for that.
    while (total_resumptions() < before + n) std::this_thread::yield();
    if (!busy.load() && total_resumptions() == before + n) return;
  }
}

WorkerBlocker::WorkerBlocker(Runtime& runtime, size_t worker) {
  auto block = [](std::atomic<bool>& released, ThreadEvent& blocking,
                  ThreadEvent& finished) -> anvil::internal::Detached {
    blocking.Notify();
    while (!released.load()) std::this_thread::yield();
    finished.Notify();
    co_return;
  };
  block(released_, blocking_, finished_)
      .StartOn(runtime.scheduler().worker(worker));
  started_ = true;
  blocking_.Wait();
}

void WorkerBlocker::Release() {
  if (!started_ || released_.exchange(true)) return;
  finished_.Wait();
}

}  // namespace anvil::testing
