// RunBlocking: run a blocking call (fsync, a file read, a library without
// an async API) off the worker's event loop, and await its result.
//
//   absl::Status synced = co_await anvil::RunBlocking([&] {
//     return log.Sync();                  // blocks for milliseconds
//   });
//
// The function runs on a small process-wide pool of threads; the awaiting
// coroutine resumes on its own worker with the result (an exception thrown
// by the function is rethrown there), and the worker serves other actors
// meanwhile. The function must not touch state the actor's worker uses
// concurrently: the awaiting coroutine is suspended, so its own locals are
// safe.
//
// On a runtime its caller drives (RuntimeOptions::manual_workers, as in a
// testing/sim Simulation) the function runs inline, on the calling thread,
// so that a simulated run stays single-threaded and deterministic.
//
// REQUIRES: awaited on a runtime worker. Thread-safe.
#ifndef ANVIL_RUNTIME_ACTOR_BLOCKING_H_
#define ANVIL_RUNTIME_ACTOR_BLOCKING_H_

#include <cassert>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime/actor/runtime.h"
#include "runtime/core/internal/worker.h"

namespace anvil {
namespace internal {

// Runs `job` on one of the blocking pool's threads (started on first use).
void SubmitBlocking(std::function<void()> job);

template <typename Fn>
class BlockingAwaiter {
 public:
  using Result = std::invoke_result_t<Fn&>;

  explicit BlockingAwaiter(Fn fn) : fn_(std::move(fn)) {}

  bool await_ready() {
    Worker* worker = Worker::Current();
    assert(worker != nullptr && "co_await RunBlocking() needs a worker");
    if (static_cast<Runtime*>(worker->owner())->manual_workers()) {
      Run();  // deterministic: no other thread
      return true;
    }
    return false;
  }

  void await_suspend(std::coroutine_handle<> caller) {
    Worker* worker = Worker::Current();
    Runtime* runtime = static_cast<Runtime*>(worker->owner());
    runtime->BlockingJobBegan();
    SubmitBlocking([this, caller, worker, runtime] {
      Run();
      worker->Schedule(caller);     // `this` may be gone after this line,
      runtime->BlockingJobEnded();  // and the runtime after this one
    });
  }

  Result await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<Result>) return std::move(*result_);
  }

 private:
  void Run() {
    try {
      if constexpr (std::is_void_v<Result>) {
        fn_();
      } else {
        result_.emplace(fn_());
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  struct Empty {};
  Fn fn_;
  std::optional<std::conditional_t<std::is_void_v<Result>, Empty, Result>>
      result_;
  std::exception_ptr error_;
};

}  // namespace internal

template <typename Fn>
internal::BlockingAwaiter<std::decay_t<Fn>> RunBlocking(Fn&& fn) {
  return internal::BlockingAwaiter<std::decay_t<Fn>>(std::forward<Fn>(fn));
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_BLOCKING_H_
