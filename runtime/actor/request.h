// Request<Req> and ReplySender<Reply>: request/response between actors.
//
// A request type names its reply type; the actor's message type must be
// constructible from Request<Req> (a std::variant that lists it, or the
// Request itself):
//
//   struct Get { using Reply = int; std::string key; };
//   using CounterMsg = std::variant<Request<Get>, Increment>;
//
//   // Caller:
//   absl::StatusOr<int> n = co_await counter.Call(Get{"hits"});
//
//   // Actor:
//   if (auto* get = std::get_if<Request<Get>>(&*msg)) {
//     get->reply.Send(counts[get->request.key]);
//   }
//
// Guarantees: the caller gets exactly one result. It is the actor's reply;
// or UNAVAILABLE / RESOURCE_EXHAUSTED when the request was not accepted;
// or CANCELLED when the actor dropped the request without replying (it
// failed, stopped, or destroyed the ReplySender); or DEADLINE_EXCEEDED when
// the Call's timeout passed first (a late reply is then discarded).
//
// Thread-safety: a ReplySender may be moved to and used from any thread.
//
// Example: examples/actors/word_count_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_REQUEST_H_
#define ANVIL_RUNTIME_ACTOR_REQUEST_H_

#include <atomic>
#include <cassert>
#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/actor/internal/actor_cell.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/task.h"

namespace anvil {

// The reply type of request type Req: Req::Reply unless specialized.
template <typename Req>
struct ReplyTraits {
  using Reply = typename Req::Reply;
};
template <typename Req>
using ReplyOf = typename ReplyTraits<Req>::Reply;

namespace internal {

// The one-shot rendezvous of a call: completed once, by the reply, by
// dropping the ReplySender, or by the caller's deadline.
template <typename Reply>
class ReplyState final : public TimerNode {
 public:
  // Sets the result unless one was set already. Returns whether it did.
  // Thread-safe.
  bool Complete(absl::StatusOr<Reply>&& result) {
    if (claimed_.exchange(true, std::memory_order_acq_rel)) return false;
    result_.emplace(std::move(result));
    if (phase_.exchange(kDone, std::memory_order_acq_rel) == kWaiting) {
      waiter_.Resume();
    }
    return true;
  }

  // True once a result is set or being set.
  bool claimed() const { return claimed_.load(std::memory_order_acquire); }
  const std::atomic<bool>& claimed_flag() const { return claimed_; }

  // --- The caller's side. ---
  bool done() const { return phase_.load(std::memory_order_acquire) == kDone; }
  // Registers the caller; returns false if the result is already there.
  bool Wait(Waiter waiter, int64_t deadline) {
    waiter_ = waiter;
    if (deadline != INT64_MAX) {
      this->deadline = deadline;
      fire = &FireDeadline;
      waiter.worker->timers().Add(this);
    }
    int expected = kEmpty;
    if (phase_.compare_exchange_strong(expected, kWaiting,
                                       std::memory_order_acq_rel)) {
      return true;
    }
    CancelTimer();
    return false;
  }
  // REQUIRES: on the waiter's worker (where it is resumed).
  void CancelTimer() {
    if (queued()) waiter_.worker->timers().Cancel(this);
  }
  absl::StatusOr<Reply> TakeResult() { return std::move(*result_); }

  // The caller in another process that a transport serves the call for,
  // or null. Set before the request is sent; immutable after.
  void set_remote_caller(std::shared_ptr<RemoteCaller> caller) {
    remote_caller_ = std::move(caller);
  }
  const std::shared_ptr<RemoteCaller>& remote_caller() const {
    return remote_caller_;
  }

 private:
  static constexpr int kEmpty = 0;
  static constexpr int kWaiting = 1;
  static constexpr int kDone = 2;

  static void FireDeadline(TimerNode* node) {
    static_cast<ReplyState*>(node)->Complete(
        absl::DeadlineExceededError("no reply before the call's deadline"));
  }

  std::atomic<bool> claimed_{false};
  std::atomic<int> phase_{kEmpty};
  Waiter waiter_{};
  std::optional<absl::StatusOr<Reply>> result_;
  std::shared_ptr<RemoteCaller> remote_caller_;
};

}  // namespace internal

// The capability to answer one request. Move-only. Destroying it without
// sending completes the call with CANCELLED.
template <typename Reply>
class ReplySender {
 public:
  ReplySender() = default;
  explicit ReplySender(std::shared_ptr<internal::ReplyState<Reply>> state)
      : state_(std::move(state)) {}
  ReplySender(ReplySender&&) noexcept = default;
  ReplySender& operator=(ReplySender&& other) noexcept {
    if (this != &other) {
      Drop();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~ReplySender() { Drop(); }

  // Answers the call with a value or an error. REQUIRES: not sent yet.
  // An rvalue is moved once, into the caller's result.
  void Send(absl::StatusOr<Reply>&& reply) {
    assert(state_ != nullptr && "ReplySender::Send called twice");
    if (state_ == nullptr) return;
    state_->Complete(std::move(reply));
    state_.reset();
  }
  void Send(const absl::StatusOr<Reply>& reply) {
    Send(absl::StatusOr<Reply>(reply));
  }

  // False once Send was called (or for a default-constructed sender).
  bool pending() const { return state_ != nullptr; }

  // True if the caller stopped waiting (its deadline passed): the work for
  // the reply may be skipped.
  bool abandoned() const { return state_ != nullptr && state_->claimed(); }

  // The flag abandoned() reads, for a CallContext (null once sent). It
  // lives as long as this sender does, or longer.
  const std::atomic<bool>* abandoned_flag() const {
    return state_ == nullptr ? nullptr : &state_->claimed_flag();
  }

  // The remote caller the call is served for (see ReplyState), for a
  // CallContext: null if none, or once sent. It lives as long as this
  // sender does, or longer.
  const std::shared_ptr<RemoteCaller>* remote_caller() const {
    return state_ == nullptr || state_->remote_caller() == nullptr
               ? nullptr
               : &state_->remote_caller();
  }

 private:
  void Drop() {
    if (state_ != nullptr) {
      state_->Complete(absl::CancelledError(
          "the actor dropped the request without replying"));
      state_.reset();
    }
  }

  std::shared_ptr<internal::ReplyState<Reply>> state_;
};

// A request with its reply slot; the message an actor receives for a Call.
template <typename Req, typename Reply = ReplyOf<Req>>
struct Request {
  using RequestType = Req;
  using ReplyType = Reply;

  Req request;
  ReplySender<Reply> reply;
  // When the caller gives up (Clock::MonotonicNanos time; INT64_MAX for
  // never): the server may skip work past it (see CallContext).
  int64_t deadline = INT64_MAX;
  // (The caller in another process a transport serves this for travels in
  // the reply's shared state, `reply.remote_caller()`: a field here, in
  // every request, slowed each local call by about 15%.)
};

namespace internal {

// What `co_await ref.Call(req)` awaits: the request is already sent (or
// refused, with `status` saying why).
template <typename Reply>
class [[nodiscard]] CallAwaiter {
 public:
  // A call that was refused before sending.
  explicit CallAwaiter(absl::Status refused) : refused_(std::move(refused)) {}
  CallAwaiter(std::shared_ptr<ReplyState<Reply>> state, int64_t deadline)
      : state_(std::move(state)), deadline_(deadline) {}
  CallAwaiter(CallAwaiter&&) noexcept = default;
  ~CallAwaiter() {
    if (state_ != nullptr && suspended_) state_->CancelTimer();
  }

  bool await_ready() const noexcept {
    return state_ == nullptr || state_->done();
  }
  // Completes the call with `status` unless its result is already set:
  // the caller stops waiting and the actor sees its ReplySender
  // abandoned(). Thread-safe, while the awaiter exists.
  void Cancel(absl::Status status) {
    if (state_ != nullptr) state_->Complete(std::move(status));
  }
  bool await_suspend(std::coroutine_handle<> caller) {
    Worker* worker = Worker::Current();
    assert(worker != nullptr && "co_await Call() needs a runtime worker");
    suspended_ = state_->Wait(Waiter{caller, worker}, deadline_);
    return suspended_;
  }
  absl::StatusOr<Reply> await_resume() {
    if (state_ == nullptr) return std::move(refused_);
    if (suspended_) {
      state_->CancelTimer();
      suspended_ = false;
    }
    return state_->TakeResult();
  }

 private:
  absl::Status refused_;
  std::shared_ptr<ReplyState<Reply>> state_;
  int64_t deadline_ = INT64_MAX;
  bool suspended_ = false;
};

// What generated dispatch code awaits to serve a call with a coroutine:
// `co_await ReplyWith(call.reply, Method(...))` runs the task and answers
// the call with its result, moved once from the task's frame (`Send(co_await
// task)` moves it once more). An exception from the task is rethrown to
// the awaiter, and the call, unanswered, then ends CANCELLED when the
// sender is dropped.
template <typename Reply>
class [[nodiscard]] ReplyWith {
 public:
  ReplyWith(ReplySender<Reply>& reply, Task<absl::StatusOr<Reply>> task)
      : reply_(reply), task_(std::move(task)) {}

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(
      std::coroutine_handle<> awaiter) noexcept {
    task_.handle().promise().SetContinuation(awaiter);
    return task_.handle();
  }
  void await_resume() {
    reply_.Send(std::move(task_.handle().promise().Result()));
  }

 private:
  ReplySender<Reply>& reply_;
  Task<absl::StatusOr<Reply>> task_;
};

}  // namespace internal
}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_REQUEST_H_
