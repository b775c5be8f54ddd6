// ConcurrentCalls: runs the calls an actor serves reentrantly, next to its
// receive loop, and lets it wait for them before it ends. Internal; used by
// generated code for methods with (anvil.method).reentrant.
//
//   internal::ConcurrentCalls calls;
//   while (std::optional<M> message = co_await ctx.Receive()) {
//     calls.Start(ServeOne(std::move(*message)));   // does not wait
//   }
//   co_await calls.Drain();                          // every call finished
//
// Each call runs on the worker that started it, interleaved with the loop
// and the other calls at their suspension points. An exception escaping a
// call is logged and swallowed: the caller's ReplySender, destroyed with the
// call, answers it with CANCELLED.
//
// Thread-safety: Start and Drain from the actor that owns it; the calls may
// finish on any thread.
#ifndef ANVIL_RUNTIME_ACTOR_INTERNAL_CONCURRENT_CALLS_H_
#define ANVIL_RUNTIME_ACTOR_INTERNAL_CONCURRENT_CALLS_H_

#include <atomic>
#include <cassert>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

#include "runtime/actor/call_context.h"
#include "runtime/actor/request.h"
#include "runtime/core/async_event.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/log.h"
#include "runtime/core/task.h"

namespace anvil::internal {

class ConcurrentCalls {
 public:
  ConcurrentCalls() : state_(std::make_shared<State>()) {}
  ConcurrentCalls(const ConcurrentCalls&) = delete;
  ConcurrentCalls& operator=(const ConcurrentCalls&) = delete;

  // Starts `call` on the current worker; it first runs after the caller
  // next suspends. REQUIRES: on a worker; Drain() not awaited yet.
  void Start(Task<> call) {
    state_->count.fetch_add(1, std::memory_order_relaxed);
    Run(state_, std::move(call)).StartOn(*Worker::Current());
  }

  // co_await: until every started call finished. Once.
  Task<> Drain() {
    if (state_->count.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      co_await state_->drained.Wait();
    }
  }

 private:
  // Shared with the calls, so that a call outliving its loop (the runtime
  // destroying a stuck actor) touches nothing freed.
  struct State {
    // Calls running, plus one for the loop until Drain() starts; whoever
    // brings it to zero notifies `drained`.
    std::atomic<int64_t> count{1};
    AsyncEvent drained;
  };

  static Detached Run(std::shared_ptr<State> state, Task<> call) {
    try {
      co_await std::move(call);
    } catch (const std::exception& e) {
      Log().error("a reentrant call threw: {}", e.what());
    } catch (...) {
      Log().error("a reentrant call threw a non-exception");
    }
    if (state->count.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      state->drained.Notify();
    }
  }

  std::shared_ptr<State> state_;
};

// The CallContext of serving `call` (a Request, or a generated one-way
// call): its deadline, its caller's reply slot, and the remote caller it
// carries (in its reply's state, or a one-way call's field). It refers to
// `call`, which must outlive the serving.
template <typename Call>
CallContext ServingContext(Call& call) {
  if constexpr (requires { call.reply; }) {
    return CallContext(call.deadline, call.reply.abandoned_flag(),
                       call.reply.remote_caller());
  } else {
    return CallContext(INT64_MAX, nullptr, &call.remote_caller);
  }
}

// Serves one call: skips it if the caller gave up already, else runs
// `handler(CallContext&, const Request&)` (a Task of the reply, or Task<>
// for a one-way call, which has no `reply`) and sends its result.
template <typename Call, typename Handler>
Task<> ServeCall(Call call, Handler handler) {
  CallContext context = ServingContext(call);
  if constexpr (requires { call.reply; }) {
    if (call.reply.abandoned()) co_return;
    co_await ReplyWith(call.reply, handler(context, call.request));
  } else {
    co_await handler(context, call.request);
  }
}

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_ACTOR_INTERNAL_CONCURRENT_CALLS_H_
