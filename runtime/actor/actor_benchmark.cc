// Benchmarks of the actor runtime, each beside a baseline in the same
// binary. Run:
//   ./bazelw run --config=opt //runtime/actor:actor_benchmark -- \
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// "ns/msg" (and the like) is the time per message; compare it with the
// baseline in the same run.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include "benchmark/benchmark.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/task.h"
#include "runtime/core/thread_event.h"

namespace anvil {
namespace {

// The 16-byte message of the targets.
struct Msg {
  int64_t a;
  int64_t b;
};
static_assert(sizeof(Msg) == 16);

constexpr int64_t kBatch = 100'000;

RuntimeOptions BenchOptions(size_t threads) {
  RuntimeOptions options;
  options.threads = threads;
  options.name = "bench";
  options.handle_signals = false;
  options.stall_threshold = absl::ZeroDuration();
  options.idle_spin = absl::Microseconds(50);
  return options;
}

// Reports the wall time per item as a counter named `name`: the
// iteration's time divided by `per_iteration` items.
void SetPerMessage(benchmark::State& state, const char* name,
                   int64_t per_iteration) {
  state.counters[name] = benchmark::Counter(
      static_cast<double>(per_iteration) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Runs `make()` on `worker` and waits for it.
template <typename MakeTask>
void RunOn(Runtime& runtime, size_t worker, MakeTask make) {
  ThreadEvent done;
  auto run = [](MakeTask m, ThreadEvent& d) -> internal::Detached {
    co_await m();
    d.Notify();
  };
  run(std::move(make), done).StartOn(runtime.scheduler().worker(worker));
  done.Wait();
}

// --- One-way send + receive on one worker. ---

struct Counter {
  int64_t target = 0;
  ThreadEvent* done = nullptr;
};

Task<> Sink(ActorContext<Msg>& ctx, std::shared_ptr<Counter> counter) {
  int64_t received = 0;
  while (std::optional<Msg> m = co_await ctx.Receive()) {
    benchmark::DoNotOptimize(m->a);
    if (++received == counter->target) counter->done->Notify();
  }
}

void BM_Actor_SendReceive_OneWorker(benchmark::State& state) {
  Runtime runtime(BenchOptions(1));
  auto counter = std::make_shared<Counter>();
  ActorRef<Msg> sink = runtime.Spawn(
      Sink, counter,
      ActorOptions{.mailbox_capacity = static_cast<uint32_t>(state.range(0))});
  int64_t sent = 0;
  for (auto _ : state) {
    ThreadEvent done;
    counter->done = &done;
    counter->target = sent + kBatch;
    RunOn(runtime, 0, [&sink]() -> Task<> {
      for (int64_t i = 0; i < kBatch; ++i) {
        absl::Status s = co_await sink.Send(Msg{i, i});
        benchmark::DoNotOptimize(s);
      }
    });
    done.Wait();
    sent += kBatch;
  }
  SetPerMessage(state, "ns/msg", kBatch);
  sink = {};
}
BENCHMARK(BM_Actor_SendReceive_OneWorker)->Arg(64)->Arg(1024)->UseRealTime();

// Baseline: push and pop the same message through a std::deque.
void BM_Baseline_DequePushPop(benchmark::State& state) {
  std::deque<Msg> queue;
  for (auto _ : state) {
    for (int64_t i = 0; i < kBatch; ++i) {
      queue.push_back(Msg{i, i});
      Msg m = queue.front();
      queue.pop_front();
      benchmark::DoNotOptimize(m);
    }
  }
  SetPerMessage(state, "ns/msg", kBatch);
}
BENCHMARK(BM_Baseline_DequePushPop);

// --- Ping-pong: a round trip between two actors. ---

struct PingPongMsg {
  int64_t n;
};

Task<> Ponger(ActorContext<PingPongMsg>& ctx,
              std::shared_ptr<ActorRef<PingPongMsg>> peer) {
  while (std::optional<PingPongMsg> m = co_await ctx.Receive()) {
    absl::Status s = co_await peer->Send(PingPongMsg{m->n});
    benchmark::DoNotOptimize(s);
  }
}

Task<> Pinger(ActorContext<PingPongMsg>& ctx, ActorRef<PingPongMsg> ponger,
              std::shared_ptr<Counter> rounds) {
  while (true) {
    std::optional<PingPongMsg> m = co_await ctx.Receive();  // a "go"
    if (!m) co_return;
    for (int64_t i = 0; i < rounds->target; ++i) {
      absl::Status s = co_await ponger.Send(PingPongMsg{i});
      benchmark::DoNotOptimize(s);
      std::optional<PingPongMsg> reply = co_await ctx.Receive();
      if (!reply) co_return;
    }
    rounds->done->Notify();
  }
}

void PingPong(benchmark::State& state, size_t threads, Placement placement) {
  Runtime runtime(BenchOptions(threads));
  auto rounds = std::make_shared<Counter>();
  rounds->target = kBatch;
  auto pinger_slot = std::make_shared<ActorRef<PingPongMsg>>();
  ActorRef<PingPongMsg> ponger = runtime.Spawn(
      Ponger, pinger_slot,
      ActorOptions{.placement = placement, .worker = threads > 1 ? 1 : 0});
  ActorRef<PingPongMsg> pinger =
      runtime.Spawn(Pinger, ponger, rounds,
                    ActorOptions{.placement = placement, .worker = 0});
  *pinger_slot = pinger;
  for (auto _ : state) {
    ThreadEvent done;
    rounds->done = &done;
    if (!pinger.TrySend(PingPongMsg{0}).ok()) state.SkipWithError("send");
    done.Wait();
  }
  SetPerMessage(state, "ns/roundtrip", kBatch);
  runtime.Shutdown();
  *pinger_slot = {};
}

void BM_Actor_PingPong_OneWorker(benchmark::State& state) {
  PingPong(state, 1, Placement::kWorker);
}
BENCHMARK(BM_Actor_PingPong_OneWorker)->UseRealTime();

void BM_Actor_PingPong_TwoWorkers(benchmark::State& state) {
  PingPong(state, 2, Placement::kWorker);
}
BENCHMARK(BM_Actor_PingPong_TwoWorkers)->UseRealTime();

// Thread-safe actors started on two workers: each resumes on the worker
// that wakes it, so after the first message both run on one.
void BM_Actor_PingPong_TwoWorkers_ThreadSafe(benchmark::State& state) {
  PingPong(state, 2, Placement::kAnyWorker);
}
BENCHMARK(BM_Actor_PingPong_TwoWorkers_ThreadSafe)->UseRealTime();

// Baseline for ping-pong across workers: two threads bouncing a counter
// through one atomic, spinning. The floor this machine puts under any
// cross-thread round trip.
void BM_Baseline_ThreadPingPong(benchmark::State& state) {
  std::atomic<int64_t> ball{0};
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    int64_t seen = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const int64_t v = ball.load(std::memory_order_acquire);
      if (v != seen && (v & 1)) {
        seen = v + 1;
        ball.store(seen, std::memory_order_release);
      }
    }
  });
  int64_t value = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < kBatch / 10; ++i) {
      ball.store(++value, std::memory_order_release);  // odd: partner's turn
      while (ball.load(std::memory_order_acquire) != value + 1) {
      }
      ++value;
    }
  }
  stop.store(true);
  partner.join();
  SetPerMessage(state, "ns/roundtrip", kBatch / 10);
}
BENCHMARK(BM_Baseline_ThreadPingPong)->UseRealTime();

// Baseline for ping-pong: two coroutines resuming each other directly,
// with no mailbox and no scheduler.
void BM_Baseline_CoroutineResume(benchmark::State& state) {
  auto body = [](int64_t* n) -> Task<int64_t> { co_return ++*n; };
  int64_t n = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < kBatch; ++i) {
      Task<int64_t> t = body(&n);
      t.handle().resume();
      benchmark::DoNotOptimize(t.handle().promise().TakeResult());
    }
  }
  SetPerMessage(state, "ns/resume", kBatch);
}
BENCHMARK(BM_Baseline_CoroutineResume);

// --- Spawn and finish an empty actor. ---

void BM_Actor_SpawnFinish(benchmark::State& state) {
  Runtime runtime(BenchOptions(1));
  auto empty = [](ActorContext<Msg>&) -> Task<> { co_return; };
  for (auto _ : state) {
    RunOn(runtime, 0, [&runtime, &empty]() -> Task<> {
      // Chunks of 1000, each run to completion before the next, as actors
      // come and go in a service (a burst of 100k at once measures the
      // allocator growing the heap instead).
      for (int64_t chunk = 0; chunk < kBatch / 1000; ++chunk) {
        ActorRef<Msg> last;
        for (int i = 0; i < 1000; ++i) last = runtime.Spawn(empty);
        // Actors on one worker run in spawn order: the last one finishing
        // means all did.
        co_await last.Join();
      }
    });
  }
  SetPerMessage(state, "ns/actor", kBatch);
}
BENCHMARK(BM_Actor_SpawnFinish)->UseRealTime();

// Baseline: allocate and free an object of the size of an actor's parts.
void BM_Baseline_NewDelete256(benchmark::State& state) {
  for (auto _ : state) {
    for (int64_t i = 0; i < kBatch; ++i) {
      auto* p = new std::byte[256];
      benchmark::DoNotOptimize(p);
      delete[] p;
    }
  }
  SetPerMessage(state, "ns/actor", kBatch);
}
BENCHMARK(BM_Baseline_NewDelete256);

}  // namespace
}  // namespace anvil

BENCHMARK_MAIN();
