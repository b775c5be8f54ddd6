// ActorInstance: a ActorContext<M> with the body function and its arguments, in
// one allocation with the mailbox slots. Internal; created by
// Runtime::Spawn and Runtime::SpawnSync.
#ifndef ANVIL_RUNTIME_ACTOR_INTERNAL_ACTOR_INSTANCE_H_
#define ANVIL_RUNTIME_ACTOR_INTERNAL_ACTOR_INSTANCE_H_

#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/actor_context.h"
#include "runtime/actor/internal/mailbox.h"
#include "runtime/actor/sync_context.h"
#include "runtime/core/internal/frame_pool.h"
#include "runtime/core/task.h"

namespace anvil::internal {

// The status of a finished body: its return value, or INTERNAL for an
// exception.
inline absl::Status StatusFromException(std::exception_ptr exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("actor threw: ", e.what()));
  } catch (...) {
    return absl::InternalError("actor threw a non-std::exception");
  }
}

template <typename M, typename Fn, typename... Args>
class ActorInstance final : public ActorContext<M> {
 public:
  static constexpr bool kSync =
      std::is_invocable_v<Fn&, SyncContext<M>&, Args&...>;

  // Move-only arguments (a socket) are moved into the body; an actor that
  // takes them cannot be restarted (Spawn drops such a supervisor).
  static constexpr bool kCopyableArguments =
      (std::is_copy_constructible_v<Args> && ...);

  // The body's Task type (void for sync actors, which have none).
  using Body = typename std::conditional_t<
      kSync, std::type_identity<void>,
      std::invoke_result<
          Fn&, ActorContext<M>&,
          std::conditional_t<kCopyableArguments, Args&, Args&&>...>>::type;

  // Allocates the instance and its mailbox storage together.
  template <typename F, typename... A>
  static ActorInstance* Create(uint32_t id, Worker* worker,
                               ActorOptions& options, uint32_t capacity, F&& fn,
                               A&&... args) {
    const size_t storage_offset = StorageOffset();
    const size_t bytes = storage_offset + Mailbox<M>::StorageBytes(capacity);
    void* memory = Allocate(bytes);
    void* storage = static_cast<std::byte*>(memory) + storage_offset;
    return new (memory)
        ActorInstance(id, worker, options, capacity, storage,
                      std::forward<F>(fn), std::forward<A>(args)...);
  }

  ActorCellBase* cell() { return this->base(); }

 private:
  template <typename F, typename... A>
  ActorInstance(uint32_t id, Worker* worker, ActorOptions& options,
                uint32_t capacity, void* storage, F&& fn, A&&... args)
      : ActorContext<M>(id, worker, options, kSync, capacity, storage),
        fn_(std::forward<F>(fn)),
        args_(std::forward<A>(args)...) {}

  static constexpr size_t kAlignment =
      std::max(alignof(ActorInstance), alignof(M));
  static constexpr bool kOverAligned = kAlignment > kPoolAlignment;

  static constexpr size_t StorageOffset() {
    return (sizeof(ActorInstance) + alignof(M) - 1) / alignof(M) * alignof(M);
  }
  static void* Allocate(size_t bytes) {
    if constexpr (kOverAligned) {
      return ::operator new (bytes, std::align_val_t{kAlignment});
    } else {
      return PoolAllocate(bytes);
    }
  }

  void DeleteSelf() override {
    const size_t bytes =
        StorageOffset() + Mailbox<M>::StorageBytes(this->mailbox_capacity());
    this->~ActorInstance();
    if constexpr (kOverAligned) {
      ::operator delete (static_cast<void*>(this),
                         std::align_val_t{kAlignment});
    } else {
      PoolFree(static_cast<void*>(this), bytes);
    }
  }

  // Calls the body function with the spawn arguments: copies of them if
  // the supervisor may restart the actor, else the arguments themselves
  // (moved), so that the body alone decides how long what they hold lives.
  template <typename Ctx>
  decltype(auto) CallBody(Ctx& context) {
    if constexpr (kCopyableArguments) {
      if (this->restartable()) {
        return std::apply(
            [&](Args&... args) { return std::invoke(fn_, context, args...); },
            args_);
      }
    }
    return std::apply(
        [&](Args&... args) {
          return std::invoke(fn_, context, std::move(args)...);
        },
        args_);
  }

  void ReleaseArguments() override {
    [[maybe_unused]] std::tuple<Args...> released(std::move(args_));
  }

  std::coroutine_handle<> CreateBody() override {
    if constexpr (kSync) {
      return nullptr;
    } else {
      Body task = CallBody(static_cast<ActorContext<M>&>(*this));
      auto handle = task.Release();
      handle.promise().SetObserver(this);
      return handle;
    }
  }

  absl::Status BodyResult(std::coroutine_handle<> body) override {
    if constexpr (kSync) {
      return absl::OkStatus();
    } else {
      using Promise = typename Body::promise_type;
      auto& promise =
          std::coroutine_handle<Promise>::from_address(body.address())
              .promise();
      if (promise.exception) return StatusFromException(promise.exception);
      if constexpr (std::is_same_v<Body, Task<absl::Status>>) {
        return promise.TakeResult();
      } else {
        return absl::OkStatus();
      }
    }
  }

  absl::Status RunSyncBody() override {
    if constexpr (kSync) {
      using Result = std::invoke_result_t<Fn&, SyncContext<M>&, Args&...>;
      SyncContext<M> context(*this);
      try {
        if constexpr (std::is_same_v<Result, absl::Status>) {
          return CallBody(context);
        } else {
          CallBody(context);
          return absl::OkStatus();
        }
      } catch (...) {
        return StatusFromException(std::current_exception());
      }
    } else {
      return absl::InternalError("not a sync actor");
    }
  }

  [[no_unique_address]] Fn fn_;
  [[no_unique_address]] std::tuple<Args...> args_;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_ACTOR_INTERNAL_ACTOR_INSTANCE_H_
