#include "runtime/actor/runtime.h"

#include <signal.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/actor_group.h"
#include "runtime/core/sleep.h"
#include "runtime/core/thread_event.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::anvil::testing::TestRuntimeOptions;
using ::anvil::testing::WorkerBlocker;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ANVIL_ASSERT_SIZE(ActorRef<int>, 8);
ANVIL_ASSERT_SIZE(ActorRef<std::string>, 8);

// Records every message it receives, then returns.
Task<> Collector(ActorContext<int>& ctx,
                 std::shared_ptr<std::vector<int>> seen) {
  while (std::optional<int> m = co_await ctx.Receive()) seen->push_back(*m);
}

TEST(Runtime, ActorReceivesInOrderAndEndsWhenRefsAreGone) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref = runtime.Spawn(Collector, seen);
  for (int i = 0; i < 10; ++i) EXPECT_THAT(ref.TrySend(int{i}), IsOk());
  EXPECT_TRUE(ref.IsAlive());
  ref = {};  // the last sender: Receive ends once the mailbox is empty
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_THAT(*seen, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_EQ(runtime.live_actors(), 0u);
}

TEST(ActorRef, RequestStopDrainsTheMailboxThenEndsAndRefusesSends) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref;
  {
    // With its worker blocked, the messages are queued when the stop is
    // requested.
    WorkerBlocker blocked(runtime, 0);
    ref = runtime.Spawn(Collector, seen, ActorOptions{.worker = 0});
    for (int i = 0; i < 3; ++i) EXPECT_THAT(ref.TrySend(int{i}), IsOk());
    ref.RequestStop();
    EXPECT_THAT(ref.TrySend(99), StatusIs(absl::StatusCode::kUnavailable));
  }
  // The ref is still held: the actor ends because it was told to.
  EXPECT_THAT(BlockOn(runtime,
                      [](ActorRef<int> r) -> Task<absl::Status> {
                        co_return co_await r.Join();
                      }(ref)),
              IsOk());
  EXPECT_THAT(*seen, ElementsAre(0, 1, 2));
  ref.RequestStop();  // on a finished actor: nothing happens
  ActorRef<int>().RequestStop();
}

TEST(ActorRef, JoinWaitsForTheFinalStatus) {
  Runtime runtime(TestRuntimeOptions());
  auto until_negative = [](ActorContext<int>& ctx) -> Task<absl::Status> {
    while (std::optional<int> m = co_await ctx.Receive()) {
      if (*m < 0) co_return absl::OutOfRangeError("negative");
    }
    co_return absl::OkStatus();
  };
  ActorRef<int> ref = runtime.Spawn(until_negative);
  auto join = [](ActorRef<int> r) -> Task<absl::Status> {
    co_return co_await r.Join();
  };
  ASSERT_THAT(ref.TrySend(1), IsOk());
  ASSERT_THAT(ref.TrySend(-1), IsOk());
  EXPECT_THAT(BlockOn(runtime, join(ref)),
              StatusIs(absl::StatusCode::kOutOfRange, "negative"));
  EXPECT_FALSE(ref.IsAlive());
  // Joining again returns the same status at once.
  EXPECT_THAT(BlockOn(runtime, join(ref)),
              StatusIs(absl::StatusCode::kOutOfRange));
}

struct Get {
  using Reply = int;
  std::string key;
};
struct Put {
  std::string key;
  int value;
};
struct Hold {  // keeps the request, never replies
  using Reply = int;
};
struct Drop {  // destroys the request without replying
  using Reply = int;
};
using KvMsg = std::variant<Put, Request<Get>, Request<Hold>, Request<Drop>>;

Task<> Kv(ActorContext<KvMsg>& ctx) {
  std::map<std::string, int> data;
  std::vector<ReplySender<int>> held;
  while (std::optional<KvMsg> msg = co_await ctx.Receive()) {
    if (auto* put = std::get_if<Put>(&*msg)) {
      data[put->key] = put->value;
    } else if (auto* get = std::get_if<Request<Get>>(&*msg)) {
      auto it = data.find(get->request.key);
      if (it == data.end()) {
        get->reply.Send(absl::NotFoundError(get->request.key));
      } else {
        get->reply.Send(it->second);
      }
    } else if (auto* hold = std::get_if<Request<Hold>>(&*msg)) {
      held.push_back(std::move(hold->reply));
    }
    // Request<Drop>: the message, and its ReplySender, die here.
  }
}

TEST(ActorWatch, JoinsAnActorThatEndsWhenItsSendersAreGone) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref = runtime.Spawn(Collector, seen, ActorOptions{.name = "c"});
  ActorWatch watch = ref.Watch();
  EXPECT_EQ(watch.name(), "c");
  ASSERT_THAT(ref.TrySend(5), IsOk());
  ref = {};  // the watch does not keep Receive waiting
  auto join = [](ActorWatch w) -> Task<absl::Status> {
    co_return co_await w.Join();
  };
  EXPECT_THAT(BlockOn(runtime, join(watch)), IsOk());
  EXPECT_FALSE(watch.IsAlive());
  EXPECT_THAT(*seen, ElementsAre(5));
}

TEST(Call, ReturnsTheReplyOrTheActorsError) {
  Runtime runtime(TestRuntimeOptions());
  ActorRef<KvMsg> kv = runtime.Spawn(Kv, ActorOptions{.name = "kv"});
  ASSERT_THAT(kv.TrySend(Put{"a", 1}), IsOk());
  auto get = [](ActorRef<KvMsg> kv,
                std::string key) -> Task<absl::StatusOr<int>> {
    co_return co_await kv.Call(Get{std::move(key)});
  };
  EXPECT_THAT(BlockOn(runtime, get(kv, "a")), IsOkAndHolds(1));
  EXPECT_THAT(BlockOn(runtime, get(kv, "b")),
              StatusIs(absl::StatusCode::kNotFound, "b"));
}

TEST(Call, DroppedRequestIsCancelled) {
  Runtime runtime(TestRuntimeOptions());
  ActorRef<KvMsg> kv = runtime.Spawn(Kv);
  auto call = [](ActorRef<KvMsg> kv) -> Task<absl::StatusOr<int>> {
    co_return co_await kv.Call(Drop{});
  };
  EXPECT_THAT(BlockOn(runtime, call(kv)),
              StatusIs(absl::StatusCode::kCancelled,
                       HasSubstr("dropped the request without replying")));
}

// A reply that counts how often it is copied and moved.
struct Counted {
  static inline int copies = 0;
  static inline int moves = 0;
  int value = 0;

  explicit Counted(int v) : value(v) {}
  Counted(const Counted& other) : value(other.value) { ++copies; }
  Counted(Counted&& other) noexcept : value(other.value) { ++moves; }
  Counted& operator=(const Counted&) = delete;
  Counted& operator=(Counted&&) = delete;
};
struct GetCounted {
  using Reply = Counted;
};
using CountedMsg = std::variant<Request<GetCounted>>;

Task<absl::StatusOr<Counted>> MakeCounted(int value) {
  co_return Counted(value);
}

// Answers each call with ReplyWith, as generated code does, and records
// what answering it cost.
Task<> CountedServer(ActorContext<CountedMsg>& ctx,
                     std::shared_ptr<std::vector<int>> cost) {
  while (std::optional<CountedMsg> message = co_await ctx.Receive()) {
    auto& call = std::get<0>(*message);
    Counted::copies = 0;
    Counted::moves = 0;
    co_await internal::ReplyWith(call.reply, MakeCounted(7));
    cost->push_back(Counted::copies);
    cost->push_back(Counted::moves);
  }
}

TEST(Call, ReplyWithMovesTheTasksResultOnceIntoTheCallersSlot) {
  RuntimeOptions options = TestRuntimeOptions();
  options.threads = 1;  // the caller does not run while the server counts
  Runtime runtime(options);
  auto cost = std::make_shared<std::vector<int>>();
  ActorRef<CountedMsg> server = runtime.Spawn(CountedServer, cost);
  auto call = [](ActorRef<CountedMsg> server) -> Task<int> {
    absl::StatusOr<Counted> reply = co_await server.Call(GetCounted{});
    co_return reply.ok() ? reply->value : -1;
  };
  EXPECT_EQ(BlockOn(runtime, call(server)), 7);
  // No copy; one move into the task's result (co_return), one from there
  // into the caller's slot. (`Send(co_await task)` makes three.)
  EXPECT_THAT(*cost, ElementsAre(0, 2));
}

TEST(Call, ReplyNeverSentHitsTheDeadline) {
  Runtime runtime(TestRuntimeOptions());
  ActorRef<KvMsg> kv = runtime.Spawn(Kv);
  auto call = [](ActorRef<KvMsg> kv) -> Task<absl::StatusOr<int>> {
    co_return co_await kv.Call(Hold{}, absl::Milliseconds(5));
  };
  EXPECT_THAT(BlockOn(runtime, call(kv)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(Call, ToAFinishedActorIsUnavailable) {
  Runtime runtime(TestRuntimeOptions());
  auto quitter = [](ActorContext<KvMsg>&) -> Task<> { co_return; };
  ActorRef<KvMsg> kv = runtime.Spawn(quitter, ActorOptions{.name = "quitter"});
  auto call = [](ActorRef<KvMsg> kv) -> Task<absl::StatusOr<int>> {
    EXPECT_THAT(co_await kv.Join(), IsOk());
    co_return co_await kv.Call(Get{"x"});
  };
  EXPECT_THAT(BlockOn(runtime, call(kv)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("actor 'quitter' has finished")));
  EXPECT_FALSE(kv.IsAlive());
  EXPECT_THAT(kv.TrySend(Put{"a", 1}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ActorRef, DefaultConstructedRefRefusesSends) {
  ActorRef<int> nothing;
  EXPECT_FALSE(nothing);
  EXPECT_FALSE(nothing.IsAlive());
  EXPECT_THAT(nothing.TrySend(1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(Mailbox, FullMailboxRefusesWithResourceExhaustedAndKeepsTheMessage) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<std::unique_ptr<int>> ref;
  {
    WorkerBlocker blocked(runtime, 0);  // the actor cannot run yet
    auto body = [](ActorContext<std::unique_ptr<int>>& ctx,
                   std::shared_ptr<std::vector<int>> out) -> Task<> {
      while (auto m = co_await ctx.Receive()) out->push_back(**m);
    };
    ref = runtime.Spawn(
        body, seen,
        ActorOptions{.name = "small", .mailbox_capacity = 2, .worker = 0});
    EXPECT_THAT(ref.TrySend(std::make_unique<int>(1)), IsOk());
    EXPECT_THAT(ref.TrySend(std::make_unique<int>(2)), IsOk());
    auto third = std::make_unique<int>(3);
    EXPECT_THAT(ref.TrySend(std::move(third)),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("mailbox of actor 'small' is full (2")));
    ASSERT_NE(third, nullptr);  // NOLINT: TrySend left it untouched
    EXPECT_EQ(*third, 3);
  }
  ref = {};
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_THAT(*seen, ElementsAre(1, 2));
}

// A producer that co_awaits Send into a mailbox of 2 waits for room instead
// of failing; all messages arrive, in order.
TEST(Send, WaitsForRoom) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> consumer = runtime.Spawn(
      Collector, seen, ActorOptions{.mailbox_capacity = 2, .worker = 1});
  auto produce = [](ActorRef<int> to) -> Task<absl::Status> {
    for (int i = 0; i < 1000; ++i) {
      absl::Status s = co_await to.Send(int{i});
      if (!s.ok()) co_return s;
    }
    co_return absl::OkStatus();
  };
  EXPECT_THAT(BlockOn(runtime, produce(consumer), /*worker=*/0), IsOk());
  consumer = {};
  EXPECT_THAT(runtime.Run(), IsOk());
  ASSERT_EQ(seen->size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ((*seen)[i], i);
}

TEST(Send, ToAnActorThatFinishesWhileWaitingIsUnavailable) {
  Runtime runtime(TestRuntimeOptions());
  // Never takes a message: the mailbox stays full until the actor finishes.
  auto never_receives = [](ActorContext<int>& ctx) -> Task<> {
    co_await Sleep(absl::Milliseconds(5));
  };
  ActorRef<int> ref;
  absl::Status result;
  ThreadEvent sent;
  {
    WorkerBlocker blocked(runtime, 0);
    ref = runtime.Spawn(never_receives,
                        ActorOptions{.mailbox_capacity = 1, .worker = 0});
    ASSERT_THAT(ref.TrySend(1), IsOk());  // now full
    auto send = [](ActorRef<int> to, absl::Status& out,
                   ThreadEvent& done) -> internal::Detached {
      out = co_await to.Send(2);
      done.Notify();
    };
    send(ref, result, sent).StartOn(runtime.scheduler().worker(1));
  }
  sent.Wait();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("has finished")));
  EXPECT_FALSE(ref.IsAlive());
}

TEST(Supervisor, RestartsAfterErrorsKeepingQueuedMessages) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto flaky =
      [](ActorContext<int>& ctx, std::shared_ptr<std::vector<int>> out,
         std::shared_ptr<std::atomic<int>> started) -> Task<absl::Status> {
    started->fetch_add(1);
    while (std::optional<int> m = co_await ctx.Receive()) {
      if (*m < 0) co_return absl::InternalError("negative");
      out->push_back(*m);
    }
    co_return absl::OkStatus();
  };
  ActorRef<int> ref;
  {
    WorkerBlocker blocked(runtime, 0);
    ref = runtime.Spawn(
        flaky, seen, starts,
        ActorOptions{.name = "flaky",
                     .supervisor = RestartSupervisor(5, absl::Hours(1)),
                     .worker = 0});
    for (int m : {1, -1, 2, -2, 3}) ASSERT_THAT(ref.TrySend(int{m}), IsOk());
  }
  ref = {};
  EXPECT_THAT(runtime.Run(), IsOk());
  // The failing messages are lost; the queued ones survive the restarts.
  EXPECT_THAT(*seen, ElementsAre(1, 2, 3));
  EXPECT_EQ(starts->load(), 3);
}

TEST(Supervisor, StopsAfterTooManyRestarts) {
  Runtime runtime(TestRuntimeOptions());
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto always_fails =
      [](ActorContext<int>& ctx,
         std::shared_ptr<std::atomic<int>> started) -> Task<absl::Status> {
    started->fetch_add(1);
    co_await ctx.Receive();
    co_return absl::UnavailableError("disk on fire");
  };
  ActorRef<int> ref = runtime.Spawn(
      always_fails, starts,
      ActorOptions{.name = "doomed",
                   .supervisor = RestartSupervisor(2, absl::Hours(1))});
  for (int i = 0; i < 5; ++i) ASSERT_THAT(ref.TrySend(int{i}), IsOk());
  auto join = [](ActorRef<int> r) -> Task<absl::Status> {
    co_return co_await r.Join();
  };
  EXPECT_THAT(BlockOn(runtime, join(ref)),
              StatusIs(absl::StatusCode::kUnavailable, "disk on fire"));
  EXPECT_EQ(starts->load(), 3);  // the first run and two restarts
  EXPECT_THAT(ref.TrySend(9), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(runtime.Run(), StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("actor 'doomed' failed")));
}

TEST(Spawn, MoveOnlyArgumentsAreMovedInAndCannotBeRestarted) {
  Runtime runtime(TestRuntimeOptions());
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto owns =
      [](ActorContext<int>& ctx, std::unique_ptr<int> owned,
         std::shared_ptr<std::atomic<int>> started) -> Task<absl::Status> {
    started->fetch_add(1);
    if (owned == nullptr) co_return absl::InternalError("moved-from argument");
    co_await ctx.Receive();
    co_return absl::DataLossError(absl::StrCat("failed holding ", *owned));
  };
  // The restarting supervisor is dropped (and an error logged): a restart
  // could only hand the body a moved-from pointer.
  ActorRef<int> ref = runtime.Spawn(
      owns, std::make_unique<int>(7), starts,
      ActorOptions{.name = "owner",
                   .supervisor = RestartSupervisor(5, absl::Hours(1))});
  ASSERT_THAT(ref.TrySend(1), IsOk());
  auto join = [](ActorRef<int> r) -> Task<absl::Status> {
    co_return co_await r.Join();
  };
  EXPECT_THAT(BlockOn(runtime, join(ref)),
              StatusIs(absl::StatusCode::kDataLoss, "failed holding 7"));
  EXPECT_EQ(starts->load(), 1);
  EXPECT_THAT(runtime.Run(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(Supervisor, AnExceptionIsAnErrorAndPendingCallsAreCancelled) {
  Runtime runtime(TestRuntimeOptions());
  auto thrower = [](ActorContext<KvMsg>& ctx) -> Task<> {
    co_await ctx.Receive();
    throw std::runtime_error("boom");
  };
  ActorRef<KvMsg> ref;
  absl::StatusOr<int> queued_call;
  {
    WorkerBlocker blocked(runtime, 0);
    ref = runtime.Spawn(thrower, ActorOptions{.name = "thrower", .worker = 0});
    ASSERT_THAT(ref.TrySend(Put{"k", 1}), IsOk());
    // A call queued behind the fatal message.
    auto call = [](ActorRef<KvMsg> r,
                   absl::StatusOr<int>& out) -> internal::Detached {
      out = co_await r.Call(Get{"k"});
    };
    call(ref, queued_call).StartOn(runtime.scheduler().worker(1));
    testing::RunUntilIdle(runtime, {1});
  }
  auto join = [](ActorRef<KvMsg> r) -> Task<absl::Status> {
    co_return co_await r.Join();
  };
  EXPECT_THAT(BlockOn(runtime, join(ref)),
              StatusIs(absl::StatusCode::kInternal, "actor threw: boom"));
  testing::RunUntilIdle(runtime);
  EXPECT_THAT(queued_call, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(runtime.Run(), StatusIs(absl::StatusCode::kInternal,
                                      HasSubstr("actor 'thrower' failed")));
}

struct Ping {
  int n;
};
using AnyMsg = std::variant<Ping, std::string>;

TEST(ActorRef, MapNarrowsTheMessageType) {
  Runtime runtime(TestRuntimeOptions());
  auto log = std::make_shared<std::vector<std::string>>();
  auto body = [](ActorContext<AnyMsg>& ctx,
                 std::shared_ptr<std::vector<std::string>> out) -> Task<> {
    while (auto m = co_await ctx.Receive()) {
      if (auto* p = std::get_if<Ping>(&*m)) {
        out->push_back("ping " + std::to_string(p->n));
      } else {
        out->push_back(std::get<std::string>(*m));
      }
    }
  };
  ActorRef<AnyMsg> wide =
      runtime.Spawn(body, log, ActorOptions{.name = "wide"});
  ActorRef<Ping> pings = wide.Map<Ping>();
  ActorRef<std::string> texts = wide.Map<std::string>();
  EXPECT_EQ(pings.name(), "wide");

  EXPECT_THAT(pings.TrySend(Ping{1}), IsOk());
  EXPECT_THAT(texts.TrySend(std::string("hi")), IsOk());
  auto send = [](ActorRef<Ping> p) -> Task<absl::Status> {
    co_return co_await p.Send(Ping{2});
  };
  EXPECT_THAT(BlockOn(runtime, send(pings)), IsOk());
  wide = {};
  pings = {};
  texts = {};
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_THAT(*log, ElementsAre("ping 1", "hi", "ping 2"));
}

TEST(ActorRef, MappedRefLeavesARefusedMessageUntouched) {
  Runtime runtime(TestRuntimeOptions());
  auto body = [](ActorContext<AnyMsg>& ctx) -> Task<> {
    while (co_await ctx.Receive()) {
    }
  };
  WorkerBlocker blocked(runtime, 0);
  ActorRef<AnyMsg> tiny =
      runtime.Spawn(body, ActorOptions{.mailbox_capacity = 1, .worker = 0});
  ActorRef<std::string> texts = tiny.Map<std::string>();
  ASSERT_THAT(texts.TrySend(std::string("first")), IsOk());
  std::string second = "second";
  EXPECT_THAT(texts.TrySend(std::move(second)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(second, "second");  // NOLINT(bugprone-use-after-move): untouched
}

TEST(ActorGroup, SendsRoundRobinToAllAndJoinsAll) {
  Runtime runtime(TestRuntimeOptions());
  std::vector<std::shared_ptr<std::vector<int>>> seen;
  ActorGroup<int> group;
  for (int i = 0; i < 3; ++i) {
    seen.push_back(std::make_shared<std::vector<int>>());
    group.Add(runtime.Spawn(Collector, seen.back()));
  }
  for (int i = 0; i < 6; ++i) EXPECT_THAT(group.TrySendToOne(int{i}), IsOk());
  EXPECT_THAT(group.TrySendToAll(100), IsOk());
  std::vector<ActorRef<int>> members = group.members();
  group = ActorGroup<int>();
  auto join = [](ActorGroup<int> g) -> Task<absl::Status> {
    co_return co_await g.JoinAll();
  };
  ActorGroup<int> joiner(std::move(members));
  // JoinAll holds refs; the members end once those are the only ones... so
  // end them explicitly through a shutdown instead.
  runtime.Shutdown();
  EXPECT_THAT(BlockOn(runtime, join(std::move(joiner))), IsOk());
  for (const auto& s : seen) {
    ASSERT_EQ(s->size(), 3u);
    EXPECT_EQ(s->back(), 100);
  }
  EXPECT_THAT(*seen[0], ElementsAre(0, 3, 100));
  EXPECT_THAT(ActorGroup<int>().TrySendToOne(1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(Shutdown, DrainsQueuedMessagesThenRefusesNewOnes) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref;
  {
    WorkerBlocker blocked(runtime, 0);
    ref = runtime.Spawn(Collector, seen,
                        ActorOptions{.name = "drainer", .worker = 0});
    for (int i = 0; i < 5; ++i) ASSERT_THAT(ref.TrySend(int{i}), IsOk());
    runtime.Shutdown();
    EXPECT_TRUE(runtime.stopping());
    EXPECT_THAT(ref.TrySend(99), StatusIs(absl::StatusCode::kUnavailable,
                                          HasSubstr("'drainer' is stopping")));
  }
  // `ref` is still held: the actor ends because of the shutdown.
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_THAT(*seen, ElementsAre(0, 1, 2, 3, 4));
  ActorRef<int> late =
      runtime.Spawn(Collector, seen, ActorOptions{.name = "late"});
  EXPECT_FALSE(late.IsAlive());
  EXPECT_THAT(late.TrySend(1), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(Shutdown, GivesUpOnActorsThatIgnoreItAfterTheTimeout) {
  RuntimeOptions options = TestRuntimeOptions();
  options.shutdown_timeout = absl::Milliseconds(50);
  auto runtime = std::make_unique<Runtime>(options);
  auto stubborn = [](ActorContext<int>& ctx) -> Task<> {
    while (true) co_await Sleep(absl::Milliseconds(1));  // never Receives
  };
  ActorRef<int> ref =
      runtime->Spawn(stubborn, ActorOptions{.name = "stubborn"});
  runtime->Shutdown();
  EXPECT_THAT(runtime->Run(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                       HasSubstr("stubborn")));
  runtime.reset();  // destroys the suspended body; ASan checks for leaks
  EXPECT_FALSE(ref.IsAlive());
}

TEST(SyncActor, BlocksOnItsOwnThread) {
  Runtime runtime(TestRuntimeOptions());
  auto seen = std::make_shared<std::vector<int>>();
  auto body = [](SyncContext<int>& ctx,
                 std::shared_ptr<std::vector<int>> out) -> absl::Status {
    while (std::optional<int> m = ctx.Receive()) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // blocking
      out->push_back(*m);
    }
    return absl::OkStatus();
  };
  ActorRef<int> ref =
      runtime.SpawnSync(body, seen, ActorOptions{.name = "sync"});
  auto produce = [](ActorRef<int> to) -> Task<absl::Status> {
    for (int i = 0; i < 50; ++i) {
      absl::Status s = co_await to.Send(int{i});
      if (!s.ok()) co_return s;
    }
    co_return absl::OkStatus();
  };
  EXPECT_THAT(BlockOn(runtime, produce(ref)), IsOk());
  ref = {};
  EXPECT_THAT(runtime.Run(), IsOk());
  ASSERT_EQ(seen->size(), 50u);
  EXPECT_EQ(seen->back(), 49);
}

TEST(SyncActor, ErrorGoesToItsSupervisor) {
  Runtime runtime(TestRuntimeOptions());
  auto failing = [](SyncContext<int>& ctx) -> absl::Status {
    ctx.Receive();
    return absl::DataLossError("bad block");
  };
  ActorRef<int> ref = runtime.SpawnSync(failing, ActorOptions{.name = "disk"});
  ASSERT_THAT(ref.TrySend(1), IsOk());
  auto join = [](ActorRef<int> r) -> Task<absl::Status> {
    co_return co_await r.Join();
  };
  EXPECT_THAT(BlockOn(runtime, join(ref)),
              StatusIs(absl::StatusCode::kDataLoss));
}

// Ping-pong between actors on different workers, and with thread-safe
// actors that follow their traffic: a workout for TSan.
Task<> Ponger(ActorContext<ActorRef<int>>& ctx, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    std::optional<ActorRef<int>> from = co_await ctx.Receive();
    if (!from) co_return;
    EXPECT_THAT(co_await from->Send(i), IsOk());
  }
}

TEST(Runtime, PingPongAcrossWorkers) {
  for (Placement placement : {Placement::kWorker, Placement::kAnyWorker}) {
    Runtime runtime(TestRuntimeOptions());
    constexpr int kRounds = 2000;
    ActorRef<ActorRef<int>> ponger = runtime.Spawn(
        Ponger, kRounds, ActorOptions{.placement = placement, .worker = 1});
    auto pinger = [](ActorContext<int>& ctx, ActorRef<ActorRef<int>> peer,
                     int rounds, std::shared_ptr<int> sum) -> Task<> {
      ActorRef<int> self = ctx.Self();
      for (int i = 0; i < rounds; ++i) {
        EXPECT_THAT(co_await peer.Send(self), IsOk());
        std::optional<int> reply = co_await ctx.Receive();
        if (!reply) co_return;
        *sum += *reply;
      }
    };
    auto sum = std::make_shared<int>(0);
    runtime.Spawn(pinger, ponger, kRounds, sum,
                  ActorOptions{.placement = placement, .worker = 0});
    ponger = {};
    EXPECT_THAT(runtime.Run(), IsOk());
    EXPECT_EQ(*sum, kRounds * (kRounds - 1) / 2);
  }
}

TEST(Signals, DeliveredToSubscribers) {
  RuntimeOptions options = TestRuntimeOptions();
  options.handle_signals = true;
  Runtime runtime(options);
  ASSERT_TRUE(runtime.handles_signals());
  auto got = std::make_shared<std::atomic<int>>(0);
  auto listener = [](ActorContext<Signal>& ctx,
                     std::shared_ptr<std::atomic<int>> out) -> Task<> {
    std::optional<Signal> s = co_await ctx.Receive();
    if (s) out->store(s->number);
  };
  ActorRef<Signal> ref = runtime.Spawn(listener, got);
  runtime.SubscribeSignals(ref);
  ref = {};
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_EQ(got->load(), SIGTERM);
  EXPECT_FALSE(runtime.stopping());  // the subscriber took it
}

TEST(Signals, WithoutSubscribersShutDownGracefully) {
  RuntimeOptions options = TestRuntimeOptions();
  options.handle_signals = true;
  Runtime runtime(options);
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref = runtime.Spawn(Collector, seen);
  ASSERT_THAT(ref.TrySend(7), IsOk());
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  EXPECT_THAT(runtime.Run(), IsOk());  // ends although `ref` is held
  EXPECT_TRUE(runtime.stopping());
  EXPECT_THAT(*seen, ElementsAre(7));
}

TEST(SignalsDeathTest, SecondSignalForcesTheExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        RuntimeOptions options = TestRuntimeOptions();
        options.handle_signals = true;
        Runtime runtime(options);
        auto stubborn = [](ActorContext<int>& ctx) -> Task<> {
          while (true) co_await Sleep(absl::Milliseconds(1));
        };
        ActorRef<int> ref = runtime.Spawn(stubborn);
        kill(getpid(), SIGTERM);
        while (!runtime.stopping()) std::this_thread::yield();
        kill(getpid(), SIGTERM);
        while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "second signal");
}

TEST(Watchdog, ReportsAnActorThatNeverYields) {
  RuntimeOptions options = TestRuntimeOptions();
  options.stall_threshold = absl::Milliseconds(20);
  Runtime runtime(options);
  auto spinner = [](ActorContext<int>& ctx) -> Task<> {
    // Never awaits until the watchdog has noticed.
    while (ctx.runtime().stalls() == 0) {
    }
    co_return;
  };
  runtime.Spawn(spinner, ActorOptions{.name = "spinner", .worker = 0});
  // Worker 1 still serves others meanwhile.
  auto answer = []() -> Task<int> { co_return 42; };
  EXPECT_EQ(BlockOn(runtime, answer(), /*worker=*/1), 42);
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_GE(runtime.stalls(), 1u);
}

TEST(Runtime, ManyShortLivedActors) {
  Runtime runtime(TestRuntimeOptions());
  auto counter = std::make_shared<std::atomic<int>>(0);
  auto once = [](ActorContext<int>& ctx,
                 std::shared_ptr<std::atomic<int>> c) -> Task<> {
    if (co_await ctx.Receive()) c->fetch_add(1);
  };
  for (int i = 0; i < 5000; ++i) {
    ActorRef<int> ref = runtime.Spawn(once, counter);
    ASSERT_THAT(ref.TrySend(int{i}), IsOk());
  }
  EXPECT_THAT(runtime.Run(), IsOk());
  EXPECT_EQ(counter->load(), 5000);
}

TEST(ManualWorkers, StepsAnActorOneMessageAtATime) {
  RuntimeOptions options = TestRuntimeOptions();
  options.manual_workers = true;
  Runtime runtime(options);
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref = runtime.Spawn(Collector, seen);
  EXPECT_EQ(testing::Step(runtime), 1u);  // the body starts and parks
  EXPECT_TRUE(seen->empty());
  ASSERT_THAT(ref.TrySend(1), IsOk());
  EXPECT_TRUE(seen->empty());  // nothing runs until the test steps
  EXPECT_EQ(testing::Step(runtime), 1u);
  EXPECT_THAT(*seen, ElementsAre(1));
  ASSERT_THAT(ref.TrySend(2), IsOk());
  ASSERT_THAT(ref.TrySend(3), IsOk());
  testing::StepUntilIdle(runtime);
  EXPECT_THAT(*seen, ElementsAre(1, 2, 3));
  EXPECT_EQ(testing::Step(runtime), 0u);
  ref = {};
  EXPECT_THAT(runtime.Run(), IsOk());  // drives the workers itself
  EXPECT_EQ(runtime.live_actors(), 0u);
}

TEST(ScopedSpawnWorker, PlacesActorsSpawnedFromOutsideTheWorkers) {
  RuntimeOptions options = TestRuntimeOptions();
  options.threads = 3;
  options.manual_workers = true;
  Runtime runtime(options);
  auto workers = std::make_shared<std::vector<size_t>>();
  auto where = [](ActorContext<int>&,
                  std::shared_ptr<std::vector<size_t>> out) -> Task<> {
    out->push_back(internal::Worker::Current()->index());
    co_return;
  };
  {
    ScopedSpawnWorker on_two(2);
    EXPECT_EQ(ScopedSpawnWorker::Current(), 2);
    runtime.Spawn(where, workers);
    {
      ScopedSpawnWorker on_one(1);
      runtime.Spawn(where, workers);
    }
    runtime.Spawn(where, workers);
    runtime.Spawn(where, workers, ActorOptions{.worker = 0});  // explicit wins
  }
  EXPECT_EQ(ScopedSpawnWorker::Current(), -1);
  testing::StepUntilIdle(runtime);
  EXPECT_THAT(*workers, ::testing::UnorderedElementsAre(2, 1, 2, 0));
  EXPECT_THAT(runtime.Run(), IsOk());
}

TEST(ManualWorkers, RunReportsActorsThatCanNeverBeWoken) {
  RuntimeOptions options = TestRuntimeOptions();
  options.manual_workers = true;
  Runtime runtime(options);
  auto seen = std::make_shared<std::vector<int>>();
  ActorRef<int> ref = runtime.Spawn(Collector, seen);  // held: never ends
  EXPECT_THAT(runtime.Run(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("1 actor(s) are waiting")));
}

TEST(ManualWorkers, RunWaitsForTimers) {
  RuntimeOptions options = TestRuntimeOptions();
  options.manual_workers = true;
  Runtime runtime(options);
  auto napper = [](ActorContext<int>& ctx) -> Task<> {
    co_await Sleep(absl::Milliseconds(2));
  };
  runtime.Spawn(napper);
  EXPECT_THAT(runtime.Run(), IsOk());
}

}  // namespace
}  // namespace anvil
