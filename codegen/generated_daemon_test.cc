// Daemons declared in codegen/testdata/kv.proto and
// codegen/testdata/frontend/frontend.proto, implemented against the
// generated base classes, built by a Factory, run by a Node and called
// through the generated clients: no hand-written wiring.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/testdata/frontend/frontend.anvil.h"
#include "codegen/testdata/kv.anvil.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/async_event.h"
#include "runtime/core/sleep.h"
#include "runtime/daemon/factory.h"
#include "runtime/daemon/serves_until_stopped.h"
#include "runtime/node/node.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::codegen::testdata {
namespace {

using ::anvil::codegen::testdata::frontend::FrontendDaemon;
using ::anvil::codegen::testdata::frontend::FrontendDeps;
using ::anvil::codegen::testdata::frontend::FrontendRef;
using ::anvil::codegen::testdata::frontend::Page;
using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

// A daemon without methods: runs until stopped; its dependents call it
// through ConfigApi (the proto's cc_interface).
class StaticConfig final : public ServesUntilStopped<ConfigDaemon> {
 public:
  explicit StaticConfig(const ConfigDeps&) {}
  std::string greeting() const override { return "hello"; }
};

// The same, with its greeting from Bind's arguments.
class GreetingConfig final : public ServesUntilStopped<ConfigDaemon> {
 public:
  GreetingConfig(const ConfigDeps&, std::string greeting)
      : greeting_(std::move(greeting)) {}
  std::string greeting() const override { return greeting_; }

 private:
  const std::string greeting_;
};

class MemStorage final : public StorageDaemon {
 public:
  explicit MemStorage(const StorageDeps& deps)
      : StorageDaemon(deps), config_(deps.config) {}

  Task<absl::StatusOr<ReadReply>> Read(CallContext& call,
                                       const ReadRequest& request) override {
    ReadReply reply;
    if (request.key() == "deadline") {
      // What the server learns of its caller's deadline.
      reply.set_value(call.has_deadline() ? std::to_string(call.deadline())
                                          : "none");
      co_return reply;
    }
    auto it = values_.find(request.key());
    if (it == values_.end()) co_return absl::NotFoundError(request.key());
    reply.set_value(it->second);
    co_return reply;
  }

  Task<> Write(CallContext&, const WriteRequest& request) override {
    values_[request.key()] = request.value();
    co_return;
  }

  // A private message (cc_messages): only the process sends it.
  Task<> Receive(Forget& forget) override {
    values_.erase(forget.key);
    co_return;
  }

  // Reentrant: while it polls, Write (and other calls) are served.
  Task<absl::StatusOr<ReadReply>> Watch(CallContext& call,
                                        const ReadRequest& request) override {
    while (!values_.contains(request.key())) {
      if (call.expired()) co_return absl::DeadlineExceededError("gave up");
      co_await Sleep(absl::Milliseconds(1));
    }
    ReadReply reply;
    reply.set_value(values_[request.key()]);
    co_return reply;
  }

 private:
  [[maybe_unused]] ConfigDaemon& config_;  // a dependency without methods
  // Touched only by the daemon's actor (and its reentrant calls, which run
  // on the same worker).
  std::map<std::string, std::string> values_;
};

// Keeps no dependency of its own: the generated base does (storage()).
class KvStoreImpl final : public KvStoreDaemon {
 public:
  using KvStoreDaemon::KvStoreDaemon;

  Task<absl::StatusOr<ReadReply>> Get(CallContext& call,
                                      const ReadRequest& request) override {
    co_return co_await storage().Read(request, call);  // keeps the deadline
  }
};

class PageFrontend final : public FrontendDaemon {
 public:
  explicit PageFrontend(const FrontendDeps& deps)
      : FrontendDaemon(deps), kv_(deps.kv_store), config_(deps.config) {}

  Task<absl::StatusOr<Page>> Render(CallContext& call,
                                    const ReadRequest& request) override {
    absl::StatusOr<ReadReply> value = co_await kv_.Get(request, call);
    if (!value.ok()) co_return value.status();
    Page page;
    page.add_sections()->set_text(config_.greeting());
    page.add_sections()->set_text(value->value());
    co_return page;
  }

  Task<absl::StatusOr<google::protobuf::Empty>> Ping(
      CallContext&, const google::protobuf::Empty&) override {
    co_return google::protobuf::Empty();
  }

 private:
  KvStoreRef kv_;
  const ConfigDaemon& config_;  // typed through ConfigApi: no cast
};

ReadRequest Key(std::string key) {
  ReadRequest request;
  request.set_key(std::move(key));
  return request;
}

WriteRequest Entry(std::string key, std::string value) {
  WriteRequest request;
  request.set_key(std::move(key));
  request.set_value(std::move(value));
  return request;
}

// Awaits `call` on a worker of `runtime`, then returns its value's field.
template <typename Call>
absl::StatusOr<std::string> Value(Runtime& runtime, Call call) {
  auto await = [](Call c) -> Task<absl::StatusOr<std::string>> {
    auto reply = co_await std::move(c);
    if (!reply.ok()) co_return reply.status();
    co_return reply->value();
  };
  return BlockOn(runtime, await(std::move(call)));
}

class GeneratedDaemonTest : public ::testing::Test {
 protected:
  GeneratedDaemonTest()
      : runtime_(anvil::testing::TestRuntimeOptions()), root_(runtime_) {
    root_.Bind<ConfigDaemon, StaticConfig>();
    root_.Bind<StorageDaemon, MemStorage>();
    root_.Bind<KvStoreDaemon, KvStoreImpl>();
    root_.Bind<FrontendDaemon, PageFrontend>();
  }

  // Starts the root's node (Config) and n1's (what `build` built there).
  void Start() {
    root_node_ = std::make_unique<Node>(root_);
    ASSERT_THAT(root_node_->Start(), IsOk());
    n1_node_ = std::make_unique<Node>(n1());
    ASSERT_THAT(n1_node_->Start(), IsOk());
  }
  void Stop() {
    n1_node_->RequestStop();
    EXPECT_THAT(n1_node_->Wait(), IsOk());
    root_node_->RequestStop();
    EXPECT_THAT(root_node_->Wait(), IsOk());
  }
  Factory& n1() { return root_.Child("n1"); }

  Runtime runtime_;
  Factory root_;
  std::unique_ptr<Node> root_node_;
  std::unique_ptr<Node> n1_node_;
};

TEST(GeneratedDaemonBind, AGeneratedDaemonTakesBindsArguments) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  root.Bind<ConfigDaemon, GreetingConfig>(std::string("bonjour"));
  absl::StatusOr<ConfigDaemon*> config = root.Get<ConfigDaemon>();
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ((*config)->greeting(), "bonjour");
}

TEST_F(GeneratedDaemonTest, InfoComesFromTheProto) {
  const DaemonInfo kv = KvStoreDaemon::Info();
  EXPECT_EQ(kv.name, "anvil.codegen.testdata.KvStore");
  EXPECT_EQ(kv.scope, DaemonScope::kNode);
  EXPECT_EQ(kv.depends_on,
            (std::vector<std::string>{"anvil.codegen.testdata.Storage",
                                      "anvil.codegen.testdata.Config"}));
  EXPECT_EQ(ConfigDaemon::Info().scope, DaemonScope::kProcess);
}

TEST_F(GeneratedDaemonTest, GetOneFromTheFactoryAndCallIt) {
  absl::StatusOr<KvStoreDaemon*> kv = n1().Get<KvStoreDaemon>();
  ASSERT_THAT(kv, IsOk());
  EXPECT_EQ(root_.Built().size(), 1u);  // Config, shared
  EXPECT_EQ(n1().Built().size(), 2u);   // Storage, then KvStore
  StorageRef storage = (*n1().Get<StorageDaemon>())->ref();
  Start();

  EXPECT_THAT(storage.Write(Entry("a", "alpha")), IsOk());  // one-way
  EXPECT_THAT(Value(runtime_, (*kv)->ref().Get(Key("a"))),
              IsOkAndHolds("alpha"));
  EXPECT_THAT(Value(runtime_, (*kv)->ref().Get(Key("b"))),
              StatusIs(absl::StatusCode::kNotFound, "b"));

  Stop();
  EXPECT_THAT(Value(runtime_, (*kv)->ref().Get(Key("a"))),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(storage.Write(Entry("a", "late")),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(GeneratedDaemonTest, APrivateMessageIsServedInTurnWithTheCalls) {
  StorageRef storage = (*n1().Get<StorageDaemon>())->ref();
  Start();
  EXPECT_THAT(storage.Write(Entry("a", "alpha")), IsOk());
  EXPECT_THAT(Value(runtime_, storage.Read(Key("a"))), IsOkAndHolds("alpha"));
  // Sent on the actor's mailbox, as the daemon's own helpers would: served
  // before the Read sent after it.
  EXPECT_THAT(storage.actor().TrySend(Forget{.key = "a"}), IsOk());
  EXPECT_THAT(Value(runtime_, storage.Read(Key("a"))),
              StatusIs(absl::StatusCode::kNotFound, "a"));
  // The wire knows only the proto's methods.
  for (const auto& [method, handler] : StorageRef::Handlers(storage)) {
    EXPECT_THAT(method, ::testing::Not(HasSubstr("Forget")));
  }
  EXPECT_EQ(StorageRef::Handlers(storage).size(), 2u);  // Read, Watch
  Stop();
}

// Records each call; refuses one-way calls while `refuse` is set.
class RefuseWrites final : public ClientInterceptor {
 public:
  absl::Status BeforeCall(const ClientCallInfo& call, CallMetadata&) override {
    seen.push_back(
        absl::StrCat("before ", call.method, call.one_way ? " one-way" : ""));
    if (refuse && call.one_way) {
      return absl::FailedPreconditionError("writes are off");
    }
    return absl::OkStatus();
  }
  void AfterCall(const ClientCallInfo& call,
                 const absl::Status& outcome) override {
    seen.push_back(absl::StrCat("after ", call.method, " ",
                                absl::StatusCodeToString(outcome.code())));
  }
  // Read and written by the test's thread only: local calls run their
  // interceptors on the calling thread, Before and After of a one-way
  // call both.
  bool refuse = false;
  std::vector<std::string> seen;
};

TEST(GeneratedDaemonInterceptors, AOneWayLocalCallPassesTheClientChain) {
  auto interceptor = std::make_shared<RefuseWrites>();
  RuntimeOptions options = anvil::testing::TestRuntimeOptions();
  options.client_interceptors = {interceptor};
  Runtime runtime(options);
  Factory root(runtime);
  root.Bind<ConfigDaemon, StaticConfig>();
  root.Bind<StorageDaemon, MemStorage>();
  root.Bind<KvStoreDaemon, KvStoreImpl>();
  absl::StatusOr<KvStoreDaemon*> kv = root.Child("n1").Get<KvStoreDaemon>();
  ASSERT_THAT(kv, IsOk());
  StorageRef storage = (*root.Child("n1").Get<StorageDaemon>())->ref();
  Node root_node(root);
  ASSERT_THAT(root_node.Start(), IsOk());
  Node node(root.Child("n1"));
  ASSERT_THAT(node.Start(), IsOk());

  interceptor->refuse = true;
  EXPECT_THAT(
      storage.Write(Entry("a", "alpha")),
      StatusIs(absl::StatusCode::kFailedPrecondition, "writes are off"));
  EXPECT_EQ(interceptor->seen,
            (std::vector<std::string>{
                "before /anvil.codegen.testdata.Storage/Write one-way",
                "after /anvil.codegen.testdata.Storage/Write "
                "FAILED_PRECONDITION"}));
  interceptor->refuse = false;
  interceptor->seen.clear();
  EXPECT_THAT(storage.Write(Entry("a", "alpha")), IsOk());
  EXPECT_EQ(interceptor->seen,
            (std::vector<std::string>{
                "before /anvil.codegen.testdata.Storage/Write one-way",
                "after /anvil.codegen.testdata.Storage/Write OK"}));
  // The refused write never reached the daemon; the second did. (KvStore's
  // Get calls Storage.Read from its actor: those pass the chain too, on
  // a worker, so the test reads `seen` only above.)
  EXPECT_THAT(Value(runtime, (*kv)->ref().Get(Key("a"))),
              IsOkAndHolds("alpha"));

  node.RequestStop();
  EXPECT_THAT(node.Wait(), IsOk());
  root_node.RequestStop();
  EXPECT_THAT(root_node.Wait(), IsOk());
}

TEST_F(GeneratedDaemonTest, ACallMadeWhileServingKeepsTheCallersDeadline) {
  KvStoreRef kv = (*n1().Get<KvStoreDaemon>())->ref();
  Start();
  absl::StatusOr<std::string> seen =
      Value(runtime_, kv.Get(Key("deadline"), absl::Seconds(100)));
  const int64_t latest = Clock::MonotonicNanos() + 100'000'000'000;
  ASSERT_THAT(seen, IsOk());
  ASSERT_NE(*seen, "none");
  EXPECT_LE(std::stoll(*seen), latest);
  // Without a deadline the server sees none.
  EXPECT_THAT(Value(runtime_, kv.Get(Key("deadline"))), IsOkAndHolds("none"));
  Stop();
}

TEST_F(GeneratedDaemonTest, AReentrantCallLetsOtherCallsIn) {
  StorageRef storage = (*n1().Get<StorageDaemon>())->ref();
  Start();
  // Watch waits for "w" while the one-way Write that sets it is served.
  auto watch_then_write = [](StorageRef s) -> Task<absl::StatusOr<ReadReply>> {
    auto watching = s.Watch(Key("w"), absl::Seconds(60));
    EXPECT_THAT(s.Write(Entry("w", "written")), IsOk());
    co_return co_await std::move(watching);
  };
  absl::StatusOr<ReadReply> reply =
      BlockOn(runtime_, watch_then_write(storage));
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->value(), "written");
  Stop();
}

TEST_F(GeneratedDaemonTest, TheProtosDefaultDeadlineApplies) {
  StorageRef storage = (*n1().Get<StorageDaemon>())->ref();
  Start();
  // Watch has deadline_ms: 250 in the proto; nothing writes "never".
  EXPECT_THAT(Value(runtime_, storage.Watch(Key("never"))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  Stop();  // drains: the watch gives up at its deadline
}

TEST_F(GeneratedDaemonTest, ADaemonInAnotherPackageUsesTheseThroughItsDeps) {
  FrontendRef frontend = [&] {
    absl::StatusOr<FrontendDaemon*> daemon = n1().Get<FrontendDaemon>();
    EXPECT_THAT(daemon, IsOk());
    return (*daemon)->ref();
  }();
  EXPECT_EQ(n1().Built().size(), 3u);  // Storage, KvStore, Frontend
  StorageRef storage = (*n1().Get<StorageDaemon>())->ref();
  Start();
  EXPECT_THAT(storage.Write(Entry("p", "page")), IsOk());
  auto render = [](FrontendRef f) -> Task<absl::StatusOr<Page>> {
    co_return co_await f.Render(Key("p"));
  };
  absl::StatusOr<Page> page = BlockOn(runtime_, render(frontend));
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->sections_size(), 2);
  EXPECT_EQ(page->sections(0).text(), "hello");
  EXPECT_EQ(page->sections(1).text(), "page");
  Stop();
}

TEST_F(GeneratedDaemonTest, AnUnboundDependencyIsAnErrorNamingIt) {
  Factory lonely(runtime_);
  lonely.Bind<KvStoreDaemon, KvStoreImpl>();
  EXPECT_THAT(lonely.Get<KvStoreDaemon>().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("anvil.codegen.testdata.Storage")));
}

}  // namespace
}  // namespace anvil::codegen::testdata
