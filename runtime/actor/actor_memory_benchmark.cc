// Memory and spawn cost of idle actors, counted by an allocator hook.
//
//   ./bazelw run --config=opt //runtime/actor:actor_memory_benchmark -- \
//       --benchmark_filter=IdleMemory/1000000/8/
//   ./bazelw run --config=opt //runtime/actor:actor_memory_benchmark -- \
//       --benchmark_filter=IdleMemory/10000000/8/
//
// The arguments are the number of actors and their mailbox capacity. Run
// one case per process: the frame pool keeps the chunks a run used, so a
// second case in the same process would reuse them and count too little;
// it reports an error instead. (Hence the full name and the trailing slash
// in the filter: "IdleMemory/1000000" also matches 10000000.)
//
// An idle actor here is spawned with a mailbox for a 16-byte message (8
// slots in the target) and parked in Receive(). "bytes/actor" counts
// every byte operator new handed out, plus the frame pool's chunks (control
// block with mailbox, coroutine frame), excluding the ActorRef vector the
// benchmark keeps; "MiB_peak_RSS" is the process's peak resident memory.
#include <sys/resource.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <vector>

#include "benchmark/benchmark.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/frame_pool.h"
#include "runtime/core/sleep.h"
#include "runtime/core/task.h"
#include "runtime/core/thread_event.h"

namespace {
std::atomic<int64_t> allocated_bytes{0};
}  // namespace

// The allocator hook: counts bytes requested through operator new. Sized
// delete subtracts them again; unsized delete (rare here) cannot.
void* operator new(std::size_t n) {
  allocated_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t n) noexcept {
  allocated_bytes.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
  std::free(p);
}

namespace anvil {
namespace {

struct Msg {
  int64_t a;
  int64_t b;
};
static_assert(sizeof(Msg) == 16);

Task<> Idle(ActorContext<Msg>& ctx) {
  while (std::optional<Msg> m = co_await ctx.Receive()) {
    benchmark::DoNotOptimize(m->a);
  }
}

int64_t PeakRssMiB() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

void BM_Actor_IdleMemory(benchmark::State& state) {
  const int64_t actors = state.range(0);
  const auto capacity = static_cast<uint32_t>(state.range(1));
  RuntimeOptions options;
  options.threads = 2;
  options.handle_signals = false;
  options.stall_threshold = absl::ZeroDuration();
  // A case after another in the same process would reuse its pool chunks
  // and count too little; say so rather than report it.
  constexpr int64_t kFreshPoolBytes = int64_t{64} << 20;
  if (internal::PoolReservedBytes() > kFreshPoolBytes) {
    state.SkipWithError(
        "run one case per process (--benchmark_filter=IdleMemory/N/C/): an "
        "earlier case left its pool chunks, which this one would reuse");
    return;
  }
  Runtime runtime(options);
  for (auto _ : state) {
    std::vector<std::vector<ActorRef<Msg>>> refs(runtime.workers());
    for (auto& r : refs) r.reserve(actors / runtime.workers() + 1);
    const int64_t before =
        allocated_bytes.load() + internal::PoolReservedBytes();
    const int64_t start = Clock::MonotonicNanos();
    // Each worker spawns its share of actors in chunks, yielding after
    // each: the run queue is FIFO, so when the spawner resumes, every body
    // it spawned has run to its first Receive() and parked (and the run
    // queue never has to hold millions of entries).
    std::vector<ThreadEvent> done(runtime.workers());
    auto spawner = [](Runtime& rt, std::vector<ActorRef<Msg>>& out, int64_t n,
                      uint32_t capacity,
                      ThreadEvent& event) -> internal::Detached {
      for (int64_t i = 0; i < n; ++i) {
        out.push_back(
            rt.Spawn(Idle, ActorOptions{.mailbox_capacity = capacity}));
        if (i % 4096 == 4095) co_await Yield();
      }
      co_await Yield();
      event.Notify();
    };
    for (size_t w = 0; w < runtime.workers(); ++w) {
      spawner(runtime, refs[w], actors / runtime.workers(), capacity, done[w])
          .StartOn(runtime.scheduler().worker(w));
    }
    for (ThreadEvent& event : done) event.Wait();
    const int64_t elapsed = Clock::MonotonicNanos() - start;
    const int64_t used =
        allocated_bytes.load() + internal::PoolReservedBytes() - before;
    state.counters["bytes/actor"] =
        static_cast<double>(used) / static_cast<double>(actors);
    state.counters["spawn_s"] = static_cast<double>(elapsed) * 1e-9;
    state.counters["MiB_peak_RSS"] = static_cast<double>(PeakRssMiB());
    state.counters["live"] = static_cast<double>(runtime.live_actors());
    refs.clear();  // every actor's last ref: they all finish
    if (!runtime.Run().ok()) state.SkipWithError("actors failed");
  }
}
BENCHMARK(BM_Actor_IdleMemory)
    ->Args({1'000'000, 8})
    ->Args({10'000'000, 8})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 16})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace anvil

BENCHMARK_MAIN();
