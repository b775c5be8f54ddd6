#include "runtime/transport/network_flags.h"

#include <functional>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

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

TEST(NetworkFromFlagsTest, LimitsReachTheNetwork) {
  absl::FlagSaver restore;
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  absl::SetFlag(&FLAGS_anvil_max_message_bytes, 64 << 10);
  absl::StatusOr<std::shared_ptr<Network>> network = NetworkFromFlags(runtime);
  ASSERT_THAT(network, IsOk());
  EXPECT_EQ((*network)->max_message_bytes(), 64u << 10);
}

TEST(NetworkFromFlagsTest, LimitsOutOfRangeAreRefusedByFlagName) {
  struct Case {
    std::function<void()> set;
    const char* flag;
  };
  const Case cases[] = {
      {[] { absl::SetFlag(&FLAGS_anvil_max_message_bytes, 0); },
       "--anvil_max_message_bytes is 0"},
      {[] { absl::SetFlag(&FLAGS_anvil_max_message_bytes, int64_t{1} << 33); },
       "--anvil_max_message_bytes"},
      {[] { absl::SetFlag(&FLAGS_anvil_max_calls_per_connection, 0); },
       "--anvil_max_calls_per_connection is 0"},
      {[] { absl::SetFlag(&FLAGS_anvil_keepalive_time, absl::ZeroDuration()); },
       "--anvil_keepalive_time is 0"},
      {[] {
         absl::SetFlag(&FLAGS_anvil_keepalive_timeout,
                       absl::InfiniteDuration());
       },
       "--anvil_keepalive_timeout is inf"},
  };
  for (const Case& c : cases) {
    absl::FlagSaver restore;
    Runtime runtime(anvil::testing::TestRuntimeOptions());
    c.set();
    absl::StatusOr<std::shared_ptr<Network>> network =
        NetworkFromFlags(runtime);
    EXPECT_THAT(network, StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr(c.flag)));
  }
  // Off is allowed.
  absl::FlagSaver restore;
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  absl::SetFlag(&FLAGS_anvil_keepalive_time, absl::InfiniteDuration());
  EXPECT_THAT(NetworkFromFlags(runtime), IsOk());
}

}  // namespace
}  // namespace anvil
