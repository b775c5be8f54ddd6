// Nodes of a simulated cluster: reachable by name over the simulated
// network, crashed (memory lost, disk kept) and restarted, on a script, the
// same way for the same seed.
#include "testing/sim/sim_cluster.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/core/clock.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/storage/file.h"
#include "runtime/storage/file_system.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "testing/sim/simulation.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::transport::testdata::EchoDaemon;
using ::anvil::transport::testdata::EchoImpl;
using ::anvil::transport::testdata::EchoRef;
using ::anvil::transport::testdata::EchoReply;
using ::anvil::transport::testdata::EchoRequest;

// Builds a node running the Echo daemon; counts its builds in `builds`
// (the test's memory, not the node's), if given.
SimCluster::Build EchoNode(SimCluster& cluster, const std::string& name,
                           std::map<std::string, int>* builds = nullptr) {
  return [builds, name](Factory& node) -> absl::Status {
    if (builds != nullptr) ++(*builds)[name];
    return node.Get<EchoDaemon>().status();
  };
}

// Calls Say on `node` through `peers` from a fresh actor; runs the
// simulation until done.
absl::StatusOr<EchoReply> SayThrough(Simulation& sim, Peers& peers,
                                     const std::string& node,
                                     const std::string& text,
                                     size_t from_worker = 0) {
  absl::StatusOr<EchoRef> ref = peers.RefTo<EchoRef>(node);
  if (!ref.ok()) return ref.status();
  auto out = std::make_shared<std::optional<absl::StatusOr<EchoReply>>>();
  EchoRequest request;
  request.set_text(text);
  sim.runtime().Spawn(
      [](ActorContext<int>&, EchoRef echo, EchoRequest r,
         std::shared_ptr<std::optional<absl::StatusOr<EchoReply>>> result)
          -> Task<> {
        result->emplace(co_await echo.Say(std::move(r), absl::Seconds(1)));
      },
      *ref, request, out,
      // By default the root's worker: never paused here.
      ActorOptions{.worker = static_cast<int>(from_worker)});
  absl::Status ran = sim.RunUntil([&] { return out->has_value(); });
  if (!ran.ok()) return ran;
  return **out;
}

// Calls Say on `node` as a client outside the nodes (the root's view).
absl::StatusOr<EchoReply> Say(Simulation& sim, SimCluster& cluster,
                              const std::string& node,
                              const std::string& text) {
  return SayThrough(sim, cluster.cluster().peers(), node, text);
}

TEST(SimClusterTest, NodesAreReachableByName) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  for (const char* name : {"n1", "n2", "n3"}) {
    ASSERT_THAT(cluster.AddNode(name, EchoNode(cluster, name)), IsOk());
  }
  EXPECT_EQ(cluster.cluster().peers().Addresses(),
            (std::map<std::string, std::string>{
                {"n1", "n1"}, {"n2", "n2"}, {"n3", "n3"}}));
  absl::StatusOr<EchoReply> reply = Say(sim, cluster, "n2", "hello n2");
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->text(), "hello n2");
  EXPECT_EQ(cluster.AddNode("n2", EchoNode(cluster, "n2")).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(SimClusterTest, NodesCallEachOtherFromTheirOwnViewOfTheNetwork) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  for (const char* name : {"n1", "n2"}) {
    ASSERT_THAT(cluster.AddNode(name, EchoNode(cluster, name)), IsOk());
  }
  Cluster* n1_view = Cluster::Find(cluster.root().Child("n1"));
  ASSERT_NE(n1_view, nullptr);
  ASSERT_NE(n1_view, &cluster.cluster());
  EXPECT_EQ(n1_view->peers().Addresses(),
            cluster.cluster().peers().Addresses());
  ASSERT_THAT(SayThrough(sim, n1_view->peers(), "n2", "from n1"), IsOk());

  sim.network().Partition({"n1"}, {"n2"});
  EXPECT_EQ(SayThrough(sim, n1_view->peers(), "n2", "cut").status().code(),
            absl::StatusCode::kDeadlineExceeded)
      << "the call left from n1, which the partition cuts off";
  EXPECT_THAT(Say(sim, cluster, "n2", "from outside"), IsOk());
}

TEST(SimClusterTest, CrashLosesMemoryKeepsDiskAndRestartBuildsAgain) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  std::map<std::string, int> builds;
  ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1", &builds)), IsOk());
  auto* before =
      static_cast<EchoImpl*>(*cluster.root().Child("n1").Get<EchoDaemon>());
  ASSERT_THAT(Say(sim, cluster, "n1", "up"), IsOk());

  ASSERT_THAT(cluster.Crash("n1"), IsOk());
  EXPECT_FALSE(cluster.running("n1"));
  EXPECT_EQ(Say(sim, cluster, "n1", "down").status().code(),
            absl::StatusCode::kDeadlineExceeded)
      << "a dead machine does not answer, nor refuse";
  EXPECT_THAT(cluster.cluster().peers().AddressOf("n1"), IsOk())
      << "a crashed node stays in the address book";
  EXPECT_EQ(cluster.Crash("n1").code(), absl::StatusCode::kNotFound);

  ASSERT_THAT(cluster.Restart("n1"), IsOk());
  auto* after =
      static_cast<EchoImpl*>(*cluster.root().Child("n1").Get<EchoDaemon>());
  EXPECT_NE(before, nullptr);
  EXPECT_EQ(after->holds_started(), 0);  // a fresh daemon
  EXPECT_EQ(builds["n1"], 2);
  ASSERT_THAT(Say(sim, cluster, "n1", "back"), IsOk());
}

// Runs `task` as an actor on `worker` until it finishes.
absl::Status RunOn(Simulation& sim, size_t worker, Task<absl::Status> task) {
  auto out = std::make_shared<std::optional<absl::Status>>();
  sim.runtime().Spawn(
      [](ActorContext<int>&, Task<absl::Status> t,
         std::shared_ptr<std::optional<absl::Status>> result) -> Task<> {
        result->emplace(co_await std::move(t));
      },
      std::move(task), out, ActorOptions{.worker = static_cast<int>(worker)});
  absl::Status ran = sim.RunUntil([&] { return out->has_value(); });
  if (!ran.ok()) return ran;
  return **out;
}

// Writes "synced" and makes it durable, then "unsynced" and does not.
Task<absl::Status> WriteHalfDurably(std::string path) {
  ANVIL_CO_ASSIGN_OR_RETURN(File file,
                            co_await File::Open(path, {.create = true}));
  ANVIL_CO_RETURN_IF_ERROR(co_await file.Append("synced;"));
  ANVIL_CO_RETURN_IF_ERROR(co_await file.Sync());
  ANVIL_CO_RETURN_IF_ERROR(co_await SyncDirectory("/data"));
  co_return co_await file.Append("unsynced;");
}

TEST(SimClusterTest, ACrashKeepsWhatTheNodeSyncedAndPerhapsNotTheRest) {
  int kept = 0, lost = 0;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    Simulation sim({.seed = seed, .buggify = false});
    SimCluster cluster(
        sim, [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
    ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
    const size_t worker = cluster.worker_of("n1");
    ASSERT_THAT(RunOn(sim, worker, WriteHalfDurably("/data/file")), IsOk());
    EXPECT_EQ(cluster.disk("n1")->Contents("/data/file"), "synced;unsynced;");
    // The root's worker has a disk of its own: the file is not there.
    EXPECT_EQ(sim.default_disk().Contents("/data/file"), std::nullopt);

    ASSERT_THAT(cluster.Crash("n1"), IsOk());
    const std::optional<std::string> after =
        cluster.disk("n1")->Contents("/data/file");
    ASSERT_TRUE(after.has_value()) << "seed " << seed;
    ASSERT_TRUE(after->starts_with("synced;")) << *after;
    (*after == "synced;unsynced;" ? kept : lost) += 1;
    // Files opened before the crash are dead; while it is down, the disk
    // is off.
    EXPECT_THAT(RunOn(sim, worker,
                      [](std::string path) -> Task<absl::Status> {
                        co_return (co_await File::Open(path)).status();
                      }("/data/file")),
                ::anvil::testing::StatusIs(absl::StatusCode::kUnavailable));
    ASSERT_THAT(cluster.Restart("n1"), IsOk());
    EXPECT_THAT(RunOn(sim, worker,
                      [](std::string path) -> Task<absl::Status> {
                        co_return (co_await File::Open(path)).status();
                      }("/data/file")),
                IsOk());
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(lost, 0);
}

// Writes `data` to `path` and syncs it.
Task<absl::Status> WriteSynced(std::string path, std::string data) {
  ANVIL_CO_ASSIGN_OR_RETURN(File file,
                            co_await File::Open(path, {.create = true}));
  ANVIL_CO_RETURN_IF_ERROR(co_await file.Append(data));
  co_return co_await file.Sync();
}

TEST(SimClusterTest, TheTraceCoversEveryByteWritten) {
  auto trace_of = [](const std::string& data) {
    Simulation sim({.buggify = false});
    SimCluster cluster(
        sim, [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
    EXPECT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
    EXPECT_THAT(
        RunOn(sim, cluster.worker_of("n1"), WriteSynced("/data/f", data)),
        IsOk());
    return sim.trace_hash();
  };
  EXPECT_EQ(trace_of("bytes-1"), trace_of("bytes-1"));
  EXPECT_NE(trace_of("bytes-1"), trace_of("bytes-2"));
}

TEST(SimClusterTest, HealDuringACrashDoesNotBringTheNodeBack) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
  sim.network().SetLinks({.min_latency = absl::Milliseconds(10),
                          .max_latency = absl::Milliseconds(10)});
  // The call is on the wire when n1 crashes, and the network heals while
  // it travels: the dead machine still does not answer.
  const absl::Duration now = sim.elapsed();
  sim.At(now + absl::Milliseconds(5),
         [&] { EXPECT_THAT(cluster.Crash("n1"), IsOk()); });
  sim.At(now + absl::Milliseconds(6), [&] { sim.network().Heal(); });
  EXPECT_EQ(Say(sim, cluster, "n1", "in flight").status().code(),
            absl::StatusCode::kDeadlineExceeded);
  sim.network().Heal();
  EXPECT_EQ(Say(sim, cluster, "n1", "after heal").status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(SimClusterTest, ARestartedNodeResetsCallsToItsPreviousLife) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
  sim.network().SetLinks({.min_latency = absl::Milliseconds(300),
                          .max_latency = absl::Milliseconds(300)});
  const absl::Duration now = sim.elapsed();
  sim.At(now + absl::Milliseconds(10),
         [&] { EXPECT_THAT(cluster.Crash("n1"), IsOk()); });
  sim.At(now + absl::Milliseconds(20),
         [&] { EXPECT_THAT(cluster.Restart("n1"), IsOk()); });
  absl::StatusOr<EchoReply> reply = Say(sim, cluster, "n1", "old");
  EXPECT_THAT(reply, ::anvil::testing::StatusIs(absl::StatusCode::kUnavailable,
                                                ::testing::HasSubstr("reset")));
  EXPECT_THAT(Say(sim, cluster, "n1", "new"), IsOk());
}

// Calls n1 every 100 ms for 10 s while a script crashes it at 2 s and
// restarts it at 5 s. Returns the outcomes as a string, e.g. "++--...".
std::string ScriptedCrash(Simulation& sim) {
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  EXPECT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(10)});
  sim.At(absl::Seconds(2), [&] { EXPECT_THAT(cluster.Crash("n1"), IsOk()); });
  sim.At(absl::Seconds(5), [&] { EXPECT_THAT(cluster.Restart("n1"), IsOk()); });
  auto outcomes = std::make_shared<std::string>();
  auto done = std::make_shared<bool>(false);
  sim.runtime().Spawn(
      [](ActorContext<int>&, Cluster* directory,
         std::shared_ptr<std::string> out,
         std::shared_ptr<bool> finished) -> Task<> {
        for (int i = 0; i < 100; ++i) {
          co_await Sleep(absl::Milliseconds(100));
          absl::StatusOr<EchoRef> ref = directory->peers().RefTo<EchoRef>("n1");
          if (!ref.ok()) {
            *out += '-';
            continue;
          }
          EchoRequest request;
          request.set_text("ping");
          absl::StatusOr<EchoReply> reply =
              co_await ref->Say(std::move(request), absl::Milliseconds(50));
          *out += reply.ok() ? '+' : 'x';
        }
        *finished = true;
      },
      &cluster.cluster(), outcomes, done);
  EXPECT_THAT(sim.RunUntil([&] { return *done; }), IsOk());
  return *outcomes;
}

TEST(SimClusterTest, ScriptedCrashAndRestartAreSeenByClients) {
  Simulation sim({.seed = 4, .buggify = false});
  const std::string outcomes = ScriptedCrash(sim);
  ASSERT_EQ(outcomes.size(), 100u);
  // Up until the crash at 2 s, down (calls time out: x) until the restart
  // at 5 s, up again after; each call takes a little over 100 ms, or 150
  // ms with its 50 ms timeout.
  const size_t first_down = outcomes.find_first_not_of('+');
  const size_t back_up = outcomes.find('+', first_down);
  ASSERT_NE(first_down, std::string::npos) << outcomes;
  ASSERT_NE(back_up, std::string::npos) << outcomes;
  EXPECT_GT(first_down, 10u) << outcomes;
  EXPECT_GE(back_up - first_down, 15u) << outcomes;
  EXPECT_EQ(outcomes.find('-'), std::string::npos)
      << "the crashed node left the address book: " << outcomes;
  EXPECT_EQ(outcomes.find_first_not_of('+', back_up), std::string::npos)
      << outcomes;
}

TEST(SimClusterTest, CrashScriptsReplayExactly) {
  EXPECT_THAT(ForEachSeed(
                  [](Simulation& sim) -> absl::Status {
                    (void)ScriptedCrash(sim);
                    return absl::OkStatus();
                  },
                  /*default_seeds=*/3, {}, /*self_check=*/true),
              IsOk());
}

TEST(SimClusterTest, PausedNodeRunsNothingUntilResumed) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
  ASSERT_THAT(cluster.AddNode("n2", EchoNode(cluster, "n2")), IsOk());
  EXPECT_NE(cluster.worker_of("n1"), cluster.worker_of("n2"));

  ASSERT_THAT(cluster.Pause("n1"), IsOk());
  EXPECT_EQ(Say(sim, cluster, "n1", "asleep").status().code(),
            absl::StatusCode::kDeadlineExceeded);  // Say's 1 s timeout
  EXPECT_THAT(Say(sim, cluster, "n2", "awake"), IsOk());
  ASSERT_THAT(cluster.Resume("n1"), IsOk());
  EXPECT_THAT(Say(sim, cluster, "n1", "back"), IsOk());
  // A paused node can still crash.
  ASSERT_THAT(cluster.Pause("n1"), IsOk());
  EXPECT_THAT(cluster.Crash("n1"), IsOk());
  EXPECT_EQ(cluster.Pause("n1").code(), absl::StatusCode::kNotFound);
}

TEST(SimClusterTest, SkewedNodeReadsItsOwnClock) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
  ASSERT_THAT(cluster.AddNode("n2", EchoNode(cluster, "n2")), IsOk());
  cluster.SetClockSkew("n1", absl::Hours(1));

  // On each node's worker: the clock before and after a 1 s sleep.
  struct Reading {
    int64_t before = 0;
    int64_t after = 0;
    bool done = false;
  };
  auto read = [&](const std::string& node) {
    auto reading = std::make_shared<Reading>();
    sim.runtime().Spawn(
        [](ActorContext<int>&, std::shared_ptr<Reading> r) -> Task<> {
          r->before = Clock::MonotonicNanos();
          co_await Sleep(absl::Seconds(1));
          r->after = Clock::MonotonicNanos();
          r->done = true;
        },
        reading,
        ActorOptions{.worker = static_cast<int>(cluster.worker_of(node))});
    return reading;
  };
  auto n1 = read("n1");
  auto n2 = read("n2");
  ASSERT_THAT(sim.RunUntil([&] { return n1->done && n2->done; }), IsOk());
  EXPECT_EQ(n1->before - n2->before, absl::ToInt64Nanoseconds(absl::Hours(1)));
  EXPECT_EQ(n1->after - n1->before, 1'000'000'000);
  EXPECT_EQ(n2->after - n2->before, 1'000'000'000);
}

TEST(SimClusterTest, DeadlinesCrossSkewedClocksAsTimeLeft) {
  Simulation sim({.buggify = false});
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  ASSERT_THAT(cluster.AddNode("n1", EchoNode(cluster, "n1")), IsOk());
  ASSERT_THAT(cluster.AddNode("n2", EchoNode(cluster, "n2")), IsOk());
  // Far more skew than the calls' 1 s timeout, both ways: a deadline
  // travels as the time left (as with gRPC), not as a time on the
  // caller's clock.
  cluster.SetClockSkew("n1", -absl::Seconds(30));
  cluster.SetClockSkew("n2", absl::Seconds(30));
  Peers& from_n1 = Cluster::Find(cluster.root().Child("n1"))->peers();
  Peers& from_n2 = Cluster::Find(cluster.root().Child("n2"))->peers();
  EXPECT_THAT(SayThrough(sim, from_n1, "n2", "behind to ahead",
                         cluster.worker_of("n1")),
              IsOk());
  EXPECT_THAT(SayThrough(sim, from_n2, "n1", "ahead to behind",
                         cluster.worker_of("n2")),
              IsOk());
}

// Five nodes under random faults for 20 s while a client calls random
// nodes; returns the fault log.
std::vector<std::string> RandomFaultRun(Simulation& sim, int* ok_calls) {
  SimCluster cluster(sim,
                     [](Factory& root) { root.Bind<EchoDaemon, EchoImpl>(); });
  std::vector<std::string> names = {"n1", "n2", "n3", "n4", "n5"};
  for (const std::string& name : names) {
    EXPECT_THAT(cluster.AddNode(name, EchoNode(cluster, name)), IsOk());
  }
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(10)});
  cluster.ScheduleRandomFaults({.start = absl::Seconds(1),
                                .end = absl::Seconds(20),
                                .mean_interval = absl::Seconds(1)});
  auto ok = std::make_shared<int>(0);
  auto done = std::make_shared<bool>(false);
  sim.runtime().Spawn(
      [](ActorContext<int>&, Cluster* directory, std::vector<std::string> nodes,
         std::mt19937_64* random, std::shared_ptr<int> successes,
         std::shared_ptr<bool> finished) -> Task<> {
        while (Clock::MonotonicNanos() < 1'000'000'000 + 25'000'000'000) {
          co_await Sleep(absl::Milliseconds(50));
          absl::StatusOr<EchoRef> ref = directory->peers().RefTo<EchoRef>(
              nodes[(*random)() % nodes.size()]);
          if (!ref.ok()) continue;
          EchoRequest request;
          request.set_text("ping");
          absl::StatusOr<EchoReply> reply =
              co_await ref->Say(std::move(request), absl::Milliseconds(200));
          if (reply.ok()) ++*successes;
        }
        *finished = true;
      },
      &cluster.cluster(), names, &sim.random(), ok, done);
  EXPECT_THAT(sim.RunUntil([&] { return *done; }), IsOk());
  for (const std::string& name : names) EXPECT_TRUE(cluster.running(name));
  *ok_calls = *ok;
  return cluster.fault_log();
}

TEST(SimClusterTest, RandomFaultsAreDrawnFromTheSeed) {
  std::string all;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Simulation sim({.seed = seed});
    int ok_calls = 0;
    const std::vector<std::string> log = RandomFaultRun(sim, &ok_calls);
    EXPECT_GT(ok_calls, 0) << "seed " << seed;
    EXPECT_TRUE(absl::StrContains(log.back(), "every node up"));
    all += absl::StrJoin(log, "\n") + "\n";
  }
  for (const char* kind :
       {"partition", "block", "heal", "crash", "restart", "clog", "drop",
        "duplicate", "pause", "skew", "disk of"}) {
    EXPECT_TRUE(absl::StrContains(all, kind)) << kind << " in:\n" << all;
  }
}

TEST(SimClusterTest, RandomFaultsReplayExactly) {
  int first_ok = 0;
  int again_ok = 0;
  std::vector<std::string> first;
  {
    Simulation sim({.seed = 9});
    first = RandomFaultRun(sim, &first_ok);
  }
  Simulation again({.seed = 9});
  EXPECT_EQ(RandomFaultRun(again, &again_ok), first);
  EXPECT_EQ(again_ok, first_ok);
}

}  // namespace
}  // namespace anvil::sim
