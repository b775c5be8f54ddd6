// The simulated network between nodes: latency in virtual time, reordering,
// loss, duplication, partitions (both ways, one way, isolation) and
// healing, clogged links; all decided by the seed.
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "testing/sim/simulation.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

using ::anvil::testing::IsOk;

constexpr char kEcho[] = "/test.Echo/Say";

// A node serving kEcho, which records what arrives and echoes it.
struct EchoNode {
  std::vector<std::string> arrived;
  std::vector<int64_t> arrived_at;  // virtual ns
  std::unique_ptr<Server> server;
};

std::unique_ptr<EchoNode> Serve(Simulation& sim, const std::string& node) {
  auto echo = std::make_unique<EchoNode>();
  MethodHandlers handlers;
  EchoNode* state = echo.get();
  handlers[kEcho] = [state](std::string request,
                            CallContext) -> Task<absl::StatusOr<std::string>> {
    state->arrived.push_back(request);
    state->arrived_at.push_back(Clock::MonotonicNanos());
    co_return request;
  };
  absl::StatusOr<std::unique_ptr<Server>> server =
      sim.network().ForNode(node)->Serve(node, std::move(handlers));
  EXPECT_THAT(server, IsOk());
  echo->server = *std::move(server);
  return echo;
}

// Calls kEcho on `to` from node `from`, in an actor, and runs the
// simulation until the reply (or error) is in.
absl::StatusOr<std::string> Call(
    Simulation& sim, const std::string& from, const std::string& to,
    const std::string& payload,
    absl::Duration timeout = absl::InfiniteDuration()) {
  auto result = std::make_shared<std::optional<absl::StatusOr<std::string>>>();
  sim.runtime().Spawn(
      [](ActorContext<int>&, std::shared_ptr<Channel> channel, std::string body,
         int64_t deadline,
         std::shared_ptr<std::optional<absl::StatusOr<std::string>>> out)
          -> Task<> {
        out->emplace(co_await channel->Call(kEcho, body, deadline));
      },
      sim.network().ForNode(from)->Connect(to), payload,
      Clock::DeadlineAfter(timeout), result);
  absl::Status ran = sim.RunUntil([&] { return result->has_value(); });
  if (!ran.ok()) return ran;
  return **result;
}

TEST(NetworkFaultsTest, LatencyIsSpentInVirtualTime) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLinks({.min_latency = absl::Milliseconds(5),
                          .max_latency = absl::Milliseconds(5)});
  EXPECT_THAT(Call(sim, "n1", "n2", "hi"),
              ::anvil::testing::IsOkAndHolds(std::string("hi")));
  EXPECT_EQ(sim.elapsed(), absl::Milliseconds(10));  // there and back
  EXPECT_EQ(sim.network().stats().delivered, 2u);
}

TEST(NetworkFaultsTest, LatencyMayFollowAnyDistribution) {
  Simulation sim({.seed = 8, .buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLinks({.latency = [](std::mt19937_64& random) {
    // Exponential, mean 5 ms.
    return absl::Microseconds(
        std::exponential_distribution<double>(1.0 / 5000)(random));
  }});
  absl::Duration total;
  for (int i = 0; i < 200; ++i) {
    const absl::Duration before = sim.elapsed();
    ASSERT_THAT(Call(sim, "n1", "n2", "x"), IsOk());
    total += sim.elapsed() - before;
  }
  // 400 one-way trips of mean 5 ms: about 2 s; far from the uniform
  // default (0).
  EXPECT_GT(total, absl::Milliseconds(1500));
  EXPECT_LT(total, absl::Milliseconds(2500));
}

TEST(NetworkFaultsTest, RandomLatencyReordersMessages) {
  Simulation sim({.seed = 3, .buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(20)});
  auto replies = std::make_shared<int>(0);
  std::shared_ptr<Channel> channel = sim.network().ForNode("n1")->Connect("n2");
  for (int i = 0; i < 50; ++i) {
    sim.runtime().Spawn(
        [](ActorContext<int>&, std::shared_ptr<Channel> c, int n,
           std::shared_ptr<int> done) -> Task<> {
          absl::StatusOr<std::string> reply =
              co_await c->Call(kEcho, absl::StrCat(n), INT64_MAX);
          if (reply.ok()) ++*done;
        },
        channel, i, replies);
  }
  ASSERT_THAT(sim.RunUntil([&] { return *replies == 50; }), IsOk());
  std::vector<std::string> sent_order;
  for (int i = 0; i < 50; ++i) sent_order.push_back(absl::StrCat(i));
  EXPECT_EQ(n2->arrived.size(), 50u);
  EXPECT_NE(n2->arrived, sent_order) << "no message overtook another";
}

TEST(NetworkFaultsTest, LostMessagesEndAtTheDeadlineOrConnectionTimeout) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLinks({.drop = 1.0});
  absl::StatusOr<std::string> reply =
      Call(sim, "n1", "n2", "x", absl::Milliseconds(100));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sim.elapsed(), absl::Milliseconds(100));

  reply = Call(sim, "n1", "n2", "y");  // no deadline
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sim.elapsed(), absl::Milliseconds(1100));
  EXPECT_TRUE(n2->arrived.empty());
  EXPECT_EQ(sim.network().stats().lost, 2u);
}

TEST(NetworkFaultsTest, DuplicatedRequestsRunTwiceAndAnswerOnce) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLinks({.duplicate = 1.0});
  EXPECT_THAT(Call(sim, "n1", "n2", "again"),
              ::anvil::testing::IsOkAndHolds(std::string("again")));
  ASSERT_THAT(sim.RunFor(absl::Milliseconds(1)), IsOk());
  EXPECT_EQ(n2->arrived, (std::vector<std::string>{"again", "again"}));
  EXPECT_EQ(sim.network().stats().duplicated, 2u);  // the request, the reply
}

TEST(NetworkFaultsTest, DuplicatesTravelAtTheirOwnLatency) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(50),
                          .duplicate = 1.0});
  int apart = 0;
  for (int i = 0; i < 10; ++i) {
    n2->arrived_at.clear();
    EXPECT_THAT(Call(sim, "n1", "n2", "x"), IsOk());
    ASSERT_THAT(sim.RunFor(absl::Milliseconds(100)), IsOk());
    ASSERT_EQ(n2->arrived_at.size(), 2u);
    if (n2->arrived_at[0] != n2->arrived_at[1]) ++apart;
  }
  EXPECT_GE(apart, 8) << "copies arrived at the same instant";
}

TEST(NetworkFaultsTest, TheTraceCoversEveryByteSent) {
  // Same seed, same schedule; one byte differs in what is sent.
  auto trace_of = [](const std::string& payload) {
    Simulation sim({.buggify = false});
    auto n2 = Serve(sim, "n2");
    EXPECT_THAT(Call(sim, "n1", "n2", payload), IsOk());
    return sim.trace_hash();
  };
  EXPECT_EQ(trace_of("payload-a"), trace_of("payload-a"));
  EXPECT_NE(trace_of("payload-a"), trace_of("payload-b"));
}

TEST(NetworkFaultsTest, MessagesOverTheLimitAreRefusedAsGrpcDoes) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  const std::string big((4 << 20) + 1, 'x');
  EXPECT_THAT(
      Call(sim, "n1", "n2", big),
      ::anvil::testing::StatusIs(
          absl::StatusCode::kResourceExhausted,
          ::testing::HasSubstr("larger than max (4194305 vs. 4194304)")));
  EXPECT_TRUE(n2->arrived.empty());
  sim.network().SetMaxMessageBytes(8 << 20);
  EXPECT_THAT(Call(sim, "n1", "n2", big), IsOk());
  // The echoed reply is checked too.
  sim.network().SetMaxMessageBytes(4 << 20);
  EXPECT_THAT(Call(sim, "n1", "n2", std::string(4 << 20, 'y')), IsOk());
}

TEST(NetworkFaultsTest, AMachineThatIsDownLosesEverythingUntilItIsUp) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetNodeDown("n2");
  sim.network().Heal();  // does not bring a machine up
  EXPECT_EQ(Call(sim, "n1", "n2", "x", absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(n2->arrived.empty());
  // Its server gone too: still lost, not refused, while it is down.
  n2->server.reset();
  EXPECT_EQ(Call(sim, "n1", "n2", "y", absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  // Up but serving nothing: refused at once.
  sim.network().SetNodeUp("n2");
  EXPECT_EQ(Call(sim, "n1", "n2", "z", absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(NetworkFaultsTest, PartitionsBlockUntilHealed) {
  Simulation sim({.buggify = false});
  auto n1 = Serve(sim, "n1");
  auto n2 = Serve(sim, "n2");
  const absl::Duration timeout = absl::Milliseconds(50);

  sim.network().Partition({"n1"}, {"n2", "n3"});
  EXPECT_EQ(Call(sim, "n1", "n2", "a", timeout).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Call(sim, "n2", "n1", "b", timeout).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Call(sim, "n3", "n2", "c", timeout), IsOk());  // same side
  sim.network().Heal();
  EXPECT_THAT(Call(sim, "n1", "n2", "d", timeout), IsOk());

  // One way: n1's messages to n2 are lost. n2's requests reach n1, but
  // n1's replies do not come back.
  sim.network().Block("n1", "n2");
  EXPECT_EQ(Call(sim, "n1", "n2", "e", timeout).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  const size_t arrived_at_n1 = n1->arrived.size();
  EXPECT_EQ(Call(sim, "n2", "n1", "f", timeout).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(n1->arrived.size(), arrived_at_n1 + 1);
  sim.network().Heal();

  sim.network().Isolate("n2");
  EXPECT_EQ(Call(sim, "n3", "n2", "g", timeout).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Call(sim, "n3", "n1", "h", timeout), IsOk());
  sim.network().Heal();
  EXPECT_THAT(Call(sim, "n3", "n2", "i", timeout), IsOk());
}

TEST(NetworkFaultsTest, ClogSlowsOneLinkOnly) {
  Simulation sim({.buggify = false});
  auto n2 = Serve(sim, "n2");
  sim.network().SetLink(
      "n1", "n2",
      {.min_latency = absl::Seconds(1), .max_latency = absl::Seconds(1)});
  EXPECT_THAT(Call(sim, "n3", "n2", "fast"), IsOk());
  EXPECT_EQ(sim.elapsed(), absl::ZeroDuration());
  EXPECT_THAT(Call(sim, "n1", "n2", "slow"), IsOk());
  EXPECT_EQ(sim.elapsed(), absl::Seconds(1));
  sim.network().ClearLink("n1", "n2");
  EXPECT_THAT(Call(sim, "n1", "n2", "fast again"), IsOk());
  EXPECT_EQ(sim.elapsed(), absl::Seconds(1));
}

TEST(NetworkFaultsTest, FaultyRunsReplayExactly) {
  EXPECT_THAT(
      ForEachSeed(
          [](Simulation& sim) -> absl::Status {
            auto n2 = Serve(sim, "n2");
            sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                                    .max_latency = absl::Milliseconds(9),
                                    .drop = 0.2,
                                    .duplicate = 0.2});
            for (int i = 0; i < 20; ++i) {
              (void)Call(sim, "n1", "n2", absl::StrCat(i),
                         absl::Milliseconds(30));
            }
            return absl::OkStatus();
          },
          /*default_seeds=*/5, {}, /*self_check=*/true),
      IsOk());
}

}  // namespace
}  // namespace anvil::sim
