// Detached: a fire-and-forget coroutine that the runtime starts on a worker
// and that frees itself when it finishes.
//
//   internal::Detached Run(Task<> task) { co_await std::move(task); }
//   Run(std::move(task)).StartOn(worker);
//
// Internal. Used where a coroutine must outlive the code that started it:
// the body of WithDeadline, test helpers that block on a task.
//
// An exception escaping a Detached coroutine terminates the process: wrap the
// body so that it cannot throw.
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_DETACHED_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_DETACHED_H_

#include <coroutine>
#include <exception>
#include <utility>

#include "runtime/core/internal/worker.h"

namespace anvil::internal {

class [[nodiscard]] Detached {
 public:
  struct promise_type {
    Detached get_return_object() noexcept {
      return Detached(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };

  Detached(Detached&& other) noexcept
      : handle_(std::exchange(other.handle_, {})) {}
  Detached(const Detached&) = delete;
  Detached& operator=(const Detached&) = delete;
  // A Detached that was never started is destroyed unstarted.
  ~Detached() {
    if (handle_) handle_.destroy();
  }

  // Schedules the coroutine on `worker`; from then on it owns itself.
  void StartOn(Worker& worker) && {
    worker.Schedule(std::exchange(handle_, {}));
  }

  // Runs the coroutine on the calling thread until its first suspension.
  void StartInline() && { std::exchange(handle_, {}).resume(); }

 private:
  explicit Detached(std::coroutine_handle<promise_type> handle)
      : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_DETACHED_H_
