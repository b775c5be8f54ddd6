#include "runtime/transport/network_flags.h"

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;

TEST(NetworkFromFlagsTest, WithoutTlsFlagsItIsTheBuildsDefault) {
  absl::FlagSaver restore;
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  absl::StatusOr<std::shared_ptr<Network>> network = NetworkFromFlags(runtime);
  ASSERT_THAT(network, IsOk());
  EXPECT_EQ((*network)->name(), DefaultNetworkName());
}

TEST(NetworkFromFlagsTest, IncompleteTlsFlagsAreRefused) {
  absl::FlagSaver restore;
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  absl::SetFlag(&FLAGS_anvil_tls_cert, "node.pem");
  absl::StatusOr<std::shared_ptr<Network>> network = NetworkFromFlags(runtime);
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument);
  if (DefaultNetworkName() == "grpc") {
    EXPECT_TRUE(
        absl::StrContains(network.status().message(), "--anvil_tls_key"))
        << network.status();
  }
}

TEST(NetworkFromFlagsTest, UnreadableCertificatesAreNamed) {
  if (DefaultNetworkName() != "grpc") GTEST_SKIP() << "TLS needs gRPC";
  absl::FlagSaver restore;
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  absl::SetFlag(&FLAGS_anvil_tls_cert, "/nonexistent/node.pem");
  absl::SetFlag(&FLAGS_anvil_tls_key, "/nonexistent/node.key");
  absl::SetFlag(&FLAGS_anvil_tls_ca, "/nonexistent/ca.pem");
  absl::StatusOr<std::shared_ptr<Network>> network = NetworkFromFlags(runtime);
  EXPECT_EQ(network.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      absl::StrContains(network.status().message(), "/nonexistent/ca.pem"))
      << network.status();
}

}  // namespace
}  // namespace anvil
