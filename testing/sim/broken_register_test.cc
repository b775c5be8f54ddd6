// The simulator catches a broken protocol: a register replicated to three
// nodes without a quorum (a write is acknowledged by one replica, which
// forwards it to the others in the background; a read asks any one
// replica). With network delay and loss, some seed makes a client read a
// value older than one already read or acknowledged: the history is not
// linearizable, and the failure names the seed to replay.
//
// The same workload against a single replica (no replication, so nothing
// to get wrong) passes every seed: the checker does not cry wolf.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/sleep.h"
#include "runtime/transport/channel.h"
#include "testing/sim/history_view.h"
#include "testing/sim/linearizability.h"
#include "testing/sim/register_model.h"
#include "testing/sim/simulation.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

constexpr char kWrite[] = "/toy.Register/Write";
constexpr char kRead[] = "/toy.Register/Read";
constexpr char kApply[] = "/toy.Register/Apply";

// One replica: its value, and channels to the others.
struct Replica {
  int value = 0;
  std::vector<std::shared_ptr<Channel>> others;
  std::unique_ptr<Server> server;
};

// Forwards a write to another replica; the outcome is not awaited by the
// client: the protocol's bug.
::anvil::internal::Detached Forward(std::shared_ptr<Channel> to,
                                    std::string value) {
  (void)co_await to->Call(kApply, value,
                          Clock::DeadlineAfter(absl::Seconds(1)));
}

std::vector<std::shared_ptr<Replica>> StartReplicas(
    Simulation& sim, const std::vector<std::string>& names) {
  std::vector<std::shared_ptr<Replica>> replicas;
  for (const std::string& name : names) {
    auto replica = std::make_shared<Replica>();
    for (const std::string& other : names) {
      if (other != name) {
        replica->others.push_back(sim.network().ForNode(name)->Connect(other));
      }
    }
    Replica* r = replica.get();
    MethodHandlers handlers;
    handlers[kWrite] = [r](std::string v,
                           CallContext) -> Task<absl::StatusOr<std::string>> {
      (void)absl::SimpleAtoi(v, &r->value);
      for (const auto& other : r->others) {
        Forward(other, v).StartOn(*::anvil::internal::Worker::Current());
      }
      co_return std::string("ok");
    };
    handlers[kApply] = [r](std::string v,
                           CallContext) -> Task<absl::StatusOr<std::string>> {
      (void)absl::SimpleAtoi(v, &r->value);
      co_return std::string("ok");
    };
    handlers[kRead] = [r](std::string,
                          CallContext) -> Task<absl::StatusOr<std::string>> {
      co_return absl::StrCat(r->value);
    };
    absl::StatusOr<std::unique_ptr<Server>> server =
        sim.network().ForNode(name)->Serve(name, std::move(handlers));
    EXPECT_THAT(server, ::anvil::testing::IsOk());
    replica->server = *std::move(server);
    replicas.push_back(std::move(replica));
  }
  return replicas;
}

// Clients doing random writes and reads against random replicas, each
// operation recorded with its virtual invoke and completion times.
absl::Status RunWorkload(Simulation& sim,
                         const std::vector<std::string>& replicas) {
  struct Shared {
    History<RegisterOp, int> history;
    int clients_done = 0;
    int next_value = 1;
  };
  auto shared = std::make_shared<Shared>();
  constexpr int kClients = 3;
  constexpr int kOpsPerClient = 8;
  for (int client = 0; client < kClients; ++client) {
    std::vector<std::shared_ptr<Channel>> channels;
    const std::string me = absl::StrCat("client", client);
    for (const std::string& replica : replicas) {
      channels.push_back(sim.network().ForNode(me)->Connect(replica));
    }
    sim.runtime().Spawn(
        [](ActorContext<int>&, int id, std::vector<std::shared_ptr<Channel>> to,
           std::shared_ptr<Shared> s, std::mt19937_64* random) -> Task<> {
          for (int i = 0; i < kOpsPerClient; ++i) {
            co_await Sleep(absl::Milliseconds((*random)() % 20));
            const bool write = (*random)() % 2 == 0;
            Channel& replica = *to[(*random)() % to.size()];
            const int value = write ? s->next_value++ : 0;
            const size_t op = s->history.Invoke(
                id, {write ? RegisterOp::kWrite : RegisterOp::kRead, value},
                Clock::MonotonicNanos());
            absl::StatusOr<std::string> reply = co_await replica.Call(
                write ? kWrite : kRead, absl::StrCat(value),
                Clock::DeadlineAfter(absl::Milliseconds(100)));
            if (!reply.ok()) continue;  // unknown outcome: left open
            int read = 0;
            if (!write) (void)absl::SimpleAtoi(*reply, &read);
            s->history.Complete(op, read, Clock::MonotonicNanos());
          }
          ++s->clients_done;
        },
        client, channels, shared, &sim.random());
  }
  absl::Status ran =
      sim.RunUntil([&] { return shared->clients_done == kClients; });
  if (!ran.ok()) return ran;
  LinearizabilityResult result =
      CheckLinearizable(shared->history, RegisterModel());
  if (!result.linearizable) {
    absl::StatusOr<std::string> view = WriteTestOutput(
        absl::StrCat("broken_register_seed", sim.seed(), ".html"),
        HistoryHtml(shared->history.operations(), RegisterModel(), result,
                    absl::StrCat("broken register, seed ", sim.seed())));
    return absl::InternalError(
        absl::StrCat(result.explanation, "\nhistory drawn in ",
                     view.ok() ? *view : view.status().ToString()));
  }
  return absl::OkStatus();
}

void LossyLinks(Simulation& sim) {
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(30),
                          .drop = 0.05});
}

TEST(BrokenRegisterTest, ReplicationWithoutQuorumIsCaughtWithASeed) {
  const absl::Status status = ForEachSeed(
      [](Simulation& sim) -> absl::Status {
        LossyLinks(sim);
        std::vector<std::string> names = {"r1", "r2", "r3"};
        auto replicas = StartReplicas(sim, names);
        return RunWorkload(sim, names);
      },
      /*default_seeds=*/100);
  ASSERT_FALSE(status.ok()) << "100 seeds missed the stale read";
  EXPECT_TRUE(absl::StrContains(status.message(), "not linearizable"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "--anvil_seed=")) << status;
  std::printf("caught, as expected:\n%s\n", status.ToString().c_str());
}

TEST(BrokenRegisterTest, SingleReplicaPassesEverySeed) {
  EXPECT_THAT(ForEachSeed(
                  [](Simulation& sim) -> absl::Status {
                    LossyLinks(sim);
                    std::vector<std::string> names = {"r1"};
                    auto replicas = StartReplicas(sim, names);
                    return RunWorkload(sim, names);
                  },
                  /*default_seeds=*/30),
              ::anvil::testing::IsOk());
}

}  // namespace
}  // namespace anvil::sim
