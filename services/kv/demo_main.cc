// The kv store's demo: a 3-node Raft cluster on 127.0.0.1 over real gRPC,
// in one process, with no flags needed.
//
//   ./bazelw run //services/kv:demo
//   ./bazelw run //services/kv:demo -- --phase=3s --clients=8
//
// It starts n1, n2 and n3 (each a child factory with its own gRPC server
// on a free port, and a write-ahead log with fsync in a fresh directory),
// waits for a leader, and runs clients that put and get keys through
// random nodes. Then it stops the leader abruptly (no grace: calls in
// flight fail), waits while the others elect a new one, restarts the old
// leader from its log, and lets it catch up. Finally every key is read
// back: each acknowledged write must still be there. docs/kv.md (and the
// README) explain the output line by line.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/core/sleep.h"
#include "runtime/node/cluster.h"
#include "services/kv/kv_node.h"
#include "services/kv/local_cluster.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(absl::Duration, phase, absl::Seconds(2),
          "How long each phase runs: before the kill, during the outage, "
          "after the restart.");
ABSL_FLAG(int, clients, 4, "Concurrent clients.");
ABSL_FLAG(std::string, data_dir, "",
          "Where the nodes keep their logs (default: a fresh temporary "
          "directory, removed at exit).");

namespace anvil::kv {
namespace {

const std::vector<std::string> kNodes = {"n1", "n2", "n3"};

// Latencies and counts of one kind of operation, from every client.
struct OpStats {
  int64_t ok = 0;
  int64_t failed = 0;
  std::vector<int64_t> micros;

  std::string Summary(absl::Duration elapsed) const {
    std::vector<int64_t> sorted = micros;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double p) -> double {
      if (sorted.empty()) return 0;
      return sorted[std::min(sorted.size() - 1,
                             static_cast<size_t>(p * sorted.size()))] /
             1000.0;
    };
    return absl::StrFormat(
        "%6d ok, %4d failed, %7.0f/s, p50 %.2f ms, p99 %.2f ms", ok, failed,
        ok / absl::ToDoubleSeconds(elapsed), at(0.5), at(0.99));
  }
};

// What the clients and the watcher share with main.
struct Demo {
  Mutex mu;
  OpStats puts ABSL_GUARDED_BY(mu);
  OpStats gets ABSL_GUARDED_BY(mu);
  // Per key: the last acknowledged value, and values written after it
  // whose outcome is unknown (a failed put may still have happened).
  struct KeyState {
    std::string acked;
    std::vector<std::string> maybe;
  };
  std::map<std::string, KeyState> keys ABSL_GUARDED_BY(mu);
  std::string leader ABSL_GUARDED_BY(mu);
  uint64_t term ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::string> leaders ABSL_GUARDED_BY(mu);  // "n2 (term 1)"

  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
  absl::Time start = absl::Now();

  std::string Since() const {
    return absl::StrFormat("[%5.2fs]",
                           absl::ToDoubleSeconds(absl::Now() - start));
  }
};

// A client: puts (3 in 4) and gets of its own keys, through random nodes,
// until told to stop.
Task<> Client(ActorContext<int>&, Demo* demo, Cluster* cluster, int id) {
  std::mt19937_64 random(id);
  int64_t written = 0;
  while (!demo->stop.load()) {
    const std::string& node = kNodes[random() % kNodes.size()];
    absl::StatusOr<KvStoreRef> kv = cluster->peers().RefTo<KvStoreRef>(node);
    if (!kv.ok()) {  // the node is down
      co_await Sleep(absl::Milliseconds(10));
      continue;
    }
    const std::string key = absl::StrCat("c", id, "-k", random() % 50);
    const absl::Time begin = absl::Now();
    if (random() % 4 != 0) {
      const std::string value = absl::StrCat(++written);
      PutRequest put;
      put.set_key(key);
      put.set_value(value);
      absl::StatusOr<PutReply> reply =
          co_await kv->Put(std::move(put), absl::Seconds(1));
      MutexLock lock(demo->mu);
      Demo::KeyState& state = demo->keys[key];
      if (reply.ok()) {
        ++demo->puts.ok;
        demo->puts.micros.push_back(
            absl::ToInt64Microseconds(absl::Now() - begin));
        state.acked = value;
        state.maybe.clear();
      } else {
        ++demo->puts.failed;
        state.maybe.push_back(value);
      }
    } else {
      GetRequest get;
      get.set_key(key);
      absl::StatusOr<GetReply> reply =
          co_await kv->Get(std::move(get), absl::Seconds(1));
      MutexLock lock(demo->mu);
      if (reply.ok()) {
        ++demo->gets.ok;
        demo->gets.micros.push_back(
            absl::ToInt64Microseconds(absl::Now() - begin));
      } else {
        ++demo->gets.failed;
      }
    }
    if (absl::Now() - begin > absl::Milliseconds(500)) {
      co_await Sleep(absl::Milliseconds(50));  // probably no leader yet
    }
  }
  demo->running.fetch_sub(1);
}

// Asks every node who leads, every 50 ms, and prints each change.
Task<> Watcher(ActorContext<int>&, Demo* demo, Cluster* cluster) {
  while (!demo->stop.load()) {
    for (const std::string& node : kNodes) {
      absl::StatusOr<KvStoreRef> kv = cluster->peers().RefTo<KvStoreRef>(node);
      if (!kv.ok()) continue;
      absl::StatusOr<RaftStatus> status =
          co_await kv->Status(RaftStatusRequest(), absl::Milliseconds(200));
      if (!status.ok() || status->role() != "leader") continue;
      MutexLock lock(demo->mu);
      if (status->node() != demo->leader || status->term() != demo->term) {
        demo->leader = status->node();
        demo->term = status->term();
        demo->leaders.push_back(
            absl::StrCat(demo->leader, " (term ", demo->term, ")"));
        std::printf("%s leader: %s, term %llu\n", demo->Since().c_str(),
                    demo->leader.c_str(),
                    static_cast<unsigned long long>(demo->term));
        std::fflush(stdout);
      }
    }
    co_await Sleep(absl::Milliseconds(50));
  }
  demo->running.fetch_sub(1);
}

// Reads every key the clients wrote; counts those whose value is the last
// acknowledged one (or a later write of unknown outcome).
struct Verdict {
  int64_t checked = 0;
  int64_t lost = 0;
  std::vector<std::string> examples;
};
Task<> Verify(ActorContext<int>&, Demo* demo, Cluster* cluster,
              Verdict* verdict, std::atomic<bool>* done) {
  std::map<std::string, Demo::KeyState> keys;
  {
    MutexLock lock(demo->mu);
    keys = demo->keys;
  }
  for (const auto& [key, state] : keys) {
    if (state.acked.empty()) continue;
    absl::StatusOr<GetReply> reply;
    for (int attempt = 0; attempt < 20; ++attempt) {
      absl::StatusOr<KvStoreRef> kv =
          cluster->peers().RefTo<KvStoreRef>(kNodes[attempt % kNodes.size()]);
      if (!kv.ok()) continue;
      GetRequest get;
      get.set_key(key);
      reply = co_await kv->Get(std::move(get), absl::Seconds(1));
      if (reply.ok()) break;
      co_await Sleep(absl::Milliseconds(100));
    }
    ++verdict->checked;
    const bool kept = reply.ok() && reply->found() &&
                      (reply->value() == state.acked ||
                       std::find(state.maybe.begin(), state.maybe.end(),
                                 reply->value()) != state.maybe.end());
    if (!kept) {
      ++verdict->lost;
      if (verdict->examples.size() < 5) {
        verdict->examples.push_back(absl::StrCat(
            key, ": acknowledged ", state.acked, ", read ",
            reply.ok() ? (reply->found() ? reply->value() : "nothing")
                       : reply.status().ToString()));
      }
    }
  }
  done->store(true);
}

int Main() {
  const absl::Duration phase = absl::GetFlag(FLAGS_phase);
  const int clients = std::max(1, absl::GetFlag(FLAGS_clients));
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const bool temporary = data_dir.empty();
  if (temporary) {
    char pattern[] = "/tmp/kv-demo-XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      std::perror("kv demo: mkdtemp");
      return 1;
    }
    data_dir = pattern;
  }
  spdlog::set_level(spdlog::level::warn);  // the demo prints its own story

  Runtime runtime(RuntimeOptions{.name = "kv-demo"});
  Demo demo;
  std::printf(
      "anvil kv demo: 3 Raft nodes on 127.0.0.1 over gRPC, one process; "
      "logs in %s\n",
      data_dir.c_str());
  absl::StatusOr<std::unique_ptr<LocalCluster>> started = LocalCluster::Start(
      runtime, KvOptions{.members = kNodes, .data_dir = data_dir});
  if (!started.ok()) {
    std::fprintf(stderr, "kv demo: %s\n", started.status().ToString().c_str());
    return 1;
  }
  LocalCluster& local = **started;
  Cluster* cluster = &local.cluster();
  for (const std::string& name : kNodes) {
    std::printf("%s %s serving KvStore and RaftPeer at %s\n",
                demo.Since().c_str(), name.c_str(),
                local.address(name).c_str());
  }

  demo.running = clients + 1;
  runtime.Spawn(Watcher, &demo, cluster);
  auto leader = [&] {
    MutexLock lock(demo.mu);
    return demo.leader;
  };
  const absl::Time wait_until = absl::Now() + absl::Seconds(10);
  while (leader().empty() && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (leader().empty()) {
    std::fprintf(stderr, "kv demo: no leader after 10 s\n");
    return 1;
  }
  std::printf("%s %d clients start: 3 puts to 1 get, through random nodes\n",
              demo.Since().c_str(), clients);
  const absl::Time workload_start = absl::Now();
  for (int c = 0; c < clients; ++c) runtime.Spawn(Client, &demo, cluster, c);
  absl::SleepFor(phase);

  const std::string victim = leader();
  std::printf("%s stopping the leader %s abruptly\n", demo.Since().c_str(),
              victim.c_str());
  if (absl::Status down = local.Kill(victim); !down.ok()) {
    std::fprintf(stderr, "kv demo: %s\n", down.ToString().c_str());
  }
  absl::SleepFor(phase);
  std::printf("%s restarting %s from its log\n", demo.Since().c_str(),
              victim.c_str());
  if (absl::Status up = local.Restart(victim); !up.ok()) {
    std::fprintf(stderr, "kv demo: restart: %s\n", up.ToString().c_str());
    return 1;
  }
  std::printf("%s %s serving again at %s\n", demo.Since().c_str(),
              victim.c_str(), local.address(victim).c_str());
  absl::SleepFor(phase);
  demo.stop = true;
  while (demo.running.load() > 0) absl::SleepFor(absl::Milliseconds(5));
  const absl::Duration elapsed = absl::Now() - workload_start;

  std::printf("%s clients stopped; reading back every key\n",
              demo.Since().c_str());
  Verdict verdict;
  std::atomic<bool> verified{false};
  runtime.Spawn(Verify, &demo, cluster, &verdict, &verified);
  while (!verified.load()) absl::SleepFor(absl::Milliseconds(5));

  {
    MutexLock lock(demo.mu);
    std::printf("\nresults over %.1f s:\n", absl::ToDoubleSeconds(elapsed));
    std::printf("  puts %s\n", demo.puts.Summary(elapsed).c_str());
    std::printf("  gets %s\n", demo.gets.Summary(elapsed).c_str());
    std::printf("  leaders: %s\n", absl::StrJoin(demo.leaders, " -> ").c_str());
  }
  std::printf("  acknowledged writes still readable: %lld of %lld keys %s\n",
              static_cast<long long>(verdict.checked - verdict.lost),
              static_cast<long long>(verdict.checked),
              verdict.lost == 0 ? "OK" : "LOST WRITES");
  for (const std::string& example : verdict.examples) {
    std::printf("    %s\n", example.c_str());
  }

  started->reset();  // stops the nodes
  if (temporary) std::filesystem::remove_all(data_dir);
  return verdict.lost == 0 ? 0 : 1;
}

}  // namespace
}  // namespace anvil::kv

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return anvil::kv::Main();
}
