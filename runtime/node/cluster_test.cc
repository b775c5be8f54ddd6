// Nodes of one process record where they serve in the Cluster daemon, and a
// generated client reaches a daemon on another node by the node's name.
#include "runtime/node/cluster.h"

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::transport::testdata::EchoDaemon;
using ::anvil::transport::testdata::EchoImpl;
using ::anvil::transport::testdata::EchoRef;
using ::anvil::transport::testdata::EchoReply;
using ::anvil::transport::testdata::EchoRequest;

TEST(ClusterTest, NodesRecordTheirAddressesAndAreCalledByName) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  auto grpc = std::make_shared<GrpcNetwork>(runtime);
  root.Provide<Cluster>(std::make_unique<Cluster>(
      grpc, std::map<std::string, std::string>{{"elsewhere", "10.9.9.9:1"}}));
  root.Bind<EchoDaemon, EchoImpl>();
  absl::StatusOr<Cluster*> cluster = root.Get<Cluster>();
  ASSERT_THAT(cluster, IsOk());
  Node root_node(root);
  ASSERT_THAT(root_node.Start(), IsOk());

  Factory& n1 = root.Child("n1");
  Factory& n2 = root.Child("n2");
  ASSERT_THAT(n1.Get<EchoDaemon>(), IsOk());
  ASSERT_THAT(n2.Get<EchoDaemon>(), IsOk());
  Node node1(n1, {.network = grpc});
  Node node2(n2, {.network = grpc});
  ASSERT_THAT(node1.Start(), IsOk());
  ASSERT_THAT(node2.Start(), IsOk());
  EXPECT_NE(node1.address(), node2.address());
  EXPECT_EQ((*cluster)->peers().Addresses(),
            (std::map<std::string, std::string>{{"elsewhere", "10.9.9.9:1"},
                                                {"n1", node1.address()},
                                                {"n2", node2.address()}}));

  absl::StatusOr<EchoRef> echo2 = (*cluster)->peers().RefTo<EchoRef>("n2");
  ASSERT_THAT(echo2, IsOk());
  EchoRequest request;
  request.set_text("to n2");
  absl::StatusOr<EchoReply> reply = anvil::testing::BlockOn(
      runtime,
      [](EchoRef echo, EchoRequest r) -> Task<absl::StatusOr<EchoReply>> {
        co_return co_await echo.Say(std::move(r));
      }(*echo2, request));
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->text(), "to n2");
  // One channel per peer, shared.
  EXPECT_EQ(*(*cluster)->peers().Connect("n2"),
            *(*cluster)->peers().Connect("n2"));

  node2.RequestStop();
  ASSERT_THAT(node2.Wait(), IsOk());
  absl::StatusOr<EchoRef> gone = (*cluster)->peers().RefTo<EchoRef>("n2");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("n1="), std::string::npos)
      << gone.status();

  node1.RequestStop();
  ASSERT_THAT(node1.Wait(), IsOk());
  root_node.RequestStop();
  ASSERT_THAT(root_node.Wait(), IsOk());
}

TEST(ClusterTest, NodeListensWhereTheClusterListsIt) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  auto network = std::make_shared<LoopbackNetwork>(runtime);
  Factory root(runtime);
  root.Provide<Cluster>(std::make_unique<Cluster>(
      network, std::map<std::string, std::string>{{"n1", "listed-n1"}}));
  root.Bind<EchoDaemon, EchoImpl>();
  ASSERT_THAT(root.Get<Cluster>(), IsOk());
  Factory& n1 = root.Child("n1");
  Factory& n2 = root.Child("n2");
  ASSERT_THAT(n1.Get<EchoDaemon>(), IsOk());
  ASSERT_THAT(n2.Get<EchoDaemon>(), IsOk());
  Node node1(n1, {.network = network});
  Node node2(n2, {.listen_address = "chosen-n2", .network = network});
  ASSERT_THAT(node1.Start(), IsOk());
  ASSERT_THAT(node2.Start(), IsOk());
  EXPECT_EQ(node1.address(), "listed-n1");
  EXPECT_EQ(node2.address(), "chosen-n2");
}

TEST(ClusterTest, ParsesPeersAndNamesBadEntries) {
  EXPECT_THAT(Cluster::ParsePeers(""),
              ::anvil::testing::IsOkAndHolds(::testing::IsEmpty()));
  absl::StatusOr<std::map<std::string, std::string>> peers =
      Cluster::ParsePeers("n1=127.0.0.1:5001, n2=host:5002");
  ASSERT_THAT(peers, IsOk());
  EXPECT_EQ(*peers, (std::map<std::string, std::string>{
                        {"n1", "127.0.0.1:5001"}, {"n2", "host:5002"}}));

  absl::StatusOr<std::map<std::string, std::string>> bad =
      Cluster::ParsePeers("n1=a:1,n2");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'n2'"), std::string::npos)
      << bad.status();
  EXPECT_EQ(Cluster::ParsePeers("n1=a:1,n1=b:2").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClusterTest, FindLooksUpwardAndBuildsNothing) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  root.Bind<Cluster, Cluster>();
  Factory& child = root.Child("n1");
  EXPECT_EQ(Cluster::Find(child), nullptr);  // bound, not built
  absl::StatusOr<Cluster*> cluster = root.Get<Cluster>();
  ASSERT_THAT(cluster, IsOk());
  EXPECT_EQ(Cluster::Find(child), *cluster);
  EXPECT_EQ(Cluster::Find(root), *cluster);
}

}  // namespace
}  // namespace anvil
