// Runtime: worker threads running actors. The entry point of anvil's actor
// layer: spawn actors, then Run() until they finish or a signal shuts the
// runtime down.
//
//   anvil::Task<> Greeter(anvil::ActorContext<std::string>& ctx) {
//     while (std::optional<std::string> name = co_await ctx.Receive()) {
//       spdlog::info("hello, {}", *name);
//     }
//   }
//
//   int main() {
//     anvil::Runtime runtime(anvil::RuntimeOptions{.threads = 2});
//     anvil::ActorRef<std::string> greeter =
//         runtime.Spawn(Greeter, anvil::ActorOptions{.name = "greeter"});
//     greeter.TrySend("world").IgnoreError();
//     greeter = {};             // last ref gone: Greeter's Receive ends
//     return runtime.Run().ok() ? 0 : 1;
//   }
//
// A complete program: examples/actors/word_count_main.cc; the tutorial:
// docs/actors.md.
//
// Spawn(fn, args..., options): `fn` is `Task<> fn(ActorContext<M>&, Args...)`
// or `Task<absl::Status> fn(ActorContext<M>&, Args...)`; the trailing
// ActorOptions is optional. The arguments are stored in the actor and moved
// into `fn`; with a supervisor that may restart it, `fn` gets copies instead,
// and the stored ones are released when the actor finishes. Move-only arguments
// (a TcpStream) are moved in; such an actor cannot be restarted, so Spawn
// logs an error and drops a supervisor given with them. SpawnSync takes
// `absl::Status fn(SyncContext<M>&, Args...)` (or void) and runs it on a thread
// of its own.
//
// Shutdown (Shutdown(), SIGINT or SIGTERM, or the destructor): stop
// accepting (sends get UNAVAILABLE, new spawns finish at once with
// UNAVAILABLE), drain (each actor's Receive delivers what is queued, then
// returns nothing), and wait for the bodies to return, at most
// RuntimeOptions::shutdown_timeout. Run() returns then. A second signal
// during shutdown exits the process at once with 128 + the signal number.
// The destructor destroys the bodies that did not finish in time.
//
// Signals: with RuntimeOptions::handle_signals, SIGINT and SIGTERM are
// blocked in the constructing thread (and so in every thread it starts
// later) and read from a signalfd on worker 0. Actors that subscribed with
// SubscribeSignals get each one as a Signal message; with no live
// subscriber the runtime shuts down. Construct the Runtime before starting
// other threads, so that none of them takes the signal first.
//
// Thread-safe: Spawn, SpawnSync, Shutdown and SubscribeSignals from any
// thread, including actors. Run() from one thread.
//
// Example: examples/actors/word_count_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_RUNTIME_H_
#define ANVIL_RUNTIME_ACTOR_RUNTIME_H_

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/actor/actor_context.h"
#include "runtime/actor/actor_options.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/actor/interceptor.h"
#include "runtime/actor/internal/actor_cell.h"
#include "runtime/actor/internal/actor_instance.h"
#include "runtime/actor/sync_context.h"
#include "runtime/core/internal/scheduler.h"
#include "runtime/core/mutex.h"
#include "runtime/core/task.h"

namespace anvil {

struct RuntimeOptions {
  // Behaviour.

  // Worker threads; 0 means one per available CPU.
  size_t threads = 0;
  // Prefix of thread names and of log lines.
  std::string name = "anvil";
  // Pin worker i to CPU i.
  bool cpu_affinity = false;
  // Take SIGINT and SIGTERM (see the file comment). Only one Runtime in a
  // process holds them at a time; later ones run without.
  bool handle_signals = true;
  // How long a graceful shutdown waits for actors before giving up on them.
  absl::Duration shutdown_timeout = absl::Seconds(30);
  // Mailbox capacity of actors that do not set ActorOptions::mailbox_capacity.
  uint32_t default_mailbox_capacity = 16;
  // Run around every call made through a generated client on this
  // runtime's workers, and every call a node on it serves (see
  // runtime/actor/interceptor.h).
  ClientInterceptors client_interceptors;
  ServerInterceptors server_interceptors;

  // Performance.

  // The longest an idle worker polls for work before sleeping in
  // epoll_wait. Longer makes wake-ups across workers cheaper and idle
  // workers costlier. Each worker adapts within it: while its spins find
  // nothing (work comes from gRPC's threads or sockets, not from other
  // workers within microseconds) it stops spinning, leaving the CPU to
  // other threads, until a wake-up comes soon after it slept.
  absl::Duration idle_spin = absl::Microseconds(20);
  // Testing: start no worker threads; the caller drives the workers with
  // anvil::testing::Step(), one round at a time, on its own thread. Run()
  // then drives them itself until every actor finished, or none can make
  // progress (FAILED_PRECONDITION). Signals are not handled.
  bool manual_workers = false;

  // A worker that runs one step of an actor for longer than this is
  // reported in the log (and counted in stalls()): a body that never
  // awaits starves the other actors on its worker. Zero disables it.
  absl::Duration stall_threshold = absl::Seconds(1);
};

// A signal delivered to subscribed actors.
struct Signal {
  int number;  // SIGINT or SIGTERM
};

namespace internal {

template <typename T>
struct ContextMessage;
template <typename M>
struct ContextMessage<ActorContext<M>&> {
  using type = M;
  static constexpr bool kSync = false;
};
template <typename M>
struct ContextMessage<SyncContext<M>&> {
  using type = M;
  static constexpr bool kSync = true;
};

// The first parameter type of a function, function pointer or (non-generic)
// callable object.
template <typename F>
struct FirstParameter : FirstParameter<decltype(&F::operator())> {};
template <typename R, typename First, typename... Rest>
struct FirstParameter<R (*)(First, Rest...)> {
  using type = First;
};
template <typename R, typename First, typename... Rest>
struct FirstParameter<R(First, Rest...)> {
  using type = First;
};
template <typename R, typename C, typename First, typename... Rest>
struct FirstParameter<R (C::*)(First, Rest...) const> {
  using type = First;
};
template <typename R, typename C, typename First, typename... Rest>
struct FirstParameter<R (C::*)(First, Rest...)> {
  using type = First;
};

template <typename Fn>
using ActorMessageOf = typename ContextMessage<
    typename FirstParameter<std::decay_t<Fn>>::type>::type;

template <typename... Args>
constexpr bool kLastIsOptions = [] {
  if constexpr (sizeof...(Args) == 0) {
    return false;
  } else {
    return std::is_same_v<std::decay_t<std::tuple_element_t<
                              sizeof...(Args) - 1, std::tuple<Args...>>>,
                          ActorOptions>;
  }
}();

}  // namespace internal

// While it lives, actors this thread spawns from outside the workers (with
// no ActorOptions::worker) go to worker `worker` instead of the next in
// round-robin order; actors they spawn stay there too (see Placement). For
// keeping a group of actors together, as the simulator does with a node's.
// Thread-compatible: scopes nest on one thread.
class ScopedSpawnWorker {
 public:
  explicit ScopedSpawnWorker(int worker);
  ~ScopedSpawnWorker();
  ScopedSpawnWorker(const ScopedSpawnWorker&) = delete;
  ScopedSpawnWorker& operator=(const ScopedSpawnWorker&) = delete;

  // The innermost scope's worker on this thread, or -1.
  static int Current();

 private:
  const int previous_;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  // Shuts down (see the file comment) and joins every thread.
  ~Runtime();

  // Starts an actor; see the file comment. Returns its ref (the only
  // one, to start with).
  template <typename Fn, typename... Args>
  auto Spawn(Fn&& fn, Args&&... args) {
    return SpawnSplit<false>(std::forward<Fn>(fn), std::forward<Args>(args)...);
  }

  // Starts a sync actor on its own thread; see sync_context.h.
  template <typename Fn, typename... Args>
  auto SpawnSync(Fn&& fn, Args&&... args) {
    return SpawnSplit<true>(std::forward<Fn>(fn), std::forward<Args>(args)...);
  }

  // Blocks until every actor has finished, or a shutdown has waited
  // shutdown_timeout for them. Returns OK; or the first error an actor was
  // stopped with, prefixed with its name; or DEADLINE_EXCEEDED naming the
  // actors still running after the timeout.
  absl::Status Run();

  // Starts a graceful shutdown and returns; Run() returns when it is done.
  // Calling it again has no effect.
  void Shutdown();

  // True once Shutdown started.
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // `subscriber` receives every SIGINT and SIGTERM as a Signal, instead of
  // the runtime shutting down. Dead subscribers are forgotten.
  void SubscribeSignals(ActorRef<Signal> subscriber);

  // True if this runtime took SIGINT and SIGTERM.
  bool handles_signals() const { return signal_fd_ >= 0; }

  size_t workers() const { return scheduler_.size(); }
  // Actors spawned and not finished.
  size_t live_actors();
  // Up to `limit` of them (then "..."), for reports, each with what it is
  // doing: "alice (waiting in Receive)".
  std::vector<std::string> DescribeLiveActors(size_t limit = 20);
  // Stalls the watchdog has reported.
  uint64_t stalls() const { return scheduler_.stalls(); }

  // For test helpers and the layers above: the workers.
  internal::Scheduler& scheduler() { return scheduler_; }
  bool manual_workers() const { return options_.manual_workers; }
  const ClientInterceptors& client_interceptors() const {
    return options_.client_interceptors;
  }
  const ServerInterceptors& server_interceptors() const {
    return options_.server_interceptors;
  }

  // With manual_workers: runs one round on every worker (see
  // Worker::RunOnce) on the calling thread; returns how many steps ran.
  size_t StepWorkers();

  // For RunBlocking (blocking.h): a job on the blocking pool that will
  // resume a coroutine on one of these workers began, or ended (its last
  // touch of this runtime). The destructor waits until none is left, so a
  // job never touches a destroyed worker. Thread-safe.
  void BlockingJobBegan() {
    blocking_jobs_.fetch_add(1, std::memory_order_relaxed);
  }
  void BlockingJobEnded() {
    blocking_jobs_.fetch_sub(1, std::memory_order_release);
  }

 private:
  friend class internal::ActorCellBase;
  class SignalHandler;

  template <bool kSync, typename Fn, typename... Args>
  auto SpawnSplit(Fn&& fn, Args&&... args) {
    if constexpr (internal::kLastIsOptions<Args...>) {
      auto all = std::forward_as_tuple(std::forward<Args>(args)...);
      ActorOptions options = std::get<sizeof...(Args) - 1>(all);
      return [&]<size_t... I>(std::index_sequence<I...>) {
        return SpawnWith<kSync>(
            std::move(options), std::forward<Fn>(fn),
            std::forward<std::tuple_element_t<I, decltype(all)>>(
                std::get<I>(all))...);
      }
      (std::make_index_sequence<sizeof...(Args) - 1>{});
    } else {
      return SpawnWith<kSync>(ActorOptions{}, std::forward<Fn>(fn),
                              std::forward<Args>(args)...);
    }
  }

  template <bool kSync, typename Fn, typename... Args>
  auto SpawnWith(ActorOptions options, Fn&& fn, Args&&... args) {
    using Parameter = typename internal::FirstParameter<std::decay_t<Fn>>::type;
    static_assert(
        internal::ContextMessage<Parameter>::kSync == kSync,
        "Spawn takes Task<> fn(ActorContext<M>&, ...); SpawnSync takes "
        "absl::Status fn(SyncContext<M>&, ...)");
    using M = internal::ActorMessageOf<Fn>;
    using Instance =
        internal::ActorInstance<M, std::decay_t<Fn>, std::decay_t<Args>...>;
    if constexpr (!kSync) {
      using Body = typename Instance::Body;
      static_assert(std::is_same_v<Body, Task<void>> ||
                        std::is_same_v<Body, Task<absl::Status>>,
                    "an actor body returns Task<> or Task<absl::Status>");
    }
    if constexpr (!Instance::kCopyableArguments) {
      if (!options.supervisor.is_default()) {
        WarnSupervisorDropped(options.name);
        options.supervisor = Supervisor();
      }
    }
    const uint32_t capacity = options.mailbox_capacity != 0
                                  ? options.mailbox_capacity
                                  : options_.default_mailbox_capacity;
    internal::Worker* worker =
        kSync ? &scheduler_.worker(0) : ChooseWorker(options);
    Instance* instance = Instance::Create(
        next_actor_id_.fetch_add(1, std::memory_order_relaxed), worker, options,
        capacity, std::forward<Fn>(fn), std::forward<Args>(args)...);
    internal::ActorCellBase* cell = instance->cell();
    cell->Ref();  // for the returned ActorRef
    ActorRef<M> ref = ActorRef<M>::Adopt(instance);
    StartActor(cell);
    return ref;
  }

  internal::Worker* ChooseWorker(const ActorOptions& options);
  // Logs that an actor with move-only arguments runs without its
  // (restarting) supervisor.
  static void WarnSupervisorDropped(const std::string& name);
  // Registers the actor and starts it, or finishes it at once if the
  // runtime is stopping.
  void StartActor(internal::ActorCellBase* cell);
  void StartSyncThread(std::function<void()> body);
  void OnActorFinished(internal::ActorCellBase* cell,
                       const absl::Status& status);
  void OnSignal(int signal_number);
  // Destroys the bodies still registered. REQUIRES: workers stopped.
  void ForceFinishRemaining();

  std::atomic<int> blocking_jobs_{0};
  const RuntimeOptions options_;
  internal::Scheduler scheduler_;
  std::atomic<uint32_t> next_actor_id_{1};
  std::atomic<bool> stopping_{false};

  Mutex mu_;
  CondVar finished_cv_;
  // Names of up to `limit` live actors, with their activity if asked.
  std::vector<std::string> ListLiveActorsLocked(size_t limit,
                                                bool with_activity)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  internal::ActorCellBase* registry_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_failure_ ABSL_GUARDED_BY(mu_);
  int64_t shutdown_deadline_ ABSL_GUARDED_BY(mu_) = INT64_MAX;
  std::vector<std::thread> sync_threads_ ABSL_GUARDED_BY(mu_);
  std::vector<ActorRef<Signal>> signal_subscribers_ ABSL_GUARDED_BY(mu_);

  int signal_fd_ = -1;
  std::unique_ptr<SignalHandler> signal_handler_;
  sigset_t saved_signal_mask_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_RUNTIME_H_
