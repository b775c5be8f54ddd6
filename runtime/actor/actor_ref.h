// ActorRef<M>: the address of an actor whose mailbox takes messages of type
// M. Cheap to copy (one pointer and one atomic increment); the only way to
// reach an actor.
//
//   ActorRef<Msg> counter = runtime.Spawn(Counter);
//   absl::Status s = counter.TrySend(Increment{});   // never waits
//   co_await counter.Send(Increment{});               // waits for room
//   absl::StatusOr<int> n = co_await counter.Call(Get{"hits"});
//   co_await counter.Join();                          // until it finishes
//   counter.RequestStop();                            // drain, then end
//   ActorRef<Increment> narrow = counter.Map<Increment>();
//
// Guarantees: messages from one sender arrive in the order sent. A send
// that returns OK has put the message in the mailbox; the actor processes
// it, unless the actor fails while it is queued and is stopped by its
// supervisor (then it is dropped, counted in a log line, and a request's
// caller gets CANCELLED). Errors: RESOURCE_EXHAUSTED when the mailbox is
// full (TrySend, Call), UNAVAILABLE when the actor finished or is stopping.
//
// Holding an ActorRef keeps the actor's Receive() waiting for more: an actor
// whose every ActorRef is gone sees Receive() return nothing. An actor that
// keeps its own Self() ref alive therefore never sees that.
//
// Thread-safe: copy, send and call from any thread; co_await from
// coroutines running on the runtime's workers. A default-constructed ref
// refers to no actor; sending to it gives FAILED_PRECONDITION.
//
// Example: examples/actors/word_count_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_ACTOR_REF_H_
#define ANVIL_RUNTIME_ACTOR_ACTOR_REF_H_

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/actor/internal/actor_cell.h"
#include "runtime/actor/request.h"
#include "runtime/core/buggify.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/task.h"

namespace anvil {

template <typename M>
class ActorContext;
template <typename M>
class ActorRef;

namespace internal {

absl::Status NoActorError();

// The target of a ref made by Map<N>(): converts N to the actor's message
// type. Reference counted; a virtual call per send, on mapped refs only.
template <typename N>
class MappedTarget {
 public:
  explicit MappedTarget(ActorCellBase* cell) : cell_(cell) {}
  virtual ~MappedTarget() = default;

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  virtual absl::Status TrySend(N& message) = 0;
  virtual Task<absl::Status> Send(N message) = 0;
  ActorCellBase* cell() const { return cell_; }

 private:
  std::atomic<uint32_t> refs_{1};
  ActorCellBase* const cell_;
};

template <typename T, typename Variant>
struct IsAlternativeOf : std::false_type {};
template <typename T, typename... Ts>
struct IsAlternativeOf<T, std::variant<Ts...>>
    : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};

template <typename N, typename M>
class MappedTargetImpl final : public MappedTarget<N> {
  // Whether a refused message can be turned back from M into N.
  static constexpr bool kRestorable =
      IsAlternativeOf<N, M>::value || std::is_constructible_v<N, M&&>;
  static_assert(kRestorable || std::is_copy_constructible_v<N>,
                "Map<N>() needs N to be an alternative of M (a variant), "
                "constructible from M, or copyable, so that a refused "
                "message is not lost");

  static void Restore(N& message, M& converted) {
    if constexpr (IsAlternativeOf<N, M>::value) {
      if (N* n = std::get_if<N>(&converted)) message = std::move(*n);
    } else {
      message = N(std::move(converted));
    }
  }

 public:
  MappedTargetImpl(ActorRef<M> target, ActorCellBase* cell)
      : MappedTarget<N>(cell), target_(std::move(target)) {}
  // On failure `message` is restored, as TrySend promises.
  absl::Status TrySend(N& message) override {
    if constexpr (kRestorable) {
      M converted(std::move(message));
      absl::Status status = target_.TrySend(std::move(converted));
      if (!status.ok()) Restore(message, converted);
      return status;
    } else {
      return target_.TrySend(M(N(message)));  // a copy, kept on failure
    }
  }
  Task<absl::Status> Send(N message) override {
    co_return co_await target_.Send(M(std::move(message)));
  }

 private:
  ActorRef<M> target_;
};

// Waits for room in a full mailbox; resumed by the consumer or by the
// actor finishing.
struct RoomAwaiter {
  ActorCellBase* cell;
  bool (*still_full)(ActorCellBase*);
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> sender) {
    Worker* worker = Worker::Current();
    assert(worker != nullptr && "co_await Send() needs a runtime worker");
    return cell->WaitForRoom(Waiter{sender, worker},
                             [this] { return still_full(cell); });
  }
  void await_resume() const noexcept {}
};

// co_await ref.Send(m): one TrySend; only when the mailbox is full does it
// start a coroutine that waits for room and retries.
template <typename M>
class [[nodiscard]] SendAwaiter {
 public:
  SendAwaiter(ActorContext<M>* cell, MappedTarget<M>* mapped, M message)
      : cell_(cell), mapped_(mapped), message_(std::move(message)) {}

  bool await_ready() {
    if (cell_ != nullptr) {
      status_ = cell_->TryPushMessage(message_);
    } else if (mapped_ != nullptr) {
      status_ = mapped_->TrySend(message_);
    } else {
      status_ = NoActorError();
    }
    return status_.code() != absl::StatusCode::kResourceExhausted;
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> sender) {
    slow_ = cell_ != nullptr ? WaitAndPush(cell_, std::move(message_))
                             : mapped_->Send(std::move(message_));
    slow_.handle().promise().SetContinuation(sender);
    return slow_.handle();
  }
  absl::Status await_resume() {
    if (slow_.valid()) return slow_.handle().promise().TakeResult();
    return std::move(status_);
  }

 private:
  static Task<absl::Status> WaitAndPush(ActorContext<M>* cell, M message) {
    while (true) {
      co_await RoomAwaiter{cell->base(), &ActorContext<M>::MailboxFull};
      absl::Status status = cell->TryPushMessage(message);
      if (status.code() != absl::StatusCode::kResourceExhausted) {
        co_return status;
      }
    }
  }

  ActorContext<M>* cell_;
  MappedTarget<M>* mapped_;
  M message_;
  absl::Status status_;
  Task<absl::Status> slow_;
};

// co_await ref.Join(): until the actor finishes; returns its final status.
class [[nodiscard]] JoinAwaiter {
 public:
  explicit JoinAwaiter(ActorCellBase* cell) : cell_(cell) {}
  bool await_ready() const { return cell_ == nullptr || !cell_->alive(); }
  bool await_suspend(std::coroutine_handle<> joiner) {
    Worker* worker = Worker::Current();
    assert(worker != nullptr && "co_await Join() needs a runtime worker");
    return cell_->WaitForFinish(Waiter{joiner, worker});
  }
  absl::Status await_resume() const {
    return cell_ == nullptr ? NoActorError() : cell_->final_status();
  }

 private:
  ActorCellBase* cell_;
};

}  // namespace internal

// A handle to watch an actor without being one of its senders: Join() and
// IsAlive() work, and holding it does not keep the actor's Receive()
// waiting, so an actor that finishes once its senders are gone can be
// joined. Get one with ActorRef::Watch(). Thread-safe, cheap to copy.
class ActorWatch {
 public:
  ActorWatch() = default;
  explicit ActorWatch(internal::ActorCellBase* cell) : cell_(cell) {
    if (cell_ != nullptr) cell_->RefWatch();
  }
  ActorWatch(const ActorWatch& other) : ActorWatch(other.cell_) {}
  ActorWatch(ActorWatch&& other) noexcept
      : cell_(std::exchange(other.cell_, nullptr)) {}
  ActorWatch& operator=(ActorWatch other) noexcept {
    std::swap(cell_, other.cell_);
    return *this;
  }
  ~ActorWatch() {
    if (cell_ != nullptr) cell_->UnrefWatch();
  }

  bool IsAlive() const { return cell_ != nullptr && cell_->alive(); }
  // co_await: until the actor finishes; returns its final status.
  internal::JoinAwaiter Join() const { return internal::JoinAwaiter(cell_); }
  std::string name() const {
    return cell_ == nullptr ? std::string() : cell_->name();
  }

 private:
  internal::ActorCellBase* cell_ = nullptr;
};

template <typename M>
class ActorRef {
 public:
  using Message = M;

  // Refers to no actor.
  ActorRef() = default;
  ActorRef(const ActorRef& other) : bits_(other.bits_) { AddRef(); }
  ActorRef(ActorRef&& other) noexcept : bits_(std::exchange(other.bits_, 0)) {}
  ActorRef& operator=(const ActorRef& other) {
    if (this != &other) {
      other.AddRef();
      Release();
      bits_ = other.bits_;
    }
    return *this;
  }
  ActorRef& operator=(ActorRef&& other) noexcept {
    if (this != &other) {
      Release();
      bits_ = std::exchange(other.bits_, 0);
    }
    return *this;
  }
  ~ActorRef() { Release(); }

  // True if this refers to an actor (alive or not).
  explicit operator bool() const { return bits_ != 0; }

  // Puts `message` in the mailbox without waiting. On error the message is
  // left untouched, so the caller can retry or keep it.
  // Errors: RESOURCE_EXHAUSTED (full), UNAVAILABLE (finished or stopping),
  // FAILED_PRECONDITION (a default-constructed ref).
  absl::Status TrySend(M&& message) const {
    if (ActorContext<M>* cell = direct()) return cell->TryPushMessage(message);
    if (internal::MappedTarget<M>* m = mapped()) return m->TrySend(message);
    return internal::NoActorError();
  }
  absl::Status TrySend(
      const M& message) const requires std::is_copy_constructible_v<M> {
    return TrySend(M(message));
  }

  // co_await: puts `message` in the mailbox, waiting while it is full.
  // Returns OK, UNAVAILABLE (the actor finished or is stopping) or
  // FAILED_PRECONDITION. REQUIRES: the ref outlives the co_await.
  internal::SendAwaiter<M> Send(M message) const {
    return internal::SendAwaiter<M>(direct(), mapped(), std::move(message));
  }

  // co_await: sends Request<Req>{req} and waits for the reply, at most
  // `timeout`. The request is sent by this call (not when awaited) and
  // never waits for room: a full mailbox gives RESOURCE_EXHAUSTED. See
  // request.h for every outcome.
  template <typename Req>
  internal::CallAwaiter<ReplyOf<Req>> Call(
      Req request, absl::Duration timeout = absl::InfiniteDuration()) const {
    return CallUntil<Request<Req>>(std::move(request),
                                   Clock::DeadlineAfter(timeout));
  }

  // As Call, for a message type `CallMessage` derived from
  // Request<Req, Reply> (generated code gives each method one, so that two
  // methods with the same request type stay apart in M). M must be
  // constructible from CallMessage.
  template <typename CallMessage>
  internal::CallAwaiter<typename CallMessage::ReplyType> CallAs(
      typename CallMessage::RequestType request,
      absl::Duration timeout = absl::InfiniteDuration()) const {
    return CallUntil<CallMessage>(std::move(request),
                                  Clock::DeadlineAfter(timeout));
  }

  // As CallAs, with an absolute `deadline` (Clock::MonotonicNanos time,
  // INT64_MAX for none), which also travels with the request, as does the
  // `remote_caller` a transport serves it for (in the reply's state: the
  // serving actor's CallContext::remote_caller()).
  template <typename CallMessage>
  internal::CallAwaiter<typename CallMessage::ReplyType> CallUntil(
      typename CallMessage::RequestType request, int64_t deadline,
      std::shared_ptr<RemoteCaller> remote_caller = nullptr) const {
    using Reply = typename CallMessage::ReplyType;
    auto state = std::make_shared<internal::ReplyState<Reply>>();
    if (remote_caller != nullptr) [[unlikely]] {
      state->set_remote_caller(std::move(remote_caller));
    }
    using Base = Request<typename CallMessage::RequestType, Reply>;
    // A mailbox that looks full for an instant: the caller must cope with
    // RESOURCE_EXHAUSTED (nothing was sent), as with a full one.
    if (ANVIL_BUGGIFY_WITH_PROB("mailbox.spurious_full", 0.01)) {
      return internal::CallAwaiter<Reply>(absl::ResourceExhaustedError(
          "mailbox full (spurious; a BUGGIFY fault)"));
    }
    absl::Status sent;
    // Built in place: each move of a protobuf request costs.
    if constexpr (std::is_same_v<CallMessage, Base>) {
      sent = TrySend(
          M(Base{std::move(request), ReplySender<Reply>(state), deadline}));
    } else {
      sent = TrySend(M(CallMessage{
          {std::move(request), ReplySender<Reply>(state), deadline}}));
    }
    if (!sent.ok()) return internal::CallAwaiter<Reply>(std::move(sent));
    return internal::CallAwaiter<Reply>(std::move(state), deadline);
  }

  // Tells the actor to stop: from now on sends are refused with
  // UNAVAILABLE, and its Receive() delivers what is already queued, then
  // returns nothing. Its owner's tool (a daemon stopping the actor it
  // serves with, a parent ending a child); a no-op on a finished actor or a
  // default-constructed ref.
  void RequestStop() const {
    if (internal::ActorCellBase* c = cell()) c->RequestStop();
  }

  // False once the actor finished (for good: after its last restart).
  bool IsAlive() const {
    internal::ActorCellBase* c = cell();
    return c != nullptr && c->alive();
  }

  // co_await: waits until the actor finishes; returns the status it
  // finished with (OK, or the error its supervisor stopped it on).
  // NOTE: this ref is a sender, so an actor that runs until its senders
  // are gone never finishes while it is held; join those with Watch().
  internal::JoinAwaiter Join() const { return internal::JoinAwaiter(cell()); }

  // A handle that can Join the actor without being a sender.
  ActorWatch Watch() const { return ActorWatch(cell()); }

  // The worker the actor runs on (for actors placed on any worker, one of
  // the runtime's), or null for a default-constructed ref. For code that
  // wants to run next to the actor.
  internal::Worker* home_worker() const {
    internal::ActorCellBase* c = cell();
    return c == nullptr ? nullptr : c->home_worker();
  }

  // A ref that takes N and converts it to M (M must be constructible from
  // N), for handing out a narrower interface. PERFORMANCE: allocates once;
  // sends through it cost one virtual call.
  template <typename N>
  ActorRef<N> Map() const requires std::is_constructible_v<M, N&&> {
    if (bits_ == 0) return ActorRef<N>();
    auto* target = new internal::MappedTargetImpl<N, M>(*this, cell());
    return ActorRef<N>::FromMapped(target);
  }

  // The actor's name, or "" for a default-constructed ref.
  std::string name() const {
    internal::ActorCellBase* c = cell();
    return c == nullptr ? std::string() : c->name();
  }

  friend bool operator==(const ActorRef& a, const ActorRef& b) {
    return a.cell() == b.cell();
  }

  // For the runtime: adopts one sender reference of `cell`.
  static ActorRef Adopt(ActorContext<M>* cell) {
    ActorRef ref;
    ref.bits_ = reinterpret_cast<uintptr_t>(cell);
    return ref;
  }
  static ActorRef FromMapped(internal::MappedTarget<M>* target) {
    ActorRef ref;
    ref.bits_ = reinterpret_cast<uintptr_t>(target) | 1;
    return ref;
  }

 private:
  ActorContext<M>* direct() const {
    return (bits_ & 1) ? nullptr : reinterpret_cast<ActorContext<M>*>(bits_);
  }
  internal::MappedTarget<M>* mapped() const {
    return (bits_ & 1) ? reinterpret_cast<internal::MappedTarget<M>*>(
                             bits_ & ~uintptr_t{1})
                       : nullptr;
  }
  internal::ActorCellBase* cell() const {
    if (ActorContext<M>* c = direct()) return c->base();
    if (internal::MappedTarget<M>* m = mapped()) return m->cell();
    return nullptr;
  }
  void AddRef() const {
    if (ActorContext<M>* c = direct()) {
      c->base()->Ref();
    } else if (internal::MappedTarget<M>* m = mapped()) {
      m->Ref();
    }
  }
  void Release() {
    if (ActorContext<M>* c = direct()) {
      c->base()->Unref();
    } else if (internal::MappedTarget<M>* m = mapped()) {
      m->Unref();
    }
    bits_ = 0;
  }

  // A ActorContext<M>*, or a MappedTarget<M>* with the low bit set, or 0.
  uintptr_t bits_ = 0;
};

}  // namespace anvil

// ActorContext<M> uses ActorRef<M> and the other way round; whichever header is
// included first, both are complete at the end.
#include "runtime/actor/actor_context.h"  // IWYU pragma: export

#endif  // ANVIL_RUNTIME_ACTOR_ACTOR_REF_H_
