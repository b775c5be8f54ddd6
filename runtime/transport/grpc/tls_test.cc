// TLS and mutual TLS for exposed daemons, with certificates made by the
// openssl command at test time: a server over TLS answers clients that
// trust its CA and refuses plaintext and other CAs; with mutual TLS it also
// refuses clients without a certificate of its CA, and serves its CLUSTER
// daemons only to callers whose certificate names a node of its cluster.
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo.grpc.pb.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"
#include "testing/test_certificates.h"

namespace anvil::transport::testdata {
namespace {

using ::anvil::testing::IsOk;

std::string Path(const std::string& name) {
  return absl::StrCat(anvil::testing::TestDirectory(), "/", name);
}

std::string Read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = anvil::testing::TestDirectory();
    ASSERT_THAT(
        anvil::testing::MakeCertificates(dir, "ca", {"server", "client", "n2"}),
        IsOk());
    ASSERT_THAT(
        anvil::testing::MakeCertificates(dir, "rogue_ca", {"rogue_client"}),
        IsOk());
  }

  void StartNode(bool mutual) {
    runtime_ = std::make_unique<Runtime>(anvil::testing::TestRuntimeOptions());
    absl::StatusOr<GrpcNetworkOptions> tls =
        TlsFromFiles({.cert_chain = Path("server.pem"),
                      .private_key = Path("server.key"),
                      .root_certs = Path("ca.pem"),
                      .mutual = mutual});
    ASSERT_THAT(tls, IsOk());
    factory_ = std::make_unique<Factory>(*runtime_);
    factory_->Bind<EchoDaemon, EchoImpl>();
    ASSERT_THAT(factory_->Get<EchoDaemon>(), IsOk());
    node_ = std::make_unique<Node>(
        *factory_,
        NodeOptions{.network = std::make_shared<GrpcNetwork>(*runtime_, *tls)});
    ASSERT_THAT(node_->Start(), IsOk());
  }

  void TearDown() override {
    if (node_ != nullptr) {
      node_->RequestStop();
      EXPECT_THAT(node_->Wait(), IsOk());
    }
  }

  // Calls Say over `credentials`; returns the RPC's status.
  grpc::Status Say(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub =
        Echo::NewStub(grpc::CreateChannel(node_->address(), credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    EchoRequest request;
    request.set_text("secret");
    EchoReply reply;
    grpc::Status status = stub->Say(&context, request, &reply);
    if (status.ok()) EXPECT_EQ(reply.text(), "secret");
    return status;
  }

  // Client credentials trusting `ca`, presenting `name`'s certificate if
  // given.
  static std::shared_ptr<grpc::ChannelCredentials> Tls(
      const std::string& ca, const std::string& name = "") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(Path(ca + ".pem"));
    if (!name.empty()) {
      options.pem_private_key = Read(Path(name + ".key"));
      options.pem_cert_chain = Read(Path(name + ".pem"));
    }
    return grpc::SslCredentials(options);
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Factory> factory_;
  std::unique_ptr<Node> node_;
};

TEST_F(TlsTest, ServesClientsThatTrustItsCa) {
  StartNode(/*mutual=*/false);
  grpc::Status status = Say(Tls("ca"));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TlsTest, RefusesPlaintextAndOtherCas) {
  StartNode(/*mutual=*/false);
  EXPECT_EQ(Say(grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Say(Tls("rogue_ca")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateOfItsCa) {
  StartNode(/*mutual=*/true);
  EXPECT_NE(Say(Tls("ca")).error_code(), grpc::StatusCode::OK);
  EXPECT_NE(Say(Tls("ca", "rogue_client")).error_code(), grpc::StatusCode::OK);
  grpc::Status status = Say(Tls("ca", "client"));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TlsTest, AnvilClientsCallOverMutualTls) {
  StartNode(/*mutual=*/true);
  absl::StatusOr<GrpcNetworkOptions> client =
      TlsFromFiles({.cert_chain = Path("client.pem"),
                    .private_key = Path("client.key"),
                    .root_certs = Path("ca.pem"),
                    .mutual = true});
  ASSERT_THAT(client, IsOk());
  GrpcNetwork network(*runtime_, *client);
  EchoRef remote(network.Connect(node_->address()));
  EchoRequest request;
  request.set_text("typed and secret");
  absl::StatusOr<EchoReply> reply = anvil::testing::BlockOn(
      *runtime_,
      [](EchoRef echo, EchoRequest r) -> Task<absl::StatusOr<EchoReply>> {
        co_return co_await echo.Say(std::move(r));
      }(remote, request));
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->text(), "typed and secret");
}

// Node n1 of a cluster {n1, n2} over mutual TLS, serving Echo (PUBLIC)
// and EchoPeer (CLUSTER).
class ClusterTlsTest : public TlsTest {
 protected:
  void SetUp() override {
    runtime_ = std::make_unique<Runtime>(anvil::testing::TestRuntimeOptions());
    absl::StatusOr<GrpcNetworkOptions> tls = Mutual("server");
    ASSERT_THAT(tls, IsOk());
    auto network = std::make_shared<GrpcNetwork>(*runtime_, *tls);
    factory_ = std::make_unique<Factory>(*runtime_);
    factory_->Provide<Cluster>(std::make_unique<Cluster>(
        network, std::map<std::string, std::string>{{"n2", "127.0.0.1:1"}}));
    ASSERT_THAT(factory_->Get<Cluster>(), IsOk());
    Factory& n1 = factory_->Child("n1");
    n1.Bind<EchoDaemon, EchoImpl>();
    n1.Bind<EchoPeerDaemon, EchoPeerImpl>();
    ASSERT_THAT(n1.Get<EchoDaemon>(), IsOk());
    absl::StatusOr<EchoPeerDaemon*> peer = n1.Get<EchoPeerDaemon>();
    ASSERT_THAT(peer, IsOk());
    peer_ = static_cast<EchoPeerImpl*>(*peer);
    root_node_ = std::make_unique<Node>(*factory_);
    ASSERT_THAT(root_node_->Start(), IsOk());
    node_ = std::make_unique<Node>(n1, NodeOptions{.network = network});
    ASSERT_THAT(node_->Start(), IsOk());
  }

  void TearDown() override {
    TlsTest::TearDown();
    root_node_->RequestStop();
    EXPECT_THAT(root_node_->Wait(), IsOk());
  }

  static absl::StatusOr<GrpcNetworkOptions> Mutual(const std::string& name) {
    return TlsFromFiles({.cert_chain = Path(name + ".pem"),
                         .private_key = Path(name + ".key"),
                         .root_certs = Path("ca.pem"),
                         .mutual = true});
  }

  // Who, from a caller with `name`'s certificate that claims to be
  // `claimed`.
  absl::StatusOr<WhoReply> WhoAs(const std::string& name,
                                 const std::string& claimed) {
    absl::StatusOr<GrpcNetworkOptions> tls = Mutual(name);
    if (!tls.ok()) return tls.status();
    tls->node_name = claimed;
    GrpcNetwork network(*runtime_, *tls);
    return anvil::testing::BlockOn(
        *runtime_, [](EchoPeerRef peer) -> Task<absl::StatusOr<WhoReply>> {
          co_return co_await peer.Who(EchoRequest(), absl::Seconds(30));
        }(EchoPeerRef(network.Connect(node_->address()))));
  }

  std::unique_ptr<Node> root_node_;
  EchoPeerImpl* peer_ = nullptr;
};

TEST_F(ClusterTlsTest, ACertificateNamingAMemberCallsTheClusterService) {
  absl::StatusOr<WhoReply> who = WhoAs("n2", "n2");
  ASSERT_THAT(who, IsOk());
  EXPECT_THAT(who->verified_names(), ::testing::Contains("n2"));
  EXPECT_EQ(peer_->calls(), 1);
}

TEST_F(ClusterTlsTest, ACertificateOfTheCaForAnotherNameIsRefused) {
  // Signed by the cluster's CA, but for "client"; what it claims does not
  // count where certificates are verified.
  absl::StatusOr<WhoReply> who = WhoAs("client", "n2");
  EXPECT_EQ(who.status().code(), absl::StatusCode::kPermissionDenied)
      << who.status();
  EXPECT_NE(who.status().message().find("it proved to be client"),
            std::string::npos)
      << who.status();
  EXPECT_EQ(peer_->calls(), 0);
  // It is a fine client of the public service.
  EXPECT_TRUE(Say(Tls("ca", "client")).ok());
}

TEST(TlsFromFilesTest, ReportsUnreadableAndMissingFiles) {
  absl::StatusOr<GrpcNetworkOptions> missing =
      TlsFromFiles({.cert_chain = Path("nope.pem"),
                    .private_key = Path("nope.key"),
                    .root_certs = Path("nope-ca.pem")});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope-ca.pem"), std::string::npos)
      << missing.status();

  std::ofstream(Path("empty.pem")) << "";
  absl::StatusOr<GrpcNetworkOptions> empty =
      TlsFromFiles({.root_certs = Path("empty.pem")});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);

  std::ofstream(Path("ca-only.pem")) << "-----BEGIN CERTIFICATE-----\n";
  absl::StatusOr<GrpcNetworkOptions> mutual_without_cert =
      TlsFromFiles({.root_certs = Path("ca-only.pem"), .mutual = true});
  EXPECT_EQ(mutual_without_cert.status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace anvil::transport::testdata
