// CallContext: what the code serving a call knows about it: the caller's
// deadline, whether the caller still waits for the reply, and, for a call
// from another process, who and where the caller is (RemoteCaller: its
// proven identity, address and metadata). Generated
// services pass one to every method, and generated clients take one, so that
// a call made while serving another inherits its deadline (the earlier of the
// two wins).
//
//   Task<absl::StatusOr<GetReply>> Get(anvil::CallContext& call,
//                                      const GetRequest& request) override {
//     if (call.cancelled()) co_return absl::CancelledError("nobody waits");
//     ANVIL_CO_ASSIGN_OR_RETURN(ReadReply r,
//                               co_await storage_.Read(read, call));
//     ...
//   }
//
// Deadlines are monotonic-clock nanoseconds (anvil::Clock). A CallContext is
// valid while its call is being served (it may point into the call); cheap
// to copy; not thread-safe (it belongs to the call).
//
// Example: examples/greeter/greeter_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_CALL_CONTEXT_H_
#define ANVIL_RUNTIME_ACTOR_CALL_CONTEXT_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/core/clock.h"
#include "runtime/core/mutex.h"

namespace anvil {

// How a transport tells the code serving a remote caller that the caller
// went away (the RPC was cancelled, its connection dropped, or its server
// is shutting down). The transport owns it for the length of the call and
// calls Cancel(); the serving side polls cancelled() or registers a hook.
//
// Thread-safe.
class CallCancellation {
 public:
  using Hook = std::function<void(const absl::Status& why)>;

  // Marks the call cancelled because of `why` (CANCELLED: the caller went
  // away; UNAVAILABLE: the server is stopping) and runs the hook, if one is
  // registered. Later calls do nothing.
  void Cancel(absl::Status why) {
    MutexLock lock(mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    why_ = std::move(why);
    cancelled_.store(true, std::memory_order_release);
    if (hook_) hook_(why_);
  }

  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // Registers `hook` to run (once, holding an internal lock, on the thread
  // that cancels: keep it short and non-blocking) when the call is
  // cancelled; at once if it already was. Replaces the previous hook; an
  // empty one unregisters. After this returns, a replaced hook is not
  // running and will not run.
  void OnCancel(Hook hook) {
    MutexLock lock(mu_);
    hook_ = std::move(hook);
    if (hook_ && cancelled_.load(std::memory_order_relaxed)) hook_(why_);
  }

 private:
  Mutex mu_;
  std::atomic<bool> cancelled_{false};
  absl::Status why_ ABSL_GUARDED_BY(mu_);
  Hook hook_ ABSL_GUARDED_BY(mu_);
};

class CallContext {
 public:
  // A call without a deadline.
  CallContext() = default;
  // A call that the caller gives up on at `deadline` (Clock::MonotonicNanos
  // time; INT64_MAX for none).
  explicit CallContext(int64_t deadline) : deadline_(deadline) {}
  // As above, for a caller whose giving up sets `caller_gone` (a local
  // call's reply slot). It must outlive the serving of the call.
  CallContext(int64_t deadline, const std::atomic<bool>* caller_gone)
      : deadline_(deadline), caller_gone_(caller_gone) {}
  // As above, for a call a transport served for `*remote_caller` (may be
  // null) and forwarded to the actor; see set_remote_caller.
  CallContext(int64_t deadline, const std::atomic<bool>* caller_gone,
              const std::shared_ptr<RemoteCaller>* remote_caller)
      : deadline_(deadline),
        caller_gone_(caller_gone),
        remote_caller_(remote_caller) {}
  // As above, for a remote caller; the transport cancels `cancellation`,
  // which must outlive the serving of the call.
  CallContext(int64_t deadline, CallCancellation* cancellation)
      : deadline_(deadline), cancellation_(cancellation) {}

  int64_t deadline() const { return deadline_; }
  bool has_deadline() const { return deadline_ != INT64_MAX; }

  // Time left before the deadline (negative once passed; infinite if none).
  absl::Duration remaining() const {
    if (!has_deadline()) return absl::InfiniteDuration();
    return absl::Nanoseconds(deadline_ - Clock::MonotonicNanos());
  }
  // True once the deadline passed: the caller has its DEADLINE_EXCEEDED
  // and will not see a reply.
  bool expired() const {
    return has_deadline() && Clock::MonotonicNanos() >= deadline_;
  }
  // True once the caller stopped waiting for the reply: it cancelled, went
  // away, or its deadline passed (as far as its reply slot or transport
  // noticed). Work for the reply may then be skipped.
  bool cancelled() const {
    return (caller_gone_ != nullptr &&
            caller_gone_->load(std::memory_order_acquire)) ||
           (cancellation_ != nullptr && cancellation_->cancelled());
  }

  // The transport's cancellation of a remote call being served, or null.
  CallCancellation* cancellation() const { return cancellation_; }

  // Who called from outside the process (see remote_caller.h), or null for
  // a call from inside it. The transport sets it; generated code passes it
  // on to the actor serving the call.
  RemoteCaller* remote_caller() const {
    return remote_caller_ == nullptr ? nullptr : remote_caller_->get();
  }
  // A share of it, for the actor a served call is forwarded to.
  std::shared_ptr<RemoteCaller> shared_remote_caller() const {
    return remote_caller_ == nullptr ? nullptr : *remote_caller_;
  }
  // `caller` (the pointer, as the cancellation) must outlive the serving of
  // the call: a context stays one pointer wide and trivially copyable.
  void set_remote_caller(const std::shared_ptr<RemoteCaller>* caller) {
    remote_caller_ = caller;
  }

 private:
  int64_t deadline_ = INT64_MAX;
  const std::atomic<bool>* caller_gone_ = nullptr;
  CallCancellation* cancellation_ = nullptr;
  const std::shared_ptr<RemoteCaller>* remote_caller_ = nullptr;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_CALL_CONTEXT_H_
