// ActorDaemon<M>: a daemon whose work is serving a mailbox of M. Its calls
// are messages to one actor that Run() starts and Stop() drains, so a
// daemon's dependents talk to it by message, never by sharing its state.
// protoc-gen-anvil derives each daemon with methods from it (SDaemon); by
// hand:
//
//   class Counter : public anvil::ActorDaemon<int> {
//    public:
//     static anvil::DaemonInfo Info() { return {.name = "demo.Counter"}; }
//     explicit Counter(anvil::DaemonContext& ctx) : ActorDaemon(ctx) {}
//    private:
//     anvil::Task<> ServeMailbox(anvil::ActorContext<int>& self) override {
//       while (std::optional<int> n = co_await self.Receive()) sum_ += *n;
//     }
//     int sum_ = 0;
//   };
//   // A dependent: ctx.Get<Counter>().actor().TrySend(1);
//
// Lifecycle:
// - Construction spawns the actor, closed: messages sent before Run() are
//   queued (up to the mailbox capacity; beyond it, RESOURCE_EXHAUSTED) and
//   not served, so nothing is served before every daemon is prepared.
// - Run() opens it: ServeMailbox runs on the actor until Receive() returns
//   nothing, and Run() returns the actor's final status (OK, or the error
//   its body failed with).
// - Stop() tells the actor to stop: new messages are refused with
//   UNAVAILABLE; ServeMailbox receives what is queued, then nothing, and
//   returns. Stopped before Run(), it never serves: queued calls get
//   CANCELLED.
// - The runtime shutting down stops it the same way.
// Subclasses may override Run and Stop to add to them, calling these.
//
// Timers: Every(period, message) sends the daemon's actor `message` every
// `period` from Run() until Stop(), so periodic work runs on the actor like
// any other message (no lock, no helper actor of the daemon's own):
//
//   explicit Counter(anvil::DaemonContext& ctx) : ActorDaemon(ctx) {
//     Every(absl::Seconds(1), 0).IgnoreError();  // period > 0: cannot fail
//   }
//
// Thread-safety: actor() from any thread; ServeMailbox runs on the actor
// (one step at a time), so the state it touches needs no lock.
//
// Example: examples/heartbeat/heartbeat_main.cc (Every, a private message).
#ifndef ANVIL_RUNTIME_DAEMON_ACTOR_DAEMON_H_
#define ANVIL_RUNTIME_DAEMON_ACTOR_DAEMON_H_

#include <atomic>
#include <concepts>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/actor/actor_options.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/async_event.h"
#include "runtime/core/sleep.h"
#include "runtime/core/task.h"
#include "runtime/daemon/daemon.h"
#include "runtime/daemon/factory.h"

namespace anvil {

template <typename M>
class ActorDaemon : public Daemon {
 public:
  ActorDaemon(const ActorDaemon&) = delete;
  ActorDaemon& operator=(const ActorDaemon&) = delete;
  // Stops the actor if Run() never started it. REQUIRES: Run() returned, if
  // it was called.
  ~ActorDaemon() override { Close(); }

  // The actor's ref, to hand to the daemon's users.
  const ActorRef<M>& actor() const { return actor_; }

  Task<absl::Status> Run() override {
    gate_->serve.store(this, std::memory_order_release);
    gate_->open.Notify();
    co_return co_await watch_.Join();
  }

  Task<> Stop() override {
    Close();
    co_return;
  }

 protected:
  // The actor is named "<node path>/<daemon name>" and takes `options`
  // (its name is overridden).
  explicit ActorDaemon(DaemonContext& context, ActorOptions options = {})
      : runtime_(context.runtime()), gate_(std::make_shared<Gate>()) {
    options.name = absl::StrCat(context.factory().path(), "/",
                                context.info().name, "/mailbox");
    actor_ = context.runtime().Spawn(Body, gate_, std::move(options));
    watch_ = actor_.Watch();
  }

  // Receives from `self` (the actor's context) and serves each message until
  // Receive() returns nothing (see the lifecycle above). Runs on the actor.
  virtual Task<> ServeMailbox(ActorContext<M>& self) = 0;

  // Sends the actor a copy of `message` every `period` (virtual time in
  // simulation), the first one period after Run() starts, the last before
  // Stop(). A tick that finds the mailbox full is dropped, and ticks missed
  // while the worker was busy are skipped, not sent in a burst: the next
  // one comes on time. A daemon may have several timers.
  // INVALID_ARGUMENT for a period that is not positive and finite;
  // FAILED_PRECONDITION once Run() started. Call it from the constructor
  // or Prepare(). Each timer is a small actor of the runtime (named
  // "<actor name>/every-<period>"); it ends at its first tick after Stop().
  // `T` is one of M's types (M itself may not be copyable: calls are not).
  template <typename T>
  requires std::copy_constructible<T> && std::constructible_from<M, T>
      absl::Status Every(absl::Duration period, T message) {
    if (period <= absl::ZeroDuration() || period == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(actor_.name(),
                       ": a timer's period must be positive "
                       "and finite, not ",
                       absl::FormatDuration(period)));
    }
    if (gate_->open.HasBeenNotified()) {
      return absl::FailedPreconditionError(absl::StrCat(
          actor_.name(), ": a timer must be set before Run() and Stop()"));
    }
    runtime_.Spawn(
        TimerBody<T>, actor_, gate_, period, std::move(message),
        ActorOptions{.name = absl::StrCat(actor_.name(), "/every-",
                                          absl::FormatDuration(period))});
    return absl::OkStatus();
  }

 private:
  // Shared by the daemon, its actor and its timers, so that an actor stopped
  // before Run() never touches the daemon.
  struct Gate {
    AsyncEvent open;
    // Set by Run(): the daemon to serve with. Left null when the gate is
    // opened to end the actor.
    std::atomic<ActorDaemon*> serve{nullptr};
    // Set by Close(): timers stop sending.
    std::atomic<bool> closed{false};
  };

  static Task<> Body(ActorContext<M>& context, std::shared_ptr<Gate> gate) {
    co_await gate->open.Wait();
    if (ActorDaemon* daemon = gate->serve.load(std::memory_order_acquire)) {
      co_await daemon->ServeMailbox(context);
    }
  }

  // A timer's actor: holds no pointer to the daemon, so it may outlive it
  // by up to one period.
  template <typename T>
  static Task<> TimerBody(ActorContext<int>&, ActorRef<M> actor,
                          std::shared_ptr<Gate> gate, absl::Duration period,
                          T message) {
    co_await gate->open.Wait();
    if (gate->serve.load(std::memory_order_acquire) == nullptr) co_return;
    Interval every(period);
    while (true) {
      co_await every.Next();
      if (gate->closed.load(std::memory_order_acquire)) co_return;
      absl::Status sent = actor.TrySend(M(message));
      if (absl::IsUnavailable(sent)) co_return;  // the actor ended
    }
  }

  void Close() {
    gate_->closed.store(true, std::memory_order_release);
    actor_.RequestStop();
    gate_->open.Notify();
  }

  Runtime& runtime_;
  std::shared_ptr<Gate> gate_;
  ActorRef<M> actor_;
  ActorWatch watch_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_DAEMON_ACTOR_DAEMON_H_
