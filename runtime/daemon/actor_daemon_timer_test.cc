// ActorDaemon::Every in virtual time: ticks fall on Run() + k * period,
// none before Run() or after Stop(), and bad periods are refused.
#include <optional>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/actor/request.h"
#include "runtime/daemon/actor_daemon.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "testing/sim/simulation.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

struct Tick {
  int weight = 1;
};
struct Total {
  using Reply = int;
};
using TickerMessage = std::variant<Tick, Request<Total>>;

// Counts ticks from two timers: one of weight 1 every 100 ms, one of
// weight 1000 every 250 ms.
class Ticker : public ActorDaemon<TickerMessage> {
 public:
  static DaemonInfo Info() { return {.name = "test.Ticker"}; }
  explicit Ticker(DaemonContext& context) : ActorDaemon(context) {
    set_ = Every(absl::Milliseconds(100), Tick{1});
    if (set_.ok()) set_ = Every(absl::Milliseconds(250), Tick{1000});
  }

  absl::Status set() const { return set_; }
  // Before Run(): refused periods.
  absl::Status EveryForTest(absl::Duration period) {
    return Every(period, Tick{});
  }

 private:
  Task<> ServeMailbox(ActorContext<TickerMessage>& mailbox) override {
    while (std::optional<TickerMessage> message = co_await mailbox.Receive()) {
      if (const Tick* tick = std::get_if<Tick>(&*message)) {
        total_ += tick->weight;
      } else {
        std::get<Request<Total>>(*message).reply.Send(total_);
      }
    }
  }

  absl::Status set_;
  int total_ = 0;  // touched by the actor only
};

// The ticker's total, asked in the simulation.
int TotalOf(sim::Simulation& sim, Ticker& ticker) {
  std::optional<absl::StatusOr<int>> total;
  auto ask = [](ActorRef<TickerMessage> to,
                std::optional<absl::StatusOr<int>>* out) -> Task<> {
    *out = co_await to.Call(Total{});
  };
  ActorRef<TickerMessage> to = ticker.actor();
  sim.runtime().Spawn(
      [&](ActorContext<int>&) -> Task<> { co_await ask(to, &total); });
  EXPECT_THAT(sim.RunUntil([&] { return total.has_value(); }), IsOk());
  if (!total.has_value() || !total->ok()) return -1;
  return **total;
}

TEST(ActorDaemonTimerTest, TicksFromRunUntilStop) {
  sim::Simulation sim({.seed = 1});
  Factory root(sim.runtime());
  root.Bind<Ticker, Ticker>();
  absl::StatusOr<Ticker*> ticker = root.Get<Ticker>();
  ASSERT_THAT(ticker.status(), IsOk());
  ASSERT_THAT((*ticker)->set(), IsOk());
  // Before Run(): no tick, however long (none queued either).
  ASSERT_THAT(sim.RunFor(absl::Seconds(5)), IsOk());
  Node node(root);
  node.StartAsync();
  ASSERT_THAT(sim.RunUntil([&] { return node.start_done(); }), IsOk());
  ASSERT_THAT(node.start_status(), IsOk());
  EXPECT_EQ(TotalOf(sim, **ticker), 0);
  // Ticks at 100, 200, ..., 1000 ms and 250, 500, 750, 1000 ms after Run().
  ASSERT_THAT(sim.RunFor(absl::Milliseconds(1050)), IsOk());
  EXPECT_EQ(TotalOf(sim, **ticker), 10 + 4 * 1000);
  EXPECT_THAT((*ticker)->EveryForTest(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("before Run()")));

  node.RequestStop();
  ASSERT_THAT(sim.RunUntil([&] { return node.stopped(); }), IsOk());
  EXPECT_THAT(node.final_status(), IsOk());
  // The timers end at their next tick: no actor is left.
  ASSERT_THAT(sim.RunFor(absl::Seconds(1)), IsOk());
  EXPECT_EQ(sim.runtime().live_actors(), 0);
}

TEST(ActorDaemonTimerTest, RefusesPeriodsThatAreNotPositiveAndFinite) {
  sim::Simulation sim({.seed = 1});
  Factory root(sim.runtime());
  root.Bind<Ticker, Ticker>();
  absl::StatusOr<Ticker*> ticker = root.Get<Ticker>();
  ASSERT_THAT(ticker.status(), IsOk());
  for (absl::Duration period :
       {absl::ZeroDuration(), absl::Seconds(-1), absl::InfiniteDuration()}) {
    EXPECT_THAT((*ticker)->EveryForTest(period),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("positive and finite")))
        << period;
  }
}

}  // namespace
}  // namespace anvil
