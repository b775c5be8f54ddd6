// Speed of the simulator, in the simulation build:
//
//   ./bazelw run --config=sim --config=opt //testing/sim:simulation_benchmark
//
// A 5-node cluster where every node serves an echo and 10 client actors per
// node call random nodes in a loop, over links with 1-10 ms of simulated
// latency. Reports delivered inter-node messages (requests and replies) per
// second of wall time (target >= 1 M/s), and how much faster than real
// time the cluster runs: virtual seconds per wall second (target >= 100).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "runtime/core/clock.h"
#include "runtime/transport/channel.h"
#include "testing/sim/simulation.h"

namespace anvil::sim {
namespace {

constexpr int kNodes = 5;
constexpr int kClientsPerNode = 10;
constexpr char kEcho[] = "/bench.Echo/Say";

void BM_SimulatedCluster(benchmark::State& state) {
  if (!internal::kSimulationBuild) {
    state.SkipWithError("build with --config=sim");
    return;
  }
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
  for (int n = 0; n < kNodes; ++n) {
    std::vector<std::shared_ptr<Channel>> peers;
    for (const std::string& to : names) {
      peers.push_back(sim.network().ForNode(names[n])->Connect(to));
    }
    for (int c = 0; c < kClientsPerNode; ++c) {
      sim.runtime().Spawn(
          [](Context<int>& ctx, std::vector<std::shared_ptr<Channel>> to,
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
BENCHMARK(BM_SimulatedCluster)->Iterations(20)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace anvil::sim

BENCHMARK_MAIN();
