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
// Streams (runtime/actor/stream.h) are served the same way, with
// StartStream: Drain first ends each stream still open with UNAVAILABLE
// (the actor is stopping), so that a long stream cannot hold its actor's
// stop up.
//
// Thread-safety: Start, StartStream and Drain from the actor that owns it;
// the calls may finish on any thread.
#ifndef ANVIL_RUNTIME_ACTOR_INTERNAL_CONCURRENT_CALLS_H_
#define ANVIL_RUNTIME_ACTOR_INTERNAL_CONCURRENT_CALLS_H_

#include <atomic>
#include <cassert>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/actor/call_context.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/actor/request.h"
#include "runtime/actor/stream.h"
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

  // Starts `serving`, which serves `stream`, as Start does.
  void StartStream(std::shared_ptr<StreamStateBase> stream, Task<> serving) {
    if (streams_.size() >= 2 * live_streams_ + 8) Prune();
    streams_.push_back(std::move(stream));
    ++live_streams_;
    Start(std::move(serving));
  }

  // co_await: until every started call finished. Once.
  Task<> Drain() {
    for (const std::weak_ptr<StreamStateBase>& weak : streams_) {
      if (std::shared_ptr<StreamStateBase> stream = weak.lock()) {
        stream->Cancel(
            absl::UnavailableError("the actor serving the stream is stopping"));
      }
    }
    streams_.clear();
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

  // Forgets the streams that ended.
  void Prune() {
    std::erase_if(streams_, [](const std::weak_ptr<StreamStateBase>& weak) {
      std::shared_ptr<StreamStateBase> stream = weak.lock();
      return stream == nullptr || stream->end().has_value();
    });
    live_streams_ = streams_.size();
  }

  std::shared_ptr<State> state_;
  // The streams started, some of them ended; pruned as it grows.
  std::vector<std::weak_ptr<StreamStateBase>> streams_;
  size_t live_streams_ = 0;
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

// The CallContext of serving `stream`: its deadline, its cancellation and
// the remote caller it carries. It refers to `stream`.
inline CallContext StreamContext(StreamStateBase& stream) {
  CallContext context(stream.deadline(), &stream.cancellation());
  context.set_remote_caller(&stream.remote_caller());
  return context;
}

// Ends a stream whose serving coroutine is destroyed before it finished
// it (the method threw, or its frame was dropped): the client learns at
// once. A no-op once the stream has ended.
class FinishOnExit {
 public:
  explicit FinishOnExit(StreamStateBase& stream) : stream_(stream) {}
  FinishOnExit(const FinishOnExit&) = delete;
  FinishOnExit& operator=(const FinishOnExit&) = delete;
  ~FinishOnExit() {
    stream_.Cancel(absl::CancelledError(
        "the server dropped the stream unfinished (it failed or stopped)"));
  }

 private:
  StreamStateBase& stream_;
};

// Serves a server-streaming call: reads its one request, then runs
// `handler(CallContext&, const Req&, ServerWriter<Rep>&)` (a
// Task<absl::Status>) and finishes the stream with what it returns.
template <typename Req, typename Rep, typename Handler>
Task<> ServeServerStream(std::shared_ptr<StreamState<Req, Rep>> stream,
                         Handler handler) {
  FinishOnExit guard(*stream);
  std::optional<Req> request = co_await stream->ReadRequest();
  if (!request.has_value()) {
    stream->Finish(absl::InvalidArgumentError(
        "a server-streaming call ended before its request"));
    co_return;
  }
  CallContext context = StreamContext(*stream);
  ServerWriter<Rep> writer(*stream);
  stream->Finish(co_await handler(context, *request, writer));
}

// Serves a client-streaming call: runs `handler(CallContext&,
// ServerReader<Req>&)` (a Task<absl::StatusOr<Rep>>) and sends its reply.
template <typename Req, typename Rep, typename Handler>
Task<> ServeClientStream(std::shared_ptr<StreamState<Req, Rep>> stream,
                         Handler handler) {
  FinishOnExit guard(*stream);
  CallContext context = StreamContext(*stream);
  ServerReader<Req> reader(*stream);
  absl::StatusOr<Rep> reply = co_await handler(context, reader);
  if (!reply.ok()) {
    stream->Finish(reply.status());
    co_return;
  }
  absl::Status sent = co_await stream->WriteReply(*std::move(reply));
  stream->Finish(sent.ok() ? absl::OkStatus() : sent);
}

// Serves a bidirectional call: runs `handler(CallContext&,
// ServerStream<Req, Rep>&)` (a Task<absl::Status>) and finishes the stream
// with what it returns.
template <typename Req, typename Rep, typename Handler>
Task<> ServeBidiStream(std::shared_ptr<StreamState<Req, Rep>> stream,
                       Handler handler) {
  FinishOnExit guard(*stream);
  CallContext context = StreamContext(*stream);
  ServerStream<Req, Rep> both(*stream);
  stream->Finish(co_await handler(context, both));
}

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_ACTOR_INTERNAL_CONCURRENT_CALLS_H_
