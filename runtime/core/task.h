// Task<T>: the coroutine type of anvil. Every actor body, every daemon
// lifecycle step and every request handler is a Task.
//
// A Task is lazy (nothing runs until it is awaited or started by the runtime),
// move-only, and resumes its awaiter by symmetric transfer: awaiting a Task
// that finishes without suspending costs two direct resumptions, no trip
// through a scheduler and no stack growth.
//
//   anvil::Task<int> Answer() { co_return 42; }
//
//   anvil::Task<absl::Status> Caller() {
//     int x = co_await Answer();     // runs Answer() inline, then continues
//     if (x != 42) co_return absl::InternalError("wrong answer");
//     co_return absl::OkStatus();
//   }
//
// An exception thrown in a Task is rethrown in its awaiter. Awaiting a Task a
// second time, or awaiting a moved-from Task, is a programmer error (DCHECK).
//
// Thread-compatible: a Task is started and awaited by one coroutine; where it
// runs is decided by what it awaits (the runtime resumes actors on workers).
//
// Example: examples/actors/word_count_main.cc.
#ifndef ANVIL_RUNTIME_CORE_TASK_H_
#define ANVIL_RUNTIME_CORE_TASK_H_

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime/core/internal/continuation.h"
#include "runtime/core/internal/frame_pool.h"

namespace anvil {

template <typename T = void>
class [[nodiscard]] Task;

namespace internal {

// Resumes the awaiter of a finished task by symmetric transfer, or tells the
// observer of a top-level task.
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(
      std::coroutine_handle<Promise> finished) noexcept {
    const uintptr_t next = finished.promise().next;
    if (next & 1) {
      reinterpret_cast<Continuation*>(next & ~uintptr_t{1})
          ->OnTaskDone(finished);
      return std::noop_coroutine();
    }
    if (next == 0) return std::noop_coroutine();
    return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next));
  }
  void await_resume() const noexcept {}
};

struct TaskPromiseBase {
  // Frames come from the per-thread FramePool (see frame_pool.h).
  static void* operator new(size_t size) { return PoolAllocate(size); }
  static void operator delete(void* frame, size_t size) noexcept {
    PoolFree(frame, size);
  }

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }

  void SetContinuation(std::coroutine_handle<> awaiter) noexcept {
    next = reinterpret_cast<uintptr_t>(awaiter.address());
  }
  // For a top-level task: `observer` (at least 2-byte aligned) is told when
  // the task finishes, instead of resuming an awaiter.
  void SetObserver(Continuation* observer) noexcept {
    next = reinterpret_cast<uintptr_t>(observer) | 1;
  }

  // The awaiting coroutine's address, or a Continuation* with the low bit
  // set, or 0. One word, to keep frames small.
  uintptr_t next = 0;
  std::exception_ptr exception;
};

template <typename T>
struct TaskPromise final : TaskPromiseBase {
  Task<T> get_return_object() noexcept;

  template <typename U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(
      std::is_nothrow_constructible_v<T, U&&>) {
    result.emplace(std::forward<U>(value));
  }

  T TakeResult() { return std::move(Result()); }

  // The result in place, for an awaiter that moves it straight to where it
  // goes (TakeResult moves it once more, into its return value).
  // Rethrows the coroutine's exception.
  T& Result() {
    if (exception) std::rethrow_exception(exception);
    assert(result.has_value());
    return *result;
  }

  std::optional<T> result;
};

template <>
struct TaskPromise<void> final : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void TakeResult() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace internal

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = internal::TaskPromise<T>;
  using value_type = T;

  Task() = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { Destroy(); }

  // True if this Task holds a coroutine (it was not moved from).
  bool valid() const { return static_cast<bool>(handle_); }

  // True once the coroutine has run to completion.
  bool done() const { return handle_ && handle_.done(); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(
          std::coroutine_handle<> awaiter) noexcept {
        handle.promise().SetContinuation(awaiter);
        return handle;
      }
      T await_resume() { return handle.promise().TakeResult(); }
    };
    assert(handle_ && !handle_.done());
    return Awaiter{handle_};
  }

  // The underlying coroutine; for the runtime, which starts top-level tasks.
  // The Task keeps ownership.
  std::coroutine_handle<promise_type> handle() const { return handle_; }

  // Gives up ownership of the coroutine frame. The caller destroys it.
  std::coroutine_handle<promise_type> Release() {
    return std::exchange(handle_, {});
  }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}

  void Destroy() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace internal {

template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(
      std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

}  // namespace internal
}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_TASK_H_
