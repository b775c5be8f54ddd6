#include "runtime/daemon/actor_daemon.h"

#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "runtime/actor/request.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::anvil::testing::TestRuntimeOptions;
using ::testing::HasSubstr;

struct Total {
  using Reply = int;
};
// Adds an int; a negative one makes the daemon throw.
using CounterMessage = std::variant<int, Request<Total>>;

class Counter : public ActorDaemon<CounterMessage> {
 public:
  static DaemonInfo Info() { return {.name = "test.Counter"}; }
  explicit Counter(DaemonContext& context) : ActorDaemon(context) {}

 private:
  Task<> ServeMailbox(ActorContext<CounterMessage>& mailbox) override {
    while (std::optional<CounterMessage> message = co_await mailbox.Receive()) {
      if (const int* n = std::get_if<int>(&*message)) {
        if (*n < 0) throw std::runtime_error("negative");
        sum_ += *n;
      } else {
        std::get<Request<Total>>(*message).reply.Send(sum_);
      }
    }
  }

  int sum_ = 0;  // touched by the actor only
};

Task<absl::StatusOr<int>> AskTotal(ActorRef<CounterMessage> counter) {
  co_return co_await counter.Call(Total{});
}

template <typename Reply>
Task<absl::StatusOr<Reply>> Await(internal::CallAwaiter<Reply> call) {
  co_return co_await std::move(call);
}

class ActorDaemonTest : public ::testing::Test {
 protected:
  ActorDaemonTest() : runtime_(TestRuntimeOptions()), root_(runtime_) {
    root_.Bind<Counter, Counter>();
  }

  ActorRef<CounterMessage> CounterMailbox() {
    absl::StatusOr<Counter*> counter = root_.Get<Counter>();
    EXPECT_THAT(counter.status(), IsOk());
    return (*counter)->actor();
  }

  Runtime runtime_;
  Factory root_;
};

TEST_F(ActorDaemonTest, QueuesBeforeRunServesWhileRunningDrainsOnStop) {
  ActorRef<CounterMessage> counter = CounterMailbox();
  EXPECT_THAT(counter.TrySend(2), IsOk());
  // Not served before Run(): the call waits in the mailbox.
  internal::CallAwaiter<int> early = counter.Call(Total{});
  {
    Node node(root_);
    ASSERT_THAT(node.Start(), IsOk());
    EXPECT_THAT(BlockOn(runtime_, Await(std::move(early))), IsOkAndHolds(2));
    EXPECT_THAT(counter.TrySend(3), IsOk());
    EXPECT_THAT(BlockOn(runtime_, AskTotal(counter)), IsOkAndHolds(5));
    node.RequestStop();
    EXPECT_THAT(node.Wait(), IsOk());
  }
  EXPECT_FALSE(counter.IsAlive());
  EXPECT_THAT(counter.TrySend(1), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ActorDaemonTest, NeverRunCancelsQueuedCallsWhenDestroyed) {
  internal::CallAwaiter<int> queued = CounterMailbox().Call(Total{});
  ActorWatch watch = CounterMailbox().Watch();
  // Stop() before Run(): the actor ends without serving.
  BlockOn(runtime_, (*root_.Get<Counter>())->Stop());
  EXPECT_THAT(BlockOn(runtime_, Await(std::move(queued))),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(BlockOn(runtime_,
                      [](ActorWatch w) -> Task<absl::Status> {
                        co_return co_await w.Join();
                      }(watch)),
              IsOk());
}

TEST_F(ActorDaemonTest, AFailingActorFailsTheNodeWithItsName) {
  ActorRef<CounterMessage> counter = CounterMailbox();
  Node node(root_);
  ASSERT_THAT(node.Start(), IsOk());
  EXPECT_THAT(counter.TrySend(-1), IsOk());
  EXPECT_THAT(node.Wait(), StatusIs(absl::StatusCode::kInternal,
                                    HasSubstr("daemon test.Counter failed")));
}

TEST_F(ActorDaemonTest, RuntimeShutdownEndsItNormally) {
  ActorRef<CounterMessage> counter = CounterMailbox();
  Node node(root_);
  ASSERT_THAT(node.Start(), IsOk());
  EXPECT_THAT(counter.TrySend(1), IsOk());
  runtime_.Shutdown();  // what SIGTERM does
  EXPECT_THAT(node.Wait(), IsOk());
  EXPECT_THAT(runtime_.Run(), IsOk());
}

}  // namespace
}  // namespace anvil
