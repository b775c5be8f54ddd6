// ActorCellBase: the type-erased control block of an actor. Internal.
//
// Every actor is one allocation: its ActorContext<M> (this base, the typed
// mailbox and the spawn arguments) followed by the mailbox's slots. The
// body's coroutine frame is a second allocation.
//
// Lifetime: reference counted, in one 64-bit word: the number of ActorRefs
// (senders, low 32 bits), a "running" bit held from Spawn until the actor
// finishes, and above them a count of references that do not keep the
// actor's Receive() waiting: ActorWatches, and threads that are waking the
// actor because they dropped its last sender. The thread that brings the
// word to zero deletes the cell; a message still in the mailbox then is
// destroyed with it.
//
// Parking protocol (how a consumer sleeps without losing a wake-up). The
// park word holds a state and the mailbox head the consumer parked at.
//   producer of the message at position p: reserve p with a seq_cst CAS on
//     the mailbox tail, write and publish the message, load the park word;
//     unless p < head (the consumer already took that message: a late
//     wake-up, ignored): kParked -> kActive and resume the consumer, or
//     kParking -> kWakePending (the consumer will not suspend).
//   consumer pinned to its worker (Placement::kWorker): word = (head,
//     kParked) (seq_cst); if the tail moved or an end condition holds, CAS
//     back to kActive and go on; if that CAS fails a producer has already
//     resumed it, which takes effect on this same worker after it suspends.
//   consumer that other workers may resume (kAnyWorker, sync actors): word
//     = (head, kParking); if the tail moved or an end condition holds,
//     word = kActive and go on; else CAS kParking -> kParked and suspend,
//     unless a producer set kWakePending meanwhile. So a producer resumes it
//     only once fully parked: it never touches its frame after another
//     thread may have resumed it.
// Both sides store, then load what the other stores, all sequentially
// consistent, so at least one of them sees the other; and a producer wakes
// only for a message not yet taken, so a resumed Receive always finds a
// message (perhaps still being written) or an end condition. The end
// conditions (stop requested, last ActorRef gone) wake the same way,
// without the position check.
//
// Thread-safety: documented per member; the body's state is touched only by
// the body, one step at a time.
#ifndef ANVIL_RUNTIME_ACTOR_INTERNAL_ACTOR_CELL_H_
#define ANVIL_RUNTIME_ACTOR_INTERNAL_ACTOR_CELL_H_

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/actor/actor_options.h"
#include "runtime/actor/supervisor.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/mutex.h"
#include "runtime/core/task.h"

namespace anvil {

class Runtime;

namespace internal {

// A suspended coroutine and the worker to resume it on.
struct Waiter {
  std::coroutine_handle<> handle;
  Worker* worker;
  void Resume() const { worker->Schedule(handle); }
};

// Rarely used parts of a cell, allocated on first use: name, supervisor,
// waiting senders and joiners, the final status.
struct ActorSlowState {
  std::string name;
  Supervisor supervisor;
  Mutex mu;
  std::vector<Waiter> send_waiters ABSL_GUARDED_BY(mu);
  std::vector<Waiter> join_waiters ABSL_GUARDED_BY(mu);
  absl::Status final_status ABSL_GUARDED_BY(mu);  // set when finished
};

class ActorCellBase : public Continuation {
 public:
  enum class State : uint8_t {
    kCreated,   // spawned, body not started yet
    kRunning,   // body started (and maybe restarted)
    kFinished,  // body returned for good; mailbox closed
  };

  ActorCellBase(const ActorCellBase&) = delete;
  ActorCellBase& operator=(const ActorCellBase&) = delete;

  // --- Sender references (ActorRef). Thread-safe. ---
  void Ref() { refs_.fetch_add(kSender, std::memory_order_relaxed); }
  // Drops a sender reference; dropping the last one wakes the body, whose
  // Receive then returns nothing once the mailbox is empty.
  void Unref();

  // --- Watch references (ActorWatch): keep the cell, not the actor's
  // Receive, alive. Thread-safe. ---
  void RefWatch() { refs_.fetch_add(kWaking, std::memory_order_relaxed); }
  void UnrefWatch() { ReleaseWaking(); }

  // --- State. Thread-safe. ---
  bool alive() const {
    return state_.load(std::memory_order_acquire) != State::kFinished;
  }
  // False once the actor finished or was told to stop: sends are refused.
  bool accepting() const {
    return alive() && !stop_requested_.load(std::memory_order_acquire);
  }
  bool stop_requested() const {
    return stop_requested_.load(std::memory_order_acquire);
  }
  // The actor's name ("actor-<id>" unless named).
  std::string name() const;
  // What the actor is doing, for reports: "waiting in Receive", or
  // "running, or awaiting something else (...)" (when nothing can run, as
  // in a deadlock report, it awaits a call, a timer or an event), or "not
  // started", or "finished".
  std::string activity() const;
  Runtime& runtime() const { return *static_cast<Runtime*>(worker_->owner()); }
  // The home worker (any worker of the runtime, for sync actors).
  Worker* home_worker() const { return worker_; }

  // Tells the actor to stop: Receive drains the mailbox, then returns
  // nothing; sends are refused with UNAVAILABLE. Thread-safe.
  void RequestStop();

  // --- Producer side. Thread-safe. ---

  // Resumes the consumer if it is parked before the message at `position`,
  // which the caller just published.
  void WakeConsumer(uint32_t position) {
    // Fast path: the consumer is running or queued, so it will find the
    // message by itself.
    const uint64_t state = park_.load(std::memory_order_seq_cst) & kStateMask;
    if (state == kParking || state == kParked) Wake(true, position);
  }
  // Resumes the consumer if it is parked, for an end condition.
  void WakeForEnd() { Wake(false, 0); }

  // UNAVAILABLE naming the actor, for sends that find it gone or stopping.
  absl::Status GoneError() const;
  // RESOURCE_EXHAUSTED naming the actor and its capacity.
  absl::Status FullError(uint32_t capacity) const;

  // Registers `waiter` to be resumed when the mailbox may have room or the
  // actor finishes. Returns false (not registered) if `still_full` says
  // there is room already or the actor is gone.
  template <typename StillFull>
  bool WaitForRoom(Waiter waiter, StillFull still_full);

  // Registers `waiter` to be resumed when the actor finishes. Returns false
  // if it already has.
  bool WaitForFinish(Waiter waiter);
  // The status the actor finished with. REQUIRES: !alive().
  absl::Status final_status();

  // --- Consumer side. Only the body. ---

  // Parks the body's coroutine `handle` with the mailbox at `head`, unless
  // `has_work()` (the mailbox's NonEmpty) or an end condition says not to.
  // Returns true if it suspends: from then on the caller must not touch the
  // cell or its frame.
  template <typename HasWork>
  bool Park(std::coroutine_handle<> handle, uint32_t head, HasWork has_work) {
    if (placement_ == Placement::kWorker) {
      Worker* current = Worker::Current();
      if (current == worker_ && current->has_queued_work()) {
        // Other work is ready here: let it run first and look again then,
        // instead of parking (a producer among it needs no wake-up). Once
        // per Receive, so idle actors still park.
        waiter_ = handle;
        current->ScheduleLocal(this);
        return true;
      }
    }
    return ParkNow(handle, head, has_work);
  }

  template <typename HasWork>
  bool ParkNow(std::coroutine_handle<> handle, uint32_t head,
               HasWork has_work) {
    if (placement_ == Placement::kAnyWorker) {
      BeginPark(handle, head);
      if (has_work() || EndRequested()) {
        CancelPark();
        return false;
      }
      return FinishPark();
    }
    waiter_ = handle;
    const uint64_t parked = (uint64_t{head} << 2) | kParked;
    park_.store(parked, std::memory_order_seq_cst);
    if (has_send_waiters_.load(std::memory_order_seq_cst)) WakeOneSender();
    if (has_work() || EndRequested()) {
      uint64_t expected = parked;
      // Fails only if a producer resumed us already (on this worker).
      return !park_.compare_exchange_strong(expected, kActive,
                                            std::memory_order_seq_cst);
    }
    return true;
  }

  // The parked body's coroutine, for Run() after a yield.
  std::coroutine_handle<> waiter() const { return waiter_; }

  // Two-phase parking, for actors that other threads may resume: announces
  // that the body is about to park with the mailbox at `head`; `handle`
  // (null for sync actors) is what a producer resumes. The caller then
  // re-checks the mailbox and the end conditions: if either holds,
  // CancelPark(); else FinishPark().
  void BeginPark(std::coroutine_handle<> handle, uint32_t head);
  void CancelPark() { park_.store(kActive, std::memory_order_seq_cst); }
  // Parks for good, unless a producer signalled since BeginPark. Returns
  // true if parked: from then on the caller must not touch the cell or its
  // frame (another thread may resume it at once).
  bool FinishPark() {
    const uint64_t word = uint64_t{parking_head_} << 2;
    uint64_t expected = word | kParking;
    if (park_.compare_exchange_strong(expected, word | kParked,
                                      std::memory_order_seq_cst)) {
      return true;
    }
    park_.store(kActive, std::memory_order_seq_cst);
    return false;
  }
  // True if Receive should return nothing once the mailbox is empty.
  bool EndRequested() const {
    return stop_requested_.load(std::memory_order_seq_cst) ||
           (refs_.load(std::memory_order_seq_cst) & kSenderMask) == 0;
  }
  // Lets one waiting sender retry after a message was taken.
  void MaybeWakeSender() {
    if (has_send_waiters_.load(std::memory_order_relaxed)) WakeOneSender();
  }

  // --- For the runtime. ---
  bool is_sync() const { return sync_; }
  // Starts the body on its worker (or its thread, for sync actors).
  void Start();
  // Destroys a suspended body after the workers stopped and finishes the
  // actor with `status`; the cell may be deleted by the time it returns.
  // Single-threaded use only.
  void ForceFinish(const absl::Status& status);

  // Registry links, guarded by the runtime's registry mutex.
  ActorCellBase* registry_prev = nullptr;
  ActorCellBase* registry_next = nullptr;

 protected:
  // `worker` is the home worker (for sync actors: any worker of the
  // runtime, which only serves to reach the Runtime).
  ActorCellBase(uint32_t id, Worker* worker, ActorOptions& options, bool sync);
  virtual ~ActorCellBase();

  // Creates the body coroutine, not started. Its promise's observer is this.
  virtual std::coroutine_handle<> CreateBody() = 0;
  // The body's result after it finished (exceptions become INTERNAL).
  virtual absl::Status BodyResult(std::coroutine_handle<> body) = 0;
  // Runs the body of a sync actor on the calling thread until it returns.
  virtual absl::Status RunSyncBody() = 0;
  // Destroys the queued messages; returns how many there were.
  virtual size_t DropMessages() = 0;
  // Destroys what the spawn arguments still hold (the actor finished).
  virtual void ReleaseArguments() = 0;
  // True if the supervisor may restart the body (so it is called with
  // copies of the arguments).
  bool restartable() const {
    const ActorSlowState* s = slow_.load(std::memory_order_acquire);
    return s != nullptr && !s->supervisor.is_default();
  }
  // Destroys and frees this cell.
  virtual void DeleteSelf() = 0;
  // Blocks a sync actor until WakeConsumer resumes it.
  void WaitWhileParked() {
    park_.wait((uint64_t{parking_head_} << 2) | kParked,
               std::memory_order_seq_cst);
  }

  // Called with the body's outcome; restarts it or finishes the actor.
  // Returns true if it finished the actor, after which the cell may have
  // been deleted.
  bool OnBodyFinished(const absl::Status& status);

  // Park states, in the low two bits of park_; the head is above them.
  static constexpr uint64_t kActive = 0;
  static constexpr uint64_t kParking = 1;
  static constexpr uint64_t kParked = 2;
  static constexpr uint64_t kWakePending = 3;
  static constexpr uint64_t kStateMask = 3;
  std::atomic<uint64_t> park_{kActive};
  uint32_t parking_head_ = 0;  // the head BeginPark parked at; body only

 private:
  void OnTaskDone(std::coroutine_handle<> task) noexcept final;
  void Wake(bool check_position, uint32_t position);
  void ResumeConsumer();
  // Creates the body coroutine and schedules it on the home worker.
  void StartBody();
  void WakeOneSender();
  void Finish(const absl::Status& status);
  void RunSyncThread();
  ActorSlowState& slow();

  static constexpr uint64_t kSender = 1;
  static constexpr uint64_t kSenderMask = (uint64_t{1} << 32) - 1;
  static constexpr uint64_t kRunning = uint64_t{1} << 32;
  static constexpr uint64_t kWaking = uint64_t{1} << 33;

  // Drops the running reference.
  void UnrefRunning();
  void ReleaseWaking();

  // Field order packs the control block.
  Worker* const worker_;            // home worker (any worker for sync actors)
  std::coroutine_handle<> waiter_;  // the parked consumer
  std::coroutine_handle<> body_;    // the running body, if any
  std::atomic<ActorSlowState*> slow_{nullptr};
  std::atomic<uint64_t> refs_{kRunning};
  const uint32_t id_;
  std::atomic<State> state_{State::kCreated};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> has_send_waiters_{false};
  const bool sync_;
  const Placement placement_;
};

template <typename StillFull>
bool ActorCellBase::WaitForRoom(Waiter waiter, StillFull still_full) {
  ActorSlowState& s = slow();
  MutexLock lock(s.mu);
  has_send_waiters_.store(true, std::memory_order_seq_cst);
  // After announcing ourselves: if the consumer popped before it could see
  // the flag, the mailbox has room now and we retry instead of sleeping.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (state_.load(std::memory_order_seq_cst) == State::kFinished ||
      !still_full()) {
    if (s.send_waiters.empty()) {
      has_send_waiters_.store(false, std::memory_order_relaxed);
    }
    return false;
  }
  s.send_waiters.push_back(waiter);
  return true;
}

}  // namespace internal
}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_INTERNAL_ACTOR_CELL_H_
