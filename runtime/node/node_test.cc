#include "runtime/node/node.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/core/sleep.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A thread-safe log of lifecycle events.
class EventLog {
 public:
  void Add(std::string event) {
    MutexLock lock(mu_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() {
    MutexLock lock(mu_);
    return events_;
  }

 private:
  Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};
EventLog* event_log = nullptr;

// How a test daemon behaves.
struct Script {
  absl::Status prepare;        // returned by Prepare
  absl::Status run_failure;    // if set, Run fails with it at once
  bool returns_early = false;  // Run returns OK without being stopped
};
Script* scripts[3] = {};

// Runs until stopped, logging each step.
class Scripted : public Daemon {
 public:
  Scripted(std::string tag, Script* script)
      : tag_(std::move(tag)), script_(script) {}
  Task<absl::Status> Prepare() override {
    event_log->Add("prepare " + tag_);
    co_return script_ ? script_->prepare : absl::OkStatus();
  }
  Task<absl::Status> Run() override {
    event_log->Add("run " + tag_);
    if (script_ && !script_->run_failure.ok()) co_return script_->run_failure;
    if (script_ && script_->returns_early) co_return absl::OkStatus();
    while (!stopped_.load()) co_await Sleep(absl::Microseconds(200));
    event_log->Add("ran " + tag_);
    co_return absl::OkStatus();
  }
  Task<> Stop() override {
    event_log->Add("stop " + tag_);
    stopped_.store(true);
    co_return;
  }

 private:
  std::string tag_;
  Script* script_;
  std::atomic<bool> stopped_{false};
};

// Storage <- Raft <- Kv.
class Storage : public Scripted {
 public:
  using Scripted::Scripted;
  static DaemonInfo Info() { return {.name = "t.Storage"}; }
};
class Raft : public Scripted {
 public:
  using Scripted::Scripted;
  static DaemonInfo Info() {
    return {.name = "t.Raft", .depends_on = {"t.Storage"}};
  }
};
class Kv : public Scripted {
 public:
  using Scripted::Scripted;
  static DaemonInfo Info() {
    return {.name = "t.Kv", .depends_on = {"t.Raft", "t.Storage"}};
  }
};
template <typename I, int kScript>
class Impl final : public I {
 public:
  explicit Impl(DaemonContext& ctx)
      : I(ctx.info().name.substr(2), scripts[kScript]) {}
};

class NodeTest : public ::testing::Test {
 protected:
  NodeTest() : runtime_(testing::TestRuntimeOptions()) {
    event_log = &log_;
    for (Script*& s : scripts) s = nullptr;
  }
  ~NodeTest() override { event_log = nullptr; }

  void BindAll(Factory& f) {
    f.Bind<Storage, Impl<Storage, 0>>();
    f.Bind<Raft, Impl<Raft, 1>>();
    f.Bind<Kv, Impl<Kv, 2>>();
  }

  EventLog log_;
  Runtime runtime_;
};

TEST_F(NodeTest, PreparesInOrderRunsAllAndStopsInReverse) {
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Get<Kv>(), IsOk());
  Node node(root);
  ASSERT_THAT(node.Start(), IsOk());
  node.RequestStop();
  EXPECT_THAT(node.Wait(), IsOk());
  std::vector<std::string> events = log_.events();
  ASSERT_EQ(events.size(), 12u);
  // Prepares come first, in dependency order.
  EXPECT_THAT(std::vector<std::string>(events.begin(), events.begin() + 3),
              ElementsAre("prepare Storage", "prepare Raft", "prepare Kv"));
  // Each Run is entered before the node stops it, and ends after its Stop;
  // Stops go dependents first, each after the previous Run ended.
  auto at = [&](const std::string& event) {
    return std::find(events.begin(), events.end(), event) - events.begin();
  };
  for (const char* d : {"Storage", "Raft", "Kv"}) {
    EXPECT_LT(at(std::string("run ") + d), at(std::string("ran ") + d)) << d;
    EXPECT_LT(at(std::string("stop ") + d), at(std::string("ran ") + d)) << d;
  }
  EXPECT_LT(at("ran Kv"), at("stop Raft"));
  EXPECT_LT(at("ran Raft"), at("stop Storage"));
}

TEST_F(NodeTest, APrepareFailureStopsTheNodeBeforeAnythingRuns) {
  Script raft{.prepare = absl::UnavailableError("disk missing")};
  scripts[1] = &raft;
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Child("n1").Get<Kv>(), IsOk());
  Node node(root.Child("n1"));
  EXPECT_THAT(node.Start(),
              StatusIs(absl::StatusCode::kUnavailable,
                       "node root/n1: daemon t.Raft failed to prepare: disk "
                       "missing"));
  EXPECT_THAT(node.Wait(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(log_.events(), ElementsAre("prepare Storage", "prepare Raft"));
}

TEST_F(NodeTest, ARunFailureStopsTheNodeInOrderAndNamesTheDaemon) {
  Script raft{.run_failure = absl::DataLossError("log corrupt")};
  scripts[1] = &raft;
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Child("n2").Get<Kv>(), IsOk());
  Node node(root.Child("n2"));
  ASSERT_THAT(node.Start(), IsOk());
  EXPECT_THAT(node.Wait(),
              StatusIs(absl::StatusCode::kDataLoss,
                       "node root/n2: daemon t.Raft failed: log corrupt"));
  std::vector<std::string> events = log_.events();
  // The others were stopped, dependents first.
  std::vector<std::string> stops;
  for (const std::string& e : events) {
    if (e.rfind("stop ", 0) == 0) stops.push_back(e);
  }
  EXPECT_THAT(stops, ElementsAre("stop Kv", "stop Storage"));
}

TEST_F(NodeTest, ARunThatReturnsEarlyIsAnError) {
  Script storage{.returns_early = true};
  scripts[0] = &storage;
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Get<Storage>(), IsOk());
  Node node(root);
  ASSERT_THAT(node.Start(), IsOk());
  EXPECT_THAT(node.Wait(),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("daemon t.Storage returned from Run() "
                                 "before it was stopped")));
}

TEST_F(NodeTest, RuntimeShutdownStopsTheNode) {
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Get<Kv>(), IsOk());
  Node node(root);
  ASSERT_THAT(node.Start(), IsOk());
  runtime_.Shutdown();  // what SIGTERM does
  EXPECT_THAT(node.Wait(), IsOk());
  EXPECT_THAT(log_.events(), ::testing::Contains("ran Storage"));
}

TEST_F(NodeTest, NodesShareTheProcessShutdownAndFailIndependently) {
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Child("n1").Get<Kv>(), IsOk());
  ASSERT_THAT(root.Child("n2").Get<Kv>(), IsOk());
  Node n1(root.Child("n1"));
  Node n2(root.Child("n2"));
  ASSERT_THAT(n1.Start(), IsOk());
  ASSERT_THAT(n2.Start(), IsOk());
  n1.RequestStop();  // one node stops; the other keeps running
  EXPECT_THAT(n1.Wait(), IsOk());
  runtime_.Shutdown();  // a signal: every node stops
  EXPECT_THAT(n2.Wait(), IsOk());
}

TEST_F(NodeTest, StartingDuringShutdownIsRefused) {
  Factory root(runtime_);
  BindAll(root);
  ASSERT_THAT(root.Get<Storage>(), IsOk());
  runtime_.Shutdown();
  Node node(root);
  EXPECT_THAT(node.Start(),
              StatusIs(absl::StatusCode::kUnavailable,
                       "node root: the runtime is shutting down"));
  EXPECT_THAT(node.Wait(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(log_.events().empty());
}

// A child node started, stopped and destroyed many times: nothing leaks
// (checked under --config=asan) and no actor is left behind.
TEST_F(NodeTest, ChildNodesComeAndGoAThousandTimes) {
  Factory root(runtime_);
  BindAll(root);
  for (int i = 0; i < 1000; ++i) {
    Factory& lease = root.Child("lease");
    ASSERT_THAT(lease.Get<Kv>(), IsOk());
    Node node(lease);
    ASSERT_THAT(node.Start(), IsOk());
    node.RequestStop();
    ASSERT_THAT(node.Wait(), IsOk());
    ASSERT_THAT(root.DestroyChild("lease"), IsOk());
  }
  // The last supervisor finishes just after Wait() returned.
  while (runtime_.live_actors() > 0) std::this_thread::yield();
  EXPECT_TRUE(root.Built().empty());  // node daemons lived in the child
  EXPECT_TRUE(root.ChildNames().empty());
}

}  // namespace
}  // namespace anvil
