// Who may call what: a node serves a PUBLIC daemon (Echo) to anyone, a
// CLUSTER daemon (EchoPeer) only to the nodes its Cluster knows, and an
// internal method (EchoPeer.Poke) to nobody; a refused call never reaches
// the daemon. Over the loopback network, whose node views prove their
// names, and over plaintext gRPC, where a node can only claim its name (the
// anvil-peer header). Mutual TLS is in tls_test.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo.grpc.pb.h"
#include "runtime/transport/grpc/testdata/echo_cluster.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::transport::testdata {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

template <typename Reply>
Task<absl::StatusOr<Reply>> AwaitCall(ClientCall<Reply> call) {
  co_return co_await std::move(call);
}

class ClusterExposureTest
    : public ::testing::TestWithParam<EchoCluster::Flavour> {
 protected:
  ClusterExposureTest()
      : runtime_(anvil::testing::TestRuntimeOptions()),
        cluster_(runtime_, GetParam()) {}

  void SetUp() override {
    ASSERT_THAT(cluster_.Start(), IsOk());
    peer_ = &cluster_.peer();
  }
  void TearDown() override { EXPECT_THAT(cluster_.Stop(), IsOk()); }

  std::shared_ptr<Channel> ChannelAs(const std::string& name) {
    return cluster_.ChannelAs(name);
  }

  absl::StatusOr<WhoReply> WhoAs(const std::string& name) {
    return Await(
        EchoPeerRef(ChannelAs(name)).Who(EchoRequest(), absl::Seconds(30)));
  }

  template <typename Reply>
  absl::StatusOr<Reply> Await(ClientCall<Reply> call) {
    return BlockOn(runtime_, AwaitCall(std::move(call)));
  }

  Runtime runtime_;
  EchoCluster cluster_;
  EchoPeerImpl* peer_ = nullptr;
};

TEST_P(ClusterExposureTest, ANodeOfTheClusterCallsAClusterService) {
  absl::StatusOr<WhoReply> who = WhoAs("n2");
  ASSERT_THAT(who, IsOk());
  if (GetParam() == EchoCluster::kLoopback) {
    // The simulated node's view proves its name.
    EXPECT_THAT(who->verified_names(), ElementsAre("n2"));
    EXPECT_EQ(who->address(), "n2");
  } else {
    // Plaintext proves nothing; the name is claimed.
    EXPECT_THAT(who->verified_names(), IsEmpty());
    EXPECT_EQ(who->claimed_name(), "n2");
    EXPECT_THAT(who->address(), HasSubstr("127.0.0.1:"));
    EXPECT_THAT(who->metadata(), Contains("anvil-peer=n2"));
  }
  EXPECT_EQ(peer_->calls(), 1);
}

TEST_P(ClusterExposureTest, OtherCallersAreRefusedBeforeTheDaemon) {
  // Nobody in particular, and a name the cluster does not know.
  EXPECT_THAT(WhoAs(""),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("/anvil.transport.testdata.EchoPeer/Who is "
                                 "served to the cluster's nodes only")));
  EXPECT_THAT(WhoAs("mallory"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("mallory, not a node of the cluster")));
  EXPECT_EQ(peer_->calls(), 0);
  // The same callers reach the public service.
  EchoRequest hello;
  hello.set_text("hello");
  absl::StatusOr<EchoReply> said =
      Await(EchoRef(ChannelAs("mallory")).Say(hello, absl::Seconds(30)));
  ASSERT_THAT(said, IsOk());
  EXPECT_EQ(said->text(), "hello");
}

TEST_P(ClusterExposureTest, AnInternalMethodIsNeverServed) {
  EXPECT_THAT(
      Await(
          EchoPeerRef(ChannelAs("n2")).Poke(EchoRequest(), absl::Seconds(30))),
      StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(peer_->calls(), 0);
  // Callers in the process still reach it.
  EXPECT_THAT(Await(peer_->ref().Poke(EchoRequest())), IsOk());
  EXPECT_EQ(peer_->calls(), 1);
}

TEST_P(ClusterExposureTest, ALocalCallHasNoRemoteCaller) {
  absl::StatusOr<WhoReply> who = Await(peer_->ref().Who(EchoRequest()));
  ASSERT_THAT(who, IsOk());
  EXPECT_THAT(who->verified_names(), IsEmpty());
  EXPECT_EQ(who->address(), "");
}

INSTANTIATE_TEST_SUITE_P(Networks, ClusterExposureTest,
                         ::testing::Values(EchoCluster::kLoopback,
                                           EchoCluster::kGrpc),
                         [](const auto& info) {
                           return info.param == EchoCluster::kLoopback
                                      ? "Loopback"
                                      : "Grpc";
                         });

// A plain gRPC client (no anvil code) sees the handler's response metadata
// and the refusal's status.
TEST(ClusterExposureGrpcTest, APlainGrpcClientSeesMetadataAndRefusals) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  auto network = std::make_shared<GrpcNetwork>(runtime);
  root.Provide<Cluster>(std::make_unique<Cluster>(
      network, std::map<std::string, std::string>{{"n2", "127.0.0.1:1"}}));
  ASSERT_THAT(root.Get<Cluster>(), IsOk());
  Factory& n1 = root.Child("n1");
  n1.Bind<EchoPeerDaemon, EchoPeerImpl>();
  ASSERT_THAT(n1.Get<EchoPeerDaemon>(), IsOk());
  Node root_node(root);
  ASSERT_THAT(root_node.Start(), IsOk());
  Node node(n1, NodeOptions{.network = network});
  ASSERT_THAT(node.Start(), IsOk());

  auto stub = EchoPeer::NewStub(
      grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
  auto call = [&](const char* claimed, grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    if (claimed != nullptr) context.AddMetadata("anvil-peer", claimed);
    WhoReply reply;
    return stub->Who(&context, EchoRequest(), &reply);
  };
  grpc::ClientContext stranger;
  const grpc::Status refused = call(nullptr, stranger);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(), HasSubstr("names no node"));

  grpc::ClientContext member;
  ASSERT_TRUE(call("n2", member).ok());
  auto served_by = member.GetServerInitialMetadata().find("x-served-by");
  ASSERT_NE(served_by, member.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(served_by->second.data(), served_by->second.size()),
            "echo-peer");

  node.RequestStop();
  EXPECT_THAT(node.Wait(), IsOk());
  root_node.RequestStop();
  EXPECT_THAT(root_node.Wait(), IsOk());
}

}  // namespace
}  // namespace anvil::transport::testdata
