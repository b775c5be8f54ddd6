// StreamState<Req, Rep>: the state one streaming call's two ends share: a
// bounded lane of requests (client to server), a bounded lane of replies
// (server to client), and how the stream ended. The public handles
// (runtime/actor/stream.h: ClientStream, ServerWriter, ...) are views of
// it; transports move serialized messages through a
// StreamState<std::string, std::string> (ByteStream).
//
//   auto state = std::make_shared<StreamState<Req, Rep>>(/*window=*/32,
//                                                        deadline);
//   // client end:                     // server end:
//   co_await state->WriteRequest(r);   std::optional<Req> r =
//   state->CloseRequests();                co_await state->ReadRequest();
//   std::optional<Rep> m =             co_await state->WriteReply(m);
//       co_await state->ReadReply();   state->Finish(absl::OkStatus());
//
// Flow control: each lane holds at most `window` messages. A writer whose
// lane is full waits, and is woken once its reader brought the lane down
// to half the window (so that a full lane costs one wake-up per half
// window, not one per message). Nothing is buffered beyond the window.
//
// Ends. A stream ends once, by the first of:
//   - Finish(status), the server end's outcome: the replies already queued
//     are still read, then the client's reads end and its Finish() gets
//     `status`; requests not yet read are dropped;
//   - Cancel(why), from either end or a transport (the client went away,
//     a connection broke, a server stops): both lanes are dropped, every
//     read ends, every write fails with `why`, and cancellation() (what
//     the server's CallContext polls) is cancelled;
//   - the deadline: as Cancel(DEADLINE_EXCEEDED), noticed by a waiting
//     party's timer or by the next operation of either end.
// A write fails once the stream ended (with the end status if that is an
// error, else FAILED_PRECONDITION), or after CloseRequests.
//
// Thread-safety: every member is thread-safe; the two ends may be on
// different workers (and transports call from their own threads). Each
// lane has one reader and one writer: at most one read and one write of a
// lane may wait at a time. Awaiting requires a worker (where the waiter is
// resumed). Whoever calls a member holds a reference to the state.
#ifndef ANVIL_RUNTIME_ACTOR_INTERNAL_STREAM_STATE_H_
#define ANVIL_RUNTIME_ACTOR_INTERNAL_STREAM_STATE_H_

#include <algorithm>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/mutex.h"

namespace anvil::internal {

// A FIFO of at most `capacity` elements, its storage grown as it fills
// (a stream's window costs memory only once it is used). Not thread-safe.
template <typename T>
class Ring {
 public:
  explicit Ring(size_t capacity)
      : capacity_(std::max<size_t>(capacity, 1)),
        slots_(std::min<size_t>(capacity_, 4)) {}

  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == capacity_; }
  size_t size() const { return size_; }

  // REQUIRES: !full().
  void Push(T&& value) {
    if (size_ == slots_.size()) Grow();
    size_t tail = head_ + size_;
    if (tail >= slots_.size()) tail -= slots_.size();
    slots_[tail].emplace(std::move(value));
    ++size_;
  }
  // REQUIRES: !empty().
  T Pop() {
    std::optional<T> value;
    PopInto(value);
    return *std::move(value);
  }
  // As Pop, into `out` (one move of the element, not two).
  void PopInto(std::optional<T>& out) {
    out = std::move(slots_[head_]);
    slots_[head_].reset();
    if (++head_ == slots_.size()) head_ = 0;
    --size_;
  }
  void Clear() {
    while (!empty()) Pop();
  }

 private:
  // Doubles the storage (up to the capacity), oldest element first.
  void Grow() {
    std::vector<std::optional<T>> grown(
        std::min(capacity_, std::max<size_t>(2 * slots_.size(), 1)));
    for (size_t i = 0; i < size_; ++i) {
      size_t from = head_ + i;
      if (from >= slots_.size()) from -= slots_.size();
      grown[i] = std::move(slots_[from]);
    }
    slots_ = std::move(grown);
    head_ = 0;
  }

  const size_t capacity_;
  std::vector<std::optional<T>> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

// The parts of a stream that do not depend on its message types.
class StreamStateBase {
 public:
  // Who waits for what. Each has one waiting slot.
  enum Party : uint8_t {
    kClientRead,   // a reply
    kClientWrite,  // room for a request
    kServerRead,   // a request
    kServerWrite,  // room for a reply
    kParties,
  };

  // `window`: messages each lane holds (at least 1). `deadline`:
  // Clock::MonotonicNanos time the stream ends with DEADLINE_EXCEEDED,
  // INT64_MAX for none.
  StreamStateBase(size_t window, int64_t deadline)
      : window_(std::max<size_t>(window, 1)), deadline_(deadline) {
    for (Waiting& waiting : waiting_) waiting.owner = this;
  }
  StreamStateBase(const StreamStateBase&) = delete;
  StreamStateBase& operator=(const StreamStateBase&) = delete;
  virtual ~StreamStateBase() = default;

  size_t window() const { return window_; }
  int64_t deadline() const { return deadline_; }

  // Cancelled when the stream is (Cancel, the deadline): what the server
  // end's CallContext polls, and where a transport or bridge hooks to pass
  // a cancellation on.
  CallCancellation& cancellation() { return cancellation_; }

  // The caller in another process a transport serves this stream for, or
  // null. Set before the server end sees the stream; immutable after.
  void set_remote_caller(std::shared_ptr<RemoteCaller> caller) {
    remote_caller_ = std::move(caller);
  }
  const std::shared_ptr<RemoteCaller>& remote_caller() const {
    return remote_caller_;
  }

  // How the stream ended, or nullopt while it runs.
  std::optional<absl::Status> end() {
    Locked lock(*this);
    return end_;
  }

  // Ends the stream now with `why` (an error; see the file comment). Does
  // nothing if it has ended.
  void Cancel(absl::Status why) {
    assert(!why.ok());
    Locked lock(*this);
    CancelLocked(std::move(why));
  }

  // The server end's outcome (see the file comment). Does nothing if the
  // stream has ended.
  void Finish(absl::Status status) {
    Locked lock(*this);
    if (end_.has_value()) return;
    end_ = std::move(status);
    ClearRequestsLocked();
    WakeAllLocked();
  }

  // The client end sends no more requests (gRPC's WritesDone): once the
  // queued ones are read, the server's reads end.
  void CloseRequests() {
    Locked lock(*this);
    requests_closed_ = true;
    WakeLocked(kServerRead);
  }

  // What the two awaiters share: try under the lock, else park as
  // `kParty` and try again once woken (which then succeeds: a party is
  // woken only when it can go on). `Derived::TryLocked()` makes one
  // attempt.
  template <typename Derived, Party kParty>
  class Parking {
   public:
    explicit Parking(StreamStateBase& state) : state_(state) {}
    Parking(const Parking&) = delete;
    Parking& operator=(const Parking&) = delete;
    ~Parking() {
      if (parked_) state_.Abandon(kParty, parked_);
    }

    bool await_ready() {
      Locked lock(state_);
      return self().TryLocked();
    }
    bool await_suspend(std::coroutine_handle<> handle) {
      Locked lock(state_);
      if (self().TryLocked()) return false;
      state_.ParkLocked(kParty, handle);
      parked_ = handle;
      return true;
    }

   protected:
    // The start of await_resume.
    void Resumed() {
      if (!parked_) return;
      parked_ = nullptr;
      state_.Unparked(kParty);
      Locked lock(state_);
      const bool done = self().TryLocked();
      assert(done && "a stream's party woke and could not go on");
      (void)done;
    }

    StreamStateBase& state_;

   private:
    Derived& self() { return static_cast<Derived&>(*this); }

    std::coroutine_handle<> parked_;
  };

  // co_await-able read of `lane`: an optional<T> (nullopt: the stream
  // ended, or for the server, the client closed its requests).
  template <typename T, Party kReader, Party kWriter>
  class ReadAwaiter
      : public Parking<ReadAwaiter<T, kReader, kWriter>, kReader> {
   public:
    ReadAwaiter(StreamStateBase& state, Ring<T>& lane)
        : Parking<ReadAwaiter, kReader>(state), lane_(lane) {}

    std::optional<T> await_resume() {
      this->Resumed();
      return std::move(result_);
    }

   private:
    friend class Parking<ReadAwaiter, kReader>;

    // Called by Parking only, holding state_.mu_ (which the analysis
    // cannot follow through the CRTP cast).
    bool TryLocked() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      StreamStateBase& state = this->state_;
      // An error end dropped both lanes; a Finish keeps the replies.
      const bool ended = state.EndedLocked();
      if (!lane_.empty()) {
        lane_.PopInto(result_);
        if (lane_.size() <= state.low_water()) state.WakeLocked(kWriter);
        return true;
      }
      return ended || (kReader == kServerRead && state.requests_closed_);
    }

    Ring<T>& lane_;
    std::optional<T> result_;
  };

  // co_await-able write to `lane`: an absl::Status.
  template <typename T, Party kWriter, Party kReader>
  class WriteAwaiter
      : public Parking<WriteAwaiter<T, kWriter, kReader>, kWriter> {
   public:
    WriteAwaiter(StreamStateBase& state, Ring<T>& lane, T&& value)
        : Parking<WriteAwaiter, kWriter>(state),
          lane_(lane),
          value_(std::move(value)) {}

    absl::Status await_resume() {
      this->Resumed();
      return std::move(result_);
    }

   private:
    friend class Parking<WriteAwaiter, kWriter>;

    // Called by Parking only, holding state_.mu_ (which the analysis
    // cannot follow through the CRTP cast).
    bool TryLocked() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      StreamStateBase& state = this->state_;
      if (state.EndedLocked()) {
        result_ = state.WriteRefusalLocked();
        return true;
      }
      if (kWriter == kClientWrite && state.requests_closed_) {
        result_ = absl::FailedPreconditionError(
            "a request written after WritesDone()");
        return true;
      }
      if (lane_.full()) return false;
      const bool was_empty = lane_.empty();
      lane_.Push(std::move(value_));
      if (was_empty) state.WakeLocked(kReader);
      result_ = absl::OkStatus();
      return true;
    }

    Ring<T>& lane_;
    T value_;
    absl::Status result_;
  };

 protected:
  // Holds mu_; when it lets go, runs the cancellation a Cancel under it
  // decided (outside the lock: its hook may take other locks).
  class ABSL_SCOPED_LOCKABLE Locked {
   public:
    explicit Locked(StreamStateBase& state)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(state.mu_)
        : state_(state) {
      state_.mu_.Lock();
    }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;
    ~Locked() ABSL_UNLOCK_FUNCTION() {
      if (!state_.pending_cancel_.has_value()) [[likely]] {
        state_.mu_.Unlock();
        return;
      }
      absl::Status cancel = *std::move(state_.pending_cancel_);
      state_.pending_cancel_.reset();
      state_.mu_.Unlock();
      state_.cancellation_.Cancel(std::move(cancel));
    }

   private:
    StreamStateBase& state_;
  };

  // A party's waiting slot; its timer ends the stream at the deadline.
  struct Waiting final : TimerNode {
    std::coroutine_handle<> handle;
    Worker* worker = nullptr;
    StreamStateBase* owner = nullptr;
  };

  // Drops what the lanes hold.
  virtual void ClearRequestsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  virtual void ClearRepliesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;

  void CancelLocked(absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (end_.has_value()) return;
    end_ = why;
    pending_cancel_ = std::move(why);
    ClearRequestsLocked();
    ClearRepliesLocked();
    WakeAllLocked();
  }

  // Ends the stream if its deadline passed. Returns whether it has ended.
  bool EndedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (end_.has_value()) return true;
    if (deadline_ != INT64_MAX && Clock::MonotonicNanos() >= deadline_) {
      CancelLocked(absl::DeadlineExceededError("the stream's deadline passed"));
      return true;
    }
    return false;
  }

  // Why a write fails now that the stream ended.
  absl::Status WriteRefusalLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!end_->ok()) return *end_;
    return absl::FailedPreconditionError("the stream has ended");
  }

  // Parks `handle` as `party`, on the current worker, with a timer at the
  // deadline.
  void ParkLocked(Party party, std::coroutine_handle<> handle)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Waiting& waiting = waiting_[party];
    assert(!waiting.handle && "two waiters for one party of a stream");
    waiting.handle = handle;
    waiting.worker = Worker::Current();
    assert(waiting.worker != nullptr && "a stream is awaited on a worker");
    if (deadline_ != INT64_MAX && !waiting.queued()) {
      waiting.deadline = deadline_;
      waiting.fire = &FireDeadline;
      waiting.worker->timers().Add(&waiting);
    }
  }
  // After `party` resumed (on its worker): stops its timer.
  void Unparked(Party party) {
    Waiting& waiting = waiting_[party];
    if (waiting.queued()) waiting.worker->timers().Cancel(&waiting);
  }
  // A parked party's frame is destroyed without resuming (a hard crash):
  // forgets it.
  void Abandon(Party party, std::coroutine_handle<> handle) {
    {
      Locked lock(*this);
      if (waiting_[party].handle == handle) waiting_[party].handle = nullptr;
    }
    Waiting& waiting = waiting_[party];
    if (waiting.queued() && waiting.worker == Worker::Current()) {
      waiting.worker->timers().Cancel(&waiting);
    }
  }

  void WakeLocked(Party party) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Waiting& waiting = waiting_[party];
    if (!waiting.handle) return;
    std::coroutine_handle<> handle = std::exchange(waiting.handle, nullptr);
    waiting.worker->Schedule(handle);
  }
  void WakeAllLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (int party = 0; party < kParties; ++party) {
      WakeLocked(static_cast<Party>(party));
    }
  }

  // A lane's reader wakes its writer once it is down to this.
  size_t low_water() const { return window_ / 2; }

  Mutex mu_;
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool requests_closed_ ABSL_GUARDED_BY(mu_) = false;

 private:
  static void FireDeadline(TimerNode* node) {
    StreamStateBase* state = static_cast<Waiting*>(node)->owner;
    Locked lock(*state);
    state->EndedLocked();
  }

  const size_t window_;
  const int64_t deadline_;
  Waiting waiting_[kParties];
  std::optional<absl::Status> pending_cancel_ ABSL_GUARDED_BY(mu_);
  CallCancellation cancellation_;
  std::shared_ptr<RemoteCaller> remote_caller_;
};

// The typed part: the two lanes.
template <typename Req, typename Rep>
class StreamState final : public StreamStateBase {
 public:
  StreamState(size_t window, int64_t deadline)
      : StreamStateBase(window, deadline),
        requests_(this->window()),
        replies_(this->window()) {}

  // The client end. co_await WriteRequest(r) -> absl::Status;
  // co_await ReadReply() -> std::optional<Rep> (nullopt: the stream ended;
  // end() says how).
  WriteAwaiter<Req, kClientWrite, kServerRead> WriteRequest(Req request) {
    return {*this, requests_, std::move(request)};
  }
  ReadAwaiter<Rep, kClientRead, kServerWrite> ReadReply() {
    return {*this, replies_};
  }

  // The server end. co_await ReadRequest() -> std::optional<Req> (nullopt:
  // the client closed its requests, or the stream ended);
  // co_await WriteReply(m) -> absl::Status.
  ReadAwaiter<Req, kServerRead, kClientWrite> ReadRequest() {
    return {*this, requests_};
  }
  WriteAwaiter<Rep, kServerWrite, kClientRead> WriteReply(Rep reply) {
    return {*this, replies_, std::move(reply)};
  }

  // The next reply if one is queued now, without waiting (nullopt: none
  // yet, or the stream ended): for a transport that sends from its own
  // thread while messages keep coming. The client end's reader only.
  std::optional<Rep> TryReadReply() {
    Locked lock(*this);
    EndedLocked();
    if (replies_.empty()) return std::nullopt;
    std::optional<Rep> reply(replies_.Pop());
    if (replies_.size() <= low_water()) WakeLocked(kServerWrite);
    return reply;
  }

  // The lanes, for handles that know one message type only.
  Ring<Req>& requests() { return requests_; }
  Ring<Rep>& replies() { return replies_; }

  // Queues `request` without waiting: a server-streaming call's one
  // request, before the stream is handed to its server. REQUIRES: the
  // stream is new.
  void PushRequest(Req request) {
    Locked lock(*this);
    requests_.Push(std::move(request));
  }

 private:
  void ClearRequestsLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    requests_.Clear();
  }
  void ClearRepliesLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    replies_.Clear();
  }

  // Guarded by mu_ (not annotated: the awaiters hold references to them,
  // and touch them only under mu_).
  Ring<Req> requests_;
  Ring<Rep> replies_;
};

// What transports carry: serialized messages both ways.
using ByteStream = StreamState<std::string, std::string>;

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_ACTOR_INTERNAL_STREAM_STATE_H_
