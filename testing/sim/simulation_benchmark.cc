// Speed of the simulator, in the simulation build:
//
//   ./bazelw run --config=sim --config=opt //testing/sim:simulation_benchmark
//
// A 5-node cluster where every node serves an echo and 10 client actors per
// node call random nodes in a loop, over links with 1-10 ms of simulated
// latency. Reports delivered inter-node messages (requests and replies) per
// second of wall time (target >= 1 M/s), and how much faster than real
// time the cluster runs: virtual seconds per wall second (target >= 100).
//
// Two runs in one binary: BM_SimulatedCluster/0 as above; /1 with the disk
// model and the full fault schedule: every client appends each reply to a
// file of its own on its node's simulated disk (latency 0.1-1 ms a write,
// 1-5 ms a sync, a sync every 10 appends), and every 700 ms of virtual
// time on average a fault is drawn: a two-way or one-way partition, a
// heal, a clog, a lossy or duplicating link, a hard crash of a node (its
// disk loses power, its network goes dark, for 1 s), a pause, clock skew,
// a slow and failing disk. Target: /1 delivers >= 0.5x the messages per
// second of /0, and still runs >= 100x faster than real time.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "runtime/core/clock.h"
#include "runtime/core/sleep.h"
#include "runtime/storage/file.h"
#include "runtime/transport/channel.h"
#include "testing/sim/simulation.h"

namespace anvil::sim {
namespace {

constexpr int kNodes = 5;
constexpr int kClientsPerNode = 10;
constexpr char kEcho[] = "/bench.Echo/Say";

// The fault schedule of /1: draws one fault, schedules the next.
void NextFault(Simulation& sim, const std::vector<std::string>& names,
               std::vector<std::shared_ptr<SimDisk>>& disks) {
  std::mt19937_64& random = sim.random();
  const size_t a = random() % names.size();
  const size_t b = (a + 1 + random() % (names.size() - 1)) % names.size();
  LoopbackNetwork& network = sim.network();
  switch (random() % 9) {
    case 0:
      network.Partition({names[a]}, {names[b]});
      break;
    case 1:
      network.Block(names[a], names[b]);
      break;
    case 2:
      network.Heal();
      for (const std::string& from : names) {
        for (const std::string& to : names) network.ClearLink(from, to);
      }
      break;
    case 3: {
      LinkOptions link = network.link(names[a], names[b]);
      link.min_latency = link.max_latency = absl::Seconds(1);
      network.SetLink(names[a], names[b], link);
      break;
    }
    case 4: {
      LinkOptions link = network.link(names[a], names[b]);
      (random() % 2 == 0 ? link.drop : link.duplicate) = 0.3;
      network.SetLink(names[a], names[b], link);
      break;
    }
    case 5: {
      // A hard crash for 1 s: the disk loses power, the network the node.
      network.SetNodeDown(names[a]);
      disks[a]->Crash();
      sim.At(sim.elapsed() + absl::Seconds(1),
             [&sim, &disks, name = names[a], a] {
               sim.network().SetNodeUp(name);
               disks[a]->PowerOn();
             });
      break;
    }
    case 6:
      sim.PauseWorker(a);
      sim.At(sim.elapsed() + absl::Milliseconds(300),
             [&sim, a] { sim.ResumeWorker(a); });
      break;
    case 7:
      sim.SetClockSkew(a, absl::Milliseconds(static_cast<int>(random() % 200)));
      break;
    case 8: {
      SimDiskOptions slow = disks[a]->options();
      slow.max_latency = absl::Milliseconds(20);
      slow.write_error = slow.sync_error = 0.01;
      const SimDiskOptions healthy = disks[a]->options();
      disks[a]->set_options(slow);
      sim.At(sim.elapsed() + absl::Seconds(1),
             [&disks, a, healthy] { disks[a]->set_options(healthy); });
      break;
    }
  }
  sim.At(sim.elapsed() + absl::Milliseconds(random() % 1400),
         [&sim, &names, &disks] { NextFault(sim, names, disks); });
}

// A client of /1: calls, appends the reply to its file, syncs every 10.
Task<> DiskClient(ActorContext<int>& ctx,
                  std::vector<std::shared_ptr<Channel>> to,
                  std::mt19937_64* random, std::string path) {
  absl::StatusOr<File> file;
  for (int i = 0; !ctx.stop_requested(); ++i) {
    absl::StatusOr<std::string> reply =
        co_await to[(*random)() % to.size()]->Call(
            kEcho, "ping", Clock::DeadlineAfter(absl::Seconds(1)));
    if (!file.ok() || !file->is_open()) {
      file = co_await File::Open(path, {.create = true});
      if (!file.ok()) {
        co_await Sleep(absl::Milliseconds(100));  // the machine is down
        continue;
      }
    }
    if (!(co_await file->Append(reply.ok() ? *reply : "error")).ok() ||
        (i % 10 == 9 && !(co_await file->Sync()).ok())) {
      file = absl::UnavailableError("reopen");  // a crash killed the handle
    }
  }
}

void BM_SimulatedCluster(benchmark::State& state) {
  if (!internal::kSimulationBuild) {
    state.SkipWithError("build with --config=sim");
    return;
  }
  const bool harsh = state.range(0) == 1;
  Simulation sim({.seed = 1, .workers = kNodes});
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(10)});
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Server>> servers;
  for (int n = 0; n < kNodes; ++n) {
    names.push_back(absl::StrCat("n", n));
    MethodHandlers handlers;
    handlers[kEcho] = [](std::string request,
                         CallContext) -> Task<absl::StatusOr<std::string>> {
      co_return request;
    };
    servers.push_back(
        *sim.network().ForNode(names.back())->Serve(names.back(), handlers));
  }
  std::vector<std::shared_ptr<SimDisk>> disks;
  for (int n = 0; n < kNodes; ++n) {
    disks.push_back(
        sim.NewDisk(names[n], {.min_latency = absl::Microseconds(100),
                               .max_latency = absl::Milliseconds(1),
                               .min_sync_latency = absl::Milliseconds(1),
                               .max_sync_latency = absl::Milliseconds(5)}));
    sim.SetWorkerDisk(n, disks.back());
  }
  if (harsh) NextFault(sim, names, disks);
  for (int n = 0; n < kNodes; ++n) {
    std::vector<std::shared_ptr<Channel>> peers;
    for (const std::string& to : names) {
      peers.push_back(sim.network().ForNode(names[n])->Connect(to));
    }
    for (int c = 0; c < kClientsPerNode; ++c) {
      if (harsh) {
        sim.runtime().Spawn(DiskClient, peers, &sim.random(),
                            absl::StrCat("/data/client", n, "-", c),
                            ActorOptions{.worker = n});
        continue;
      }
      sim.runtime().Spawn(
          [](ActorContext<int>& ctx, std::vector<std::shared_ptr<Channel>> to,
             std::mt19937_64* random) -> Task<> {
            while (!ctx.stop_requested()) {
              (void)co_await to[(*random)() % to.size()]->Call(kEcho, "ping",
                                                               INT64_MAX);
            }
          },
          peers, &sim.random());
    }
  }

  const uint64_t delivered_before = sim.network().stats().delivered;
  const absl::Duration virtual_before = sim.elapsed();
  const auto wall_before = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (!sim.RunFor(absl::Seconds(1)).ok()) std::abort();
  }
  const double wall = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - wall_before)
                          .count();
  const double delivered =
      static_cast<double>(sim.network().stats().delivered - delivered_before);
  const double simulated =
      absl::ToDoubleSeconds(sim.elapsed() - virtual_before);
  state.counters["messages_per_s"] = delivered / wall;
  state.counters["speedup"] = simulated / wall;
  state.counters["messages"] = delivered;
}
BENCHMARK(BM_SimulatedCluster)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace anvil::sim

BENCHMARK_MAIN();
