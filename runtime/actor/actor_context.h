// ActorContext<M>: what an actor's body sees of itself. The body is a coroutine
// `Task<> Body(ActorContext<M>&, Args...)` (or `Task<absl::Status>`); the
// context gives it its mailbox, its own address and the runtime.
//
//   anvil::Task<> Counter(anvil::ActorContext<CounterMsg>& ctx, int start) {
//     int count = start;
//     while (std::optional<CounterMsg> msg = co_await ctx.Receive()) {
//       std::visit(Overloaded{
//           [&](Increment&) { ++count; },
//           [&](Request<Get>& get) { get.reply.Send(count); },
//       }, *msg);
//     }
//     // Every ActorRef is gone, or the runtime is shutting down.
//   }
//
// Receive() returns messages in arrival order, and nothing once the mailbox
// is empty and either every ActorRef to the actor is gone or the actor was
// told to stop (runtime shutdown): the body should then return. After a stop
// request, messages already queued are still delivered (drained).
//
// Thread-safety: only the actor's own body uses its ActorContext.
//
// Example: examples/actors/word_count_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_ACTOR_CONTEXT_H_
#define ANVIL_RUNTIME_ACTOR_ACTOR_CONTEXT_H_

#include <coroutine>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/actor/internal/actor_cell.h"
#include "runtime/actor/internal/mailbox.h"
#include "runtime/core/clock.h"

namespace anvil {

template <typename M>
class SyncContext;

namespace internal {

template <typename M>
class ReceiveAwaiter;
template <typename M>
class SendAwaiter;
template <typename N, typename M>
class MappedTargetImpl;
template <typename M, typename Fn, typename... Args>
class ActorInstance;

}  // namespace internal

template <typename M>
class ActorContext : protected internal::ActorCellBase {
 public:
  using Message = M;

  // co_await: the next message, or nothing at the end (see above).
  internal::ReceiveAwaiter<M> Receive();

  // The next message if one is queued now; never suspends.
  std::optional<M> TryReceive() {
    std::optional<M> message = mailbox_.TryPop();
    if (message.has_value()) MaybeWakeSender();
    return message;
  }

 private:
  // TryReceive, but a message still being written is waited for.
  std::optional<M> ReceiveQueued() {
    std::optional<M> message = mailbox_.PopWaiting();
    if (message.has_value()) MaybeWakeSender();
    return message;
  }

 public:
  // A ref to this actor. NOTE: while the body holds one, Receive() cannot
  // see "every ActorRef is gone".
  ActorRef<M> Self() {
    Ref();
    return ActorRef<M>::Adopt(this);
  }

  Runtime& runtime() const { return ActorCellBase::runtime(); }
  // Wall-clock time (virtual in simulation).
  absl::Time Now() const { return Clock::Now(); }
  // True once the runtime asked the actor to stop.
  bool stop_requested() const { return ActorCellBase::stop_requested(); }
  std::string name() const { return ActorCellBase::name(); }
  uint32_t mailbox_capacity() const { return mailbox_.capacity(); }

 protected:
  ActorContext(uint32_t id, internal::Worker* worker, ActorOptions& options,
               bool sync, uint32_t capacity, void* storage)
      : ActorCellBase(id, worker, options, sync), mailbox_(capacity, storage) {}
  ~ActorContext() override = default;

  // After Receive yielded (see ActorCellBase::Park): resume the body if
  // there is something to receive now, or park it for real.
  void Run() override {
    std::coroutine_handle<> body = waiter();
    if (mailbox_.Ready() || EndRequested() ||
        !ParkNow(body, mailbox_.head(),
                 [this] { return mailbox_.NonEmpty(); })) {
      body.resume();
    }
  }

  size_t DropMessages() override {
    size_t dropped = 0;
    while (mailbox_.TryPop().has_value()) ++dropped;
    return dropped;
  }

 private:
  friend class ActorRef<M>;
  friend class SyncContext<M>;
  friend class internal::ReceiveAwaiter<M>;
  friend class internal::SendAwaiter<M>;
  template <typename N, typename X>
  friend class internal::MappedTargetImpl;
  template <typename X, typename F, typename... A>
  friend class internal::ActorInstance;
  friend class Runtime;

  internal::ActorCellBase* base() { return this; }

  absl::Status TryPushMessage(M& message) {
    if (!accepting()) return GoneError();
    uint32_t position;
    if (!mailbox_.TryPush(message, &position)) {
      return FullError(mailbox_.capacity());
    }
    WakeConsumer(position);
    return absl::OkStatus();
  }

  static bool MailboxFull(internal::ActorCellBase* cell) {
    return static_cast<ActorContext*>(cell)->mailbox_.FullApprox();
  }

  internal::Mailbox<M> mailbox_;
};

namespace internal {

template <typename M>
class [[nodiscard]] ReceiveAwaiter {
 public:
  explicit ReceiveAwaiter(ActorContext<M>& context) : context_(context) {}

  // The message stays in the mailbox until await_resume, so the awaiter
  // (and with it every coroutine frame that awaits Receive) holds no copy.
  bool await_ready() const {
    return context_.mailbox_.Ready() || context_.EndRequested();
  }
  bool await_suspend(std::coroutine_handle<> body) {
    // A local copy: once parked, this awaiter (in the frame) may be resumed
    // and destroyed by another thread.
    ActorContext<M>& context = context_;
    return context.Park(body, context.mailbox_.head(),
                        [&context] { return context.mailbox_.NonEmpty(); });
  }
  std::optional<M> await_resume() { return context_.ReceiveQueued(); }

 private:
  ActorContext<M>& context_;
};

}  // namespace internal

template <typename M>
internal::ReceiveAwaiter<M> ActorContext<M>::Receive() {
  return internal::ReceiveAwaiter<M>(*this);
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_ACTOR_CONTEXT_H_
