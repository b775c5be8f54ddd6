// Generated clients calling an actor on another "node" over each network:
// gRPC (real sockets on 127.0.0.1) and loopback (in process), and over the
// one the build picked as default (//bazel:transport; this binary is built
// once per flavour by transport_test).
#include <cstdlib>
#include <memory>
#include <string>

#include "codegen/testdata/kv.anvil.h"
#include "codegen/testdata/map_plain.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "runtime/transport/network.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::codegen::testdata {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

enum class Flavour { kGrpc, kLoopback, kDefault };

class RemoteTest : public ::testing::TestWithParam<Flavour> {
 protected:
  RemoteTest() : runtime_(anvil::testing::TestRuntimeOptions()) {
    switch (GetParam()) {
      case Flavour::kGrpc:
        network_ = std::make_unique<GrpcNetwork>(runtime_);
        break;
      case Flavour::kLoopback:
        network_ = std::make_unique<LoopbackNetwork>(runtime_);
        break;
      case Flavour::kDefault:
        network_ = NewDefaultNetwork(runtime_);
        break;
    }
    local_ = PlainActor::Spawn(runtime_, std::make_shared<MapPlain>());
  }

  // "127.0.0.1:0" for gRPC (a free port), a node name for loopback.
  std::string Address() const {
    return network_->name() == "grpc" ? "127.0.0.1:0" : "n1";
  }
  // Where nothing is served.
  std::string NowhereAddress() const {
    return network_->name() == "grpc" ? "127.0.0.1:1" : "nowhere";
  }

  Runtime runtime_;
  std::unique_ptr<Network> network_;
  PlainRef local_;
};

TEST_P(RemoteTest, TheSameClientCallsARemoteActor) {
  absl::StatusOr<std::unique_ptr<Server>> server =
      network_->Serve(Address(), PlainRef::Handlers(local_));
  ASSERT_THAT(server, IsOk());
  PlainRef remote(network_->Connect((*server)->address()));
  EXPECT_FALSE(remote.actor());  // no local actor behind it
  EXPECT_THAT(BlockOn(runtime_, ReadThrough(remote, "a", absl::Seconds(30))),
              IsOkAndHolds("alpha"));
  // The actor's own status crosses the network unchanged.
  EXPECT_THAT(BlockOn(runtime_, ReadThrough(remote, "b", absl::Seconds(30))),
              StatusIs(absl::StatusCode::kNotFound, "b"));
  // The caller's deadline reaches the actor.
  EXPECT_THAT(
      BlockOn(runtime_, ReadThrough(remote, "deadline", absl::Seconds(30))),
      IsOkAndHolds("set"));
  EXPECT_THAT(
      BlockOn(runtime_, ReadThrough(remote, "slow", absl::Milliseconds(50))),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(RemoteTest, NoServerIsUnavailable) {
  PlainRef remote(network_->Connect(NowhereAddress()));
  EXPECT_THAT(BlockOn(runtime_, ReadThrough(remote, "a", absl::Seconds(30))),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_P(RemoteTest, BadBytesAndUnknownMethodsAreRefused) {
  absl::StatusOr<std::unique_ptr<Server>> server =
      network_->Serve(Address(), PlainRef::Handlers(local_));
  ASSERT_THAT(server, IsOk());
  std::shared_ptr<Channel> channel = network_->Connect((*server)->address());
  auto call = [](std::shared_ptr<Channel> c, std::string method,
                 std::string bytes) -> Task<absl::StatusOr<std::string>> {
    co_return co_await c->Call(std::move(method), std::move(bytes), INT64_MAX);
  };
  EXPECT_THAT(
      BlockOn(runtime_, call(channel, "/anvil.codegen.testdata.Plain/Ping",
                             std::string("\xff\xff\xff", 3))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("anvil.codegen.testdata.ReadRequest")));
  EXPECT_THAT(BlockOn(runtime_,
                      call(channel, "/anvil.codegen.testdata.Plain/Nope", "")),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST_P(RemoteTest, AStoppedServerRefusesNewCalls) {
  absl::StatusOr<std::unique_ptr<Server>> server =
      network_->Serve(Address(), PlainRef::Handlers(local_));
  ASSERT_THAT(server, IsOk());
  PlainRef remote(network_->Connect((*server)->address()));
  EXPECT_THAT(BlockOn(runtime_, ReadThrough(remote, "a", absl::Seconds(30))),
              IsOk());
  server->reset();
  EXPECT_THAT(BlockOn(runtime_, ReadThrough(remote, "a", absl::Seconds(30))),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(DefaultNetwork, IsTheOneTheBuildPicked) {
  const char* expected = std::getenv("ANVIL_EXPECTED_TRANSPORT");
  if (expected == nullptr) GTEST_SKIP() << "run through transport_test";
  EXPECT_EQ(DefaultNetworkName(), expected);
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  EXPECT_EQ(NewDefaultNetwork(runtime)->name(), expected);
}

INSTANTIATE_TEST_SUITE_P(Networks, RemoteTest,
                         ::testing::Values(Flavour::kGrpc, Flavour::kLoopback,
                                           Flavour::kDefault),
                         [](const auto& info) {
                           switch (info.param) {
                             case Flavour::kGrpc:
                               return "Grpc";
                             case Flavour::kLoopback:
                               return "Loopback";
                             case Flavour::kDefault:
                               return "Default";
                           }
                           return "";
                         });

}  // namespace
}  // namespace anvil::codegen::testdata
