// The simulator: same seed, same run; virtual time; deadlocks and budgets
// reported with the seed; seeds run in turn, stopping at the first failure;
// the self-check catches a run that is not reproducible.
#include "testing/sim/simulation.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <variant>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/actor/request.h"
#include "runtime/core/buggify.h"
#include "runtime/core/clock.h"
#include "runtime/core/sleep.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

using ::anvil::testing::IsOk;

// A message passed around a ring; each hop sleeps a random while first.
struct Token {
  int hops_left;
};

// A ring of `size` actors passing `tokens` tokens `hops` times each, with
// random delays drawn from the simulation: many interleavings, all decided
// by the seed. Returns once every token made its hops.
absl::Status RunRing(Simulation& sim, int size, int tokens, int hops) {
  struct Shared {
    std::vector<ActorRef<Token>> ring;
    int finished = 0;
    std::mt19937_64* random;
  };
  auto shared = std::make_shared<Shared>();
  shared->random = &sim.random();
  for (int i = 0; i < size; ++i) {
    shared->ring.push_back(sim.runtime().Spawn(
        [](ActorContext<Token>& ctx, std::shared_ptr<Shared> s,
           int index) -> Task<> {
          while (std::optional<Token> token = co_await ctx.Receive()) {
            co_await Sleep(absl::Microseconds((*s->random)() % 1000));
            if (token->hops_left == 0) {
              ++s->finished;
              continue;
            }
            const size_t next = (index + 1) % s->ring.size();
            (void)s->ring[next].TrySend(Token{token->hops_left - 1});
          }
        },
        shared, i));
  }
  for (int t = 0; t < tokens; ++t) {
    EXPECT_THAT(shared->ring[t % size].TrySend(Token{hops}), IsOk());
  }
  absl::Status status =
      sim.RunUntil([&] { return shared->finished == tokens; });
  shared->ring.clear();  // the actors' Receive ends; they finish
  return status;
}

uint64_t RingTrace(uint64_t seed) {
  Simulation sim({.seed = seed});
  EXPECT_THAT(RunRing(sim, 5, 3, 40), IsOk());
  return sim.trace_hash();
}

TEST(SimulationTest, SameSeedSameTrace) {
  EXPECT_EQ(RingTrace(7), RingTrace(7));
  std::set<uint64_t> traces;
  for (uint64_t seed = 1; seed <= 5; ++seed) traces.insert(RingTrace(seed));
  EXPECT_EQ(traces.size(), 5u) << "different seeds should interleave apart";
}

TEST(SimulationTest, SameSeedSameTraceByteForByte) {
  auto trace = [](uint64_t seed) {
    Simulation sim({.seed = seed, .record_trace = true});
    EXPECT_THAT(RunRing(sim, 4, 2, 10), IsOk());
    return sim.trace_text();
  };
  const std::string first = trace(5);
  EXPECT_GT(std::count(first.begin(), first.end(), '\n'), 20);
  EXPECT_EQ(trace(5), first);
  EXPECT_NE(trace(6), first);
}

TEST(SimulationTest, TimeIsVirtualAndJumpsToTheNextTimer) {
  bool woke = false;
  Simulation sim;
  const int64_t start = Clock::MonotonicNanos();
  sim.runtime().Spawn(
      [](ActorContext<int>&, bool* done) -> Task<> {
        co_await Sleep(absl::Hours(5));
        *done = true;
      },
      &woke);
  ASSERT_THAT(sim.RunUntil([&] { return woke; }), IsOk());
  EXPECT_EQ(sim.elapsed(), absl::Hours(5));
  EXPECT_EQ(Clock::MonotonicNanos() - start,
            absl::ToInt64Nanoseconds(absl::Hours(5)));
  EXPECT_EQ(Clock::Now(),
            absl::FromCivil(absl::CivilSecond(2030, 1, 1, 5, 0, 0),
                            absl::UTCTimeZone()) +
                absl::Seconds(1));
}

struct Ask {
  using Reply = int;
};
struct Go {};
using AskMessage = std::variant<Request<Ask>, Go>;

TEST(SimulationTest, DeadlockIsReportedWithTheWaitingActors) {
  Simulation sim({.seed = 11});
  // Two actors that, told to go, each call the other before answering
  // anything: neither answers.
  auto peers = std::make_shared<std::vector<ActorRef<AskMessage>>>();
  auto body =
      [](ActorContext<AskMessage>& ctx, int index,
         std::shared_ptr<std::vector<ActorRef<AskMessage>>> all) -> Task<> {
    std::optional<AskMessage> go = co_await ctx.Receive();
    if (!go) co_return;
    absl::StatusOr<int> answer = co_await (*all)[1 - index].Call(Ask{});
    (void)answer;
  };
  peers->push_back(
      sim.runtime().Spawn(body, 0, peers, ActorOptions{.name = "alice"}));
  peers->push_back(
      sim.runtime().Spawn(body, 1, peers, ActorOptions{.name = "bob"}));
  ASSERT_THAT((*peers)[0].TrySend(Go{}), IsOk());
  ASSERT_THAT((*peers)[1].TrySend(Go{}), IsOk());
  absl::Status status = sim.RunUntil([] { return false; });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "deadlock")) << status;
  // Both wait for a reply, not for a message: a call cycle.
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "alice (running, or awaiting something else"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "bob (running, or awaiting something else"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "--anvil_seed=11")) << status;
  peers->clear();
}

TEST(SimulationTest, BudgetsStopARunThatNeverEnds) {
  Simulation sim({.seed = 5, .time_limit = absl::Minutes(1)});
  sim.runtime().Spawn([](ActorContext<int>& ctx) -> Task<> {
    while (!ctx.stop_requested()) co_await Sleep(absl::Seconds(1));
  });
  absl::Status status = sim.RunUntil([] { return false; });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(status.message(), "--anvil_seed=5")) << status;
  EXPECT_GE(sim.elapsed(), absl::Minutes(1));
}

TEST(SimulationTest, RunForStopsTimeAtTheHorizon) {
  int ticks = 0;  // outlives the simulation, whose teardown runs the actor
  Simulation sim;
  sim.runtime().Spawn(
      [](ActorContext<int>& ctx, int* count) -> Task<> {
        while (!ctx.stop_requested()) {
          co_await Sleep(absl::Seconds(1));
          ++*count;
        }
      },
      &ticks);
  ASSERT_THAT(sim.RunFor(absl::Milliseconds(10'500)), IsOk());
  EXPECT_EQ(ticks, 10);
  EXPECT_EQ(sim.elapsed(), absl::Milliseconds(10'500));
}

TEST(SimulationTest, ForEachSeedStopsAtTheFirstFailure) {
  std::vector<uint64_t> seen;
  absl::Status status = ForEachSeed(
      [&](Simulation& sim) -> absl::Status {
        seen.push_back(sim.seed());
        if (sim.seed() == 3) return absl::InternalError("broken invariant");
        return RunRing(sim, 3, 1, 5);
      },
      /*default_seeds=*/10);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(status.message(), "seed 3")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "--anvil_seed=3")) << status;
}

TEST(SimulationTest, ACensusRunsEverySeedFromTheStartAndNamesTheFailures) {
  absl::FlagSaver restore_flags;
  absl::SetFlag(&FLAGS_anvil_seeds, 6);
  absl::SetFlag(&FLAGS_anvil_seed_start, 100);
  absl::SetFlag(&FLAGS_anvil_census, true);
  std::vector<uint64_t> seen;
  absl::Status status = ForEachSeed(
      [&](Simulation& sim) -> absl::Status {
        seen.push_back(sim.seed());
        if (sim.seed() % 2 == 1) return absl::InternalError("odd seed");
        return RunRing(sim, 3, 1, 5);
      },
      /*default_seeds=*/10);
  EXPECT_EQ(seen, (std::vector<uint64_t>{100, 101, 102, 103, 104, 105}));
  EXPECT_THAT(status, ::anvil::testing::StatusIs(
                          absl::StatusCode::kInternal,
                          ::testing::HasSubstr(
                              "3 of 6 seeds failed (101 103 105); the first: "
                              "seed 101: odd seed")));
}

TEST(SimulationTest, TheReplayCommandNamesTheSeedAndTheTest) {
  absl::FlagSaver restore_flags;
  absl::SetFlag(&FLAGS_anvil_seeds, 3);
  absl::Status status = ForEachSeed(
      [&](Simulation& sim) -> absl::Status {
        return sim.seed() == 2 ? absl::InternalError("broken")
                               : absl::OkStatus();
      },
      /*default_seeds=*/10);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("--anvil_seed=2"));
  EXPECT_THAT(status.message(),
              ::testing::Not(::testing::HasSubstr("--anvil_seeds=")));
  EXPECT_THAT(status.message(),
              ::testing::HasSubstr(
                  "SimulationTest.TheReplayCommandNamesTheSeedAndTheTest"));
}

TEST(SimulationTest, AWallClockBudgetStopsStartingSeeds) {
  absl::FlagSaver restore_flags;
  absl::SetFlag(&FLAGS_anvil_seed_budget, absl::ZeroDuration());
  int runs = 0;
  EXPECT_THAT(ForEachSeed(
                  [&](Simulation&) -> absl::Status {
                    ++runs;
                    return absl::OkStatus();
                  },
                  /*default_seeds=*/50),
              IsOk());
  // The budget is checked before each seed: with none, the first may
  // start only if no time at all passed.
  EXPECT_LE(runs, 1);
}

TEST(SimulationTest, SelfCheckPassesForADeterministicRun) {
  EXPECT_THAT(
      ForEachSeed([](Simulation& sim) { return RunRing(sim, 4, 2, 20); },
                  /*default_seeds=*/3, {}, /*self_check=*/true),
      IsOk());
}

TEST(SimulationTest, SelfCheckCatchesRandomnessFromOutside) {
  absl::Status status = ForEachSeed(
      [](Simulation& sim) -> absl::Status {
        // A delay from the OS's entropy, not from sim.random().
        const uint32_t outside = std::random_device()();
        bool woke = false;
        sim.runtime().Spawn(
            [](ActorContext<int>&, uint32_t nanos, bool* done) -> Task<> {
              co_await Sleep(absl::Nanoseconds(nanos));
              *done = true;
            },
            outside, &woke);
        return sim.RunUntil([&] { return woke; });
      },
      /*default_seeds=*/1, {}, /*self_check=*/true);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(status.message(), "not reproducible"))
      << status;
}

// Evaluates one ANVIL_BUGGIFY site 100 times in an actor; returns how often
// it fired.
int BuggifyFires(Simulation& sim) {
  auto fires = std::make_shared<int>(0);
  auto done = std::make_shared<bool>(false);
  sim.runtime().Spawn(
      [](ActorContext<int>&, std::shared_ptr<int> count,
         std::shared_ptr<bool> finished) -> Task<> {
        for (int i = 0; i < 100; ++i) {
          if (ANVIL_BUGGIFY("test.site")) ++*count;
          co_await Sleep(absl::Milliseconds(1));
        }
        *finished = true;
      },
      fires, done);
  EXPECT_THAT(sim.RunUntil([&] { return *done; }), IsOk());
  return *fires;
}

TEST(SimulationTest, BuggifySitesAreOnForSomeSeedsAndReplay) {
  int seeds_on = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    int first;
    {
      Simulation sim({.seed = seed});
      first = BuggifyFires(sim);
    }
    Simulation again({.seed = seed});
    EXPECT_EQ(BuggifyFires(again), first) << "seed " << seed;
    const std::vector<std::string> fired = again.buggify_fired();
    EXPECT_EQ(std::count(fired.begin(), fired.end(), "test.site"),
              first > 0 ? 1 : 0);
    if (first > 0) {
      ++seeds_on;
      // On for the run: fires about a quarter of the time.
      EXPECT_GT(first, 5) << "seed " << seed;
      EXPECT_LT(first, 50) << "seed " << seed;
    }
  }
  // About 1 seed in 4 switches the site on.
  EXPECT_GT(seeds_on, 2);
  EXPECT_LT(seeds_on, 25);

  Simulation off({.seed = 1, .buggify = false});
  EXPECT_EQ(BuggifyFires(off), 0);
}

TEST(SimulationTest, AFailingSeedNamesTheBuggifySitesThatFired) {
  absl::FlagSaver restore_flags;
  absl::SetFlag(&FLAGS_anvil_seeds, 40);
  absl::Status status = ForEachSeed([](Simulation& sim) -> absl::Status {
    if (BuggifyFires(sim) > 0) return absl::InternalError("it fired");
    return absl::OkStatus();
  });
  EXPECT_THAT(status,
              ::anvil::testing::StatusIs(
                  absl::StatusCode::kInternal,
                  ::testing::HasSubstr("BUGGIFY sites that fired: test.site")));
}

}  // namespace
}  // namespace anvil::sim
