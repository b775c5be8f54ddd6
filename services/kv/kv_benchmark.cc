// Throughput and latency of the kv store over real gRPC on this machine:
// Put and Get, a 3-node cluster and a single node, the log fsync'ed or not.
// Each run starts the cluster in this process (LocalCluster), waits for a
// leader, and runs closed-loop clients against the leader's KvStore for
// --kv_seconds; counters: ops_per_s, p50_ms, p99_ms.
//
//   ./bazelw run --config=opt //services/kv:kv_benchmark
//   ./bazelw run --config=opt //services/kv:kv_benchmark -- \
//       --benchmark_filter='Put/nodes:3' --kv_seconds=5 --kv_clients=64
//
// Arguments: op (0 put, 1 get), nodes, fsync (1: fsync before every
// acknowledgement, as in production; 0: the page cache only).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "services/kv/local_cluster.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(double, kv_seconds, 2.0, "How long each run's clients work.");
ABSL_FLAG(int, kv_clients, 32, "Concurrent closed-loop clients.");

namespace anvil::kv {
namespace {

constexpr int kKeys = 1000;

struct Load {
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
  Mutex mu;
  std::vector<int64_t> micros ABSL_GUARDED_BY(mu);
  int64_t failed ABSL_GUARDED_BY(mu) = 0;
};

Task<> Client(ActorContext<int>&, KvStoreRef kv, bool put, int id, Load* load) {
  std::vector<int64_t> micros;
  int64_t failed = 0;
  for (int i = 0; !load->stop.load(std::memory_order_relaxed); ++i) {
    const std::string key = absl::StrCat("key", (id * 7919 + i) % kKeys);
    const absl::Time begin = absl::Now();
    bool ok;
    if (put) {
      PutRequest request;
      request.set_key(key);
      request.set_value(std::string(100, 'v'));
      ok = (co_await kv.Put(std::move(request), absl::Seconds(5))).ok();
    } else {
      GetRequest request;
      request.set_key(key);
      ok = (co_await kv.Get(std::move(request), absl::Seconds(5))).ok();
    }
    if (ok) {
      micros.push_back(absl::ToInt64Microseconds(absl::Now() - begin));
    } else {
      ++failed;
    }
  }
  MutexLock lock(load->mu);
  load->micros.insert(load->micros.end(), micros.begin(), micros.end());
  load->failed += failed;
  load->running.fetch_sub(1);
}

// Runs `clients` clients doing `put`s (or gets) against `kv` for `seconds`.
// The wall time taken.
absl::Duration RunLoad(Runtime& runtime, KvStoreRef kv, bool put, int clients,
                       absl::Duration duration, Load& load) {
  load.running = clients;
  const absl::Time start = absl::Now();
  for (int c = 0; c < clients; ++c) runtime.Spawn(Client, kv, put, c, &load);
  absl::SleepFor(duration);
  load.stop = true;
  while (load.running.load() > 0) absl::SleepFor(absl::Milliseconds(1));
  return absl::Now() - start;
}

void BM_Kv(benchmark::State& state) {
  const bool put = state.range(0) == 0;
  const int nodes = static_cast<int>(state.range(1));
  const bool fsync = state.range(2) != 0;
  const int clients = absl::GetFlag(FLAGS_kv_clients);
  const absl::Duration duration =
      absl::Seconds(absl::GetFlag(FLAGS_kv_seconds));
  spdlog::set_level(spdlog::level::warn);
  for (auto _ : state) {
    char pattern[] = "/tmp/kv-bench-XXXXXX";
    const std::string dir = mkdtemp(pattern);
    KvOptions options{.data_dir = dir, .fsync = fsync};
    for (int n = 1; n <= nodes; ++n) {
      options.members.push_back(absl::StrCat("n", n));
    }
    Runtime runtime(RuntimeOptions{.name = "kv-bench"});
    {
      absl::StatusOr<std::unique_ptr<LocalCluster>> local =
          LocalCluster::Start(runtime, options);
      if (!local.ok()) {
        state.SkipWithError(local.status().ToString().c_str());
        return;
      }
      absl::StatusOr<std::string> leader =
          (*local)->WaitForLeader(absl::Seconds(10));
      absl::StatusOr<KvStoreRef> kv =
          leader.ok() ? (*local)->Client(*leader) : leader.status();
      if (!kv.ok()) {
        state.SkipWithError(kv.status().ToString().c_str());
        return;
      }
      if (!put) {  // the keys the gets read
        Load fill;
        RunLoad(runtime, *kv, /*put=*/true, clients, absl::Seconds(1), fill);
      }
      Load load;
      const absl::Duration elapsed =
          RunLoad(runtime, *kv, put, clients, duration, load);
      state.SetIterationTime(absl::ToDoubleSeconds(elapsed));
      MutexLock lock(load.mu);
      std::vector<int64_t>& micros = load.micros;
      std::sort(micros.begin(), micros.end());
      auto at = [&](double p) {
        return micros.empty()
                   ? 0.0
                   : micros[std::min(micros.size() - 1,
                                     static_cast<size_t>(p * micros.size()))] /
                         1000.0;
      };
      state.counters["ops_per_s"] =
          micros.size() / absl::ToDoubleSeconds(elapsed);
      state.counters["p50_ms"] = at(0.5);
      state.counters["p99_ms"] = at(0.99);
      state.counters["failed"] = static_cast<double>(load.failed);
    }
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_Kv)
    ->ArgNames({"op", "nodes", "fsync"})
    ->ArgsProduct({{0, 1}, {3, 1}, {1, 0}})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace anvil::kv

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
