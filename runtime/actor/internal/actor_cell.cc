#include "runtime/actor/internal/actor_cell.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/log.h"

namespace anvil::internal {

ActorCellBase::ActorCellBase(uint32_t id, Worker* worker, ActorOptions& options,
                             bool sync)
    : worker_(worker), id_(id), sync_(sync), placement_(options.placement) {
  if (!options.name.empty() || !options.supervisor.is_default()) {
    auto* s = new ActorSlowState;
    s->name = std::move(options.name);
    s->supervisor = std::move(options.supervisor);
    slow_.store(s, std::memory_order_relaxed);
  }
}

ActorCellBase::~ActorCellBase() {
  delete slow_.load(std::memory_order_acquire);
}

ActorSlowState& ActorCellBase::slow() {
  ActorSlowState* s = slow_.load(std::memory_order_acquire);
  if (s != nullptr) return *s;
  auto* fresh = new ActorSlowState;
  if (slow_.compare_exchange_strong(s, fresh, std::memory_order_seq_cst)) {
    return *fresh;
  }
  delete fresh;  // another thread installed one first
  return *s;
}

std::string ActorCellBase::name() const {
  const ActorSlowState* s = slow_.load(std::memory_order_acquire);
  if (s != nullptr && !s->name.empty()) return s->name;
  return absl::StrCat("actor-", id_);
}

std::string ActorCellBase::activity() const {
  switch (state_.load(std::memory_order_acquire)) {
    case State::kCreated:
      return "not started";
    case State::kFinished:
      return "finished";
    case State::kRunning:
      break;
  }
  const uint64_t park = park_.load(std::memory_order_acquire) & kStateMask;
  if (park == kParked) return "waiting in Receive";
  return "running, or awaiting something else (a call, a timer, an event)";
}

absl::Status ActorCellBase::GoneError() const {
  if (!alive()) {
    return absl::UnavailableError(
        absl::StrCat("actor '", name(), "' has finished"));
  }
  return absl::UnavailableError(
      absl::StrCat("actor '", name(), "' is stopping and takes no messages"));
}

absl::Status ActorCellBase::FullError(uint32_t capacity) const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "mailbox of actor '", name(), "' is full (", capacity, " messages)"));
}

absl::Status NoActorError() {
  return absl::FailedPreconditionError(
      "ActorRef refers to no actor (default-constructed or moved from)");
}

void ActorCellBase::Unref() {
  uint64_t current = refs_.load(std::memory_order_relaxed);
  uint64_t next;
  bool waking;
  do {
    waking = (current & kSenderMask) == kSender && current != kSender;
    // The last sender of a live actor must wake it, and holds the cell
    // alive for that with a waking count taken in the same step.
    next = waking ? current - kSender + kWaking : current - kSender;
  } while (!refs_.compare_exchange_weak(
      current, next, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (next == 0) {
    DeleteSelf();
    return;
  }
  if (waking) {
    if (alive()) WakeForEnd();
    ReleaseWaking();
  }
}

void ActorCellBase::ReleaseWaking() {
  if (refs_.fetch_sub(kWaking, std::memory_order_acq_rel) == kWaking) {
    DeleteSelf();
  }
}

void ActorCellBase::UnrefRunning() {
  if (refs_.fetch_sub(kRunning, std::memory_order_acq_rel) == kRunning) {
    DeleteSelf();
  }
}

void ActorCellBase::RequestStop() {
  if (stop_requested_.exchange(true, std::memory_order_seq_cst)) return;
  WakeForEnd();
}

void ActorCellBase::ResumeConsumer() {
  if (sync_) {
    park_.notify_one();
    return;
  }
  Worker* target = worker_;
  if (placement_ == Placement::kAnyWorker) {
    Worker* current = Worker::Current();
    if (current != nullptr) target = current;
  }
  target->Schedule(waiter_);
}

void ActorCellBase::Wake(bool check_position, uint32_t position) {
  uint64_t word = park_.load(std::memory_order_seq_cst);
  while (true) {
    const uint64_t state = word & kStateMask;
    if (state != kParking && state != kParked) return;
    const uint32_t head = static_cast<uint32_t>(word >> 2);
    // The consumer parked after taking this message: nothing to wake for.
    if (check_position && static_cast<int32_t>(position - head) < 0) return;
    const uint64_t next =
        state == kParking ? (word & ~kStateMask) | kWakePending : kActive;
    if (park_.compare_exchange_weak(word, next, std::memory_order_seq_cst)) {
      if (state == kParked) ResumeConsumer();
      return;
    }
  }
}

void ActorCellBase::BeginPark(std::coroutine_handle<> handle, uint32_t head) {
  waiter_ = handle;
  parking_head_ = head;
  park_.store((uint64_t{head} << 2) | kParking, std::memory_order_seq_cst);
  // A sender that announced itself but was not seen by a pop gets its turn
  // now that the mailbox is empty.
  if (has_send_waiters_.load(std::memory_order_seq_cst)) WakeOneSender();
}

void ActorCellBase::WakeOneSender() {
  ActorSlowState& s = slow();
  Waiter waiter;
  {
    MutexLock lock(s.mu);
    if (s.send_waiters.empty()) {
      has_send_waiters_.store(false, std::memory_order_relaxed);
      return;
    }
    waiter = s.send_waiters.front();
    s.send_waiters.erase(s.send_waiters.begin());
    if (s.send_waiters.empty()) {
      has_send_waiters_.store(false, std::memory_order_relaxed);
    }
  }
  waiter.Resume();
}

bool ActorCellBase::WaitForFinish(Waiter waiter) {
  ActorSlowState& s = slow();
  MutexLock lock(s.mu);
  // Sequentially consistent, pairing with Finish: see there.
  if (state_.load(std::memory_order_seq_cst) == State::kFinished) return false;
  s.join_waiters.push_back(waiter);
  return true;
}

absl::Status ActorCellBase::final_status() {
  ActorSlowState* s = slow_.load(std::memory_order_acquire);
  if (s == nullptr) return absl::OkStatus();
  MutexLock lock(s->mu);
  return s->final_status;
}

void ActorCellBase::Start() {
  state_.store(State::kRunning, std::memory_order_release);
  if (sync_) {
    runtime().StartSyncThread([this] { RunSyncThread(); });
    return;
  }
  StartBody();
}

void ActorCellBase::StartBody() {
  body_ = CreateBody();
  worker_->Schedule(body_);
}

void ActorCellBase::OnTaskDone(std::coroutine_handle<> task) noexcept {
  absl::Status status = BodyResult(task);
  task.destroy();
  body_ = {};
  OnBodyFinished(status);
}

bool ActorCellBase::OnBodyFinished(const absl::Status& status) {
  if (status.ok()) {
    Finish(status);
    return true;
  }
  ActorSlowState* s = slow_.load(std::memory_order_acquire);
  const bool restart =
      s != nullptr && !stop_requested() && !runtime().stopping() &&
      s->supervisor.Decide(status) == SupervisorDecision::kRestart;
  if (!restart) {
    Log().error("actor '{}' failed and stops: {}", name(), status.ToString());
    Finish(status);
    return true;
  }
  Log().warn("actor '{}' failed and restarts: {}", name(), status.ToString());
  if (sync_) return false;  // RunSyncThread runs the body again
  StartBody();
  return false;
}

void ActorCellBase::RunSyncThread() {
  // Once OnBodyFinished finishes the actor, the cell may be deleted.
  while (!OnBodyFinished(RunSyncBody())) {
  }
}

void ActorCellBase::Finish(const absl::Status& status) {
  std::vector<Waiter> joiners;
  std::vector<Waiter> senders;
  {
    ActorSlowState* s = slow_.load(std::memory_order_acquire);
    if (s == nullptr && !status.ok()) s = &slow();
    if (s != nullptr) {
      MutexLock lock(s->mu);
      s->final_status = status;
      state_.store(State::kFinished, std::memory_order_seq_cst);
      joiners.swap(s->join_waiters);
      senders.swap(s->send_waiters);
      has_send_waiters_.store(false, std::memory_order_relaxed);
    } else {
      state_.store(State::kFinished, std::memory_order_seq_cst);
      // A joiner or sender may have installed the slow state meanwhile.
      // Either it registered before this store (and is found here), or it
      // sees kFinished under its lock and does not register.
      s = slow_.load(std::memory_order_seq_cst);
      if (s != nullptr) {
        MutexLock lock(s->mu);
        joiners.swap(s->join_waiters);
        senders.swap(s->send_waiters);
        has_send_waiters_.store(false, std::memory_order_relaxed);
      }
    }
  }
  if (const size_t dropped = DropMessages(); dropped > 0) {
    Log().warn(
        "actor '{}' finished with {} unprocessed message(s); they were "
        "dropped and their callers get CANCELLED",
        name(), dropped);
  }
  ReleaseArguments();
  for (const Waiter& w : senders) w.Resume();
  for (const Waiter& w : joiners) w.Resume();
  runtime().OnActorFinished(this, status);
  UnrefRunning();
}

void ActorCellBase::ForceFinish(const absl::Status& status) {
  if (body_) {
    std::coroutine_handle<> body = std::exchange(body_, {});
    body.destroy();
  }
  Finish(status);
}

}  // namespace anvil::internal
