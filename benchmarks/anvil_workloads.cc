// The peer workloads (benchmarks/README.md) written for anvil; caf_workloads.cc
// is the same set for CAF. One workload per run, one line of output:
//
//   anvil_workloads --workload=skynet        # "skynet 0.412 s"
//
// Workloads (sizes in benchmarks/README.md): ping_pong_1 (one worker),
// ping_pong_2 (the two actors on different workers), actor_creation (a
// binary tree of 2^20 leaf actors, each reporting to its parent), skynet
// (10-ary tree of 1,000,000 leaves summing their numbers),
// mailbox_contention (many senders, one receiver), mixed_case (rings
// passing a token while workers factorize), idle_memory (bytes per idle
// actor and peak resident memory).

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmarks/workload_common.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/thread_event.h"

ABSL_FLAG(std::string, workload, "", "Which workload to run.");
ABSL_FLAG(int, threads, 2, "Worker threads (ping_pong_1 uses 1).");

namespace anvil::bench {
namespace {

RuntimeOptions Options(size_t threads) {
  RuntimeOptions options;
  options.threads = threads;
  options.name = "bench";
  options.handle_signals = false;
  options.stall_threshold = absl::ZeroDuration();
  return options;
}

// A send failed: the receiver is gone, which no workload here allows.
void Check(const absl::Status& sent) {
  if (!sent.ok()) {
    std::fprintf(stderr, "anvil_workloads: %s\n", sent.ToString().c_str());
    std::abort();
  }
}

// --- ping-pong: `rounds` round trips of an int between two actors. ---

Task<> Pong(ActorContext<int64_t>& ctx, ActorRef<int64_t> ping) {
  while (std::optional<int64_t> n = co_await ctx.Receive()) {
    Check(co_await ping.Send(*n));
  }
}

// Spawns its partner on `pong_worker`, then plays `rounds` round trips.
Task<> Ping(ActorContext<int64_t>& ctx, int pong_worker, int64_t rounds,
            absl::Duration* elapsed, ThreadEvent* done) {
  const absl::Time start = absl::Now();
  ActorRef<int64_t> pong = ctx.runtime().Spawn(
      Pong, ctx.Self(), ActorOptions{.worker = pong_worker});
  Check(co_await pong.Send(0));
  while (std::optional<int64_t> n = co_await ctx.Receive()) {
    if (*n + 1 == rounds) break;
    Check(co_await pong.Send(*n + 1));
  }
  *elapsed = absl::Now() - start;
  pong.RequestStop();
  done->Notify();
}

double PingPong(size_t threads, int64_t rounds) {
  Runtime runtime(Options(threads));
  ThreadEvent done;
  absl::Duration elapsed;
  runtime.Spawn(Ping, static_cast<int>(threads - 1), rounds, &elapsed, &done,
                ActorOptions{.worker = 0});
  done.Wait();
  (void)runtime.Run();
  return absl::ToDoubleNanoseconds(elapsed) / rounds;
}

// --- Trees: each node spawns `fanout` children and sums what they send. ---

Task<> TreeNode(ActorContext<int64_t>& ctx, ActorRef<int64_t> parent,
                int64_t num, int64_t size, int fanout) {
  if (size == 1) {
    Check(co_await parent.Send(num));
    co_return;
  }
  const int64_t child_size = size / fanout;
  for (int i = 0; i < fanout; ++i) {
    ctx.runtime().Spawn(TreeNode, ctx.Self(), num + i * child_size, child_size,
                        fanout);
  }
  int64_t sum = 0;
  for (int i = 0; i < fanout; ++i) {
    std::optional<int64_t> v = co_await ctx.Receive();
    sum += *v;
  }
  Check(co_await parent.Send(sum));
}

Task<> TreeRoot(ActorContext<int64_t>& ctx, int64_t size, int fanout,
                std::atomic<int64_t>* result, ThreadEvent* done) {
  ctx.runtime().Spawn(TreeNode, ctx.Self(), 0, size, fanout);
  std::optional<int64_t> v = co_await ctx.Receive();
  result->store(*v);
  done->Notify();
}

double TreeSeconds(int64_t leaves, int fanout, int64_t* sum) {
  Runtime runtime(Options(absl::GetFlag(FLAGS_threads)));
  ThreadEvent done;
  std::atomic<int64_t> result{0};
  const absl::Time start = absl::Now();
  runtime.Spawn(TreeRoot, leaves, fanout, &result, &done);
  done.Wait();
  const absl::Duration elapsed = absl::Now() - start;
  (void)runtime.Run();
  *sum = result.load();
  return absl::ToDoubleSeconds(elapsed);
}

// --- Mailbox contention: `senders` actors send `each` messages to one. ---

Task<> Receiver(ActorContext<int64_t>& ctx, int64_t expected,
                ThreadEvent* done) {
  int64_t received = 0;
  while (received < expected) {
    std::optional<int64_t> v = co_await ctx.Receive();
    if (!v) break;
    ++received;
  }
  done->Notify();
}

Task<> Sender(ActorContext<int>&, ActorRef<int64_t> to, int64_t each) {
  for (int64_t i = 0; i < each; ++i) Check(co_await to.Send(i));
}

double ContentionSeconds(int senders, int64_t each) {
  Runtime runtime(Options(absl::GetFlag(FLAGS_threads)));
  ThreadEvent done;
  const absl::Time start = absl::Now();
  ActorRef<int64_t> receiver = runtime.Spawn(
      Receiver, senders * each, &done, ActorOptions{.mailbox_capacity = 4096});
  for (int s = 0; s < senders; ++s) runtime.Spawn(Sender, receiver, each);
  done.Wait();
  const absl::Duration elapsed = absl::Now() - start;
  receiver = ActorRef<int64_t>();
  (void)runtime.Run();
  return absl::ToDoubleSeconds(elapsed);
}

// --- Mixed case: rings pass a token; each lap, a worker factorizes. ---

Task<> Worker(ActorContext<uint64_t>& ctx, std::atomic<int64_t>* checks) {
  while (std::optional<uint64_t> n = co_await ctx.Receive()) {
    std::vector<uint64_t> f = Factorize(*n);
    if (FactorsOfKToFactor(f)) checks->fetch_add(1);
  }
}

// A ring member: passes the token to the next.
Task<> Chain(ActorContext<int64_t>& ctx, ActorRef<int64_t> next) {
  while (std::optional<int64_t> token = co_await ctx.Receive()) {
    if (!(co_await next.Send(*token)).ok()) co_return;  // the ring ended
  }
}

// Builds a ring of `ring_size` (itself and ring_size - 1 Chain actors) and
// a worker; each lap, asks the worker to factorize and sends the token
// round.
Task<> Master(ActorContext<int64_t>& ctx, int ring_size, int laps,
              std::atomic<int64_t>* checks, std::atomic<int>* rings_left,
              ThreadEvent* done) {
  ActorRef<uint64_t> worker = ctx.runtime().Spawn(Worker, checks);
  ActorRef<int64_t> first = ctx.Self();
  for (int i = 1; i < ring_size; ++i) {
    first = ctx.runtime().Spawn(Chain, std::move(first));
  }
  for (int lap = 0; lap < laps; ++lap) {
    Check(co_await worker.Send(kToFactor));
    Check(co_await first.Send(lap));
    (void)co_await ctx.Receive();
  }
  worker.RequestStop();
  first.RequestStop();  // the others end as their refs go
  if (rings_left->fetch_sub(1) == 1) done->Notify();
}

double MixedSeconds(int rings, int ring_size, int laps, int64_t* checks_out) {
  Runtime runtime(Options(absl::GetFlag(FLAGS_threads)));
  ThreadEvent done;
  std::atomic<int> rings_left{rings};
  std::atomic<int64_t> checks{0};
  const absl::Time start = absl::Now();
  for (int r = 0; r < rings; ++r) {
    runtime.Spawn(Master, ring_size, laps, &checks, &rings_left, &done);
  }
  done.Wait();
  const absl::Duration elapsed = absl::Now() - start;
  (void)runtime.Run();
  *checks_out = checks.load();
  return absl::ToDoubleSeconds(elapsed);
}

// --- Idle memory: `count` actors waiting in Receive. ---

Task<> Idle(ActorContext<int64_t>& ctx) { (void)co_await ctx.Receive(); }

void IdleMemory(int64_t count) {
  Runtime runtime(Options(absl::GetFlag(FLAGS_threads)));
  std::vector<ActorRef<int64_t>> actors;
  actors.reserve(count);
  const int64_t before = ResidentBytes();
  for (int64_t i = 0; i < count; ++i) {
    actors.push_back(runtime.Spawn(Idle, ActorOptions{.mailbox_capacity = 8}));
  }
  absl::SleepFor(absl::Milliseconds(200));  // every actor reached Receive
  const int64_t after = ResidentBytes();
  Report("idle_memory_bytes_per_actor",
         static_cast<double>(after - before) / count, "B");
  for (auto& actor : actors) actor.RequestStop();
  actors.clear();
  (void)runtime.Run();
  Report("idle_memory_peak_rss", PeakResidentBytes() / 1048576.0, "MiB");
}

int Main() {
  return RunWorkload("anvil_workloads", absl::GetFlag(FLAGS_workload),
                     WorkloadSide{.ping_pong = PingPong,
                                  .tree = TreeSeconds,
                                  .contention = ContentionSeconds,
                                  .mixed = MixedSeconds,
                                  .idle_memory = IdleMemory});
}

}  // namespace
}  // namespace anvil::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return anvil::bench::Main();
}
