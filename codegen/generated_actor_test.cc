// An actor implementing a service of codegen/testdata/kv.proto through the
// generated base class, called through the generated typed client.
#include <memory>
#include <string>

#include "codegen/testdata/kv.anvil.h"
#include "codegen/testdata/map_plain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::codegen::testdata {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::StatusIs;

TEST(GeneratedActor, ServesCallsThroughTheTypedClient) {
  RuntimeOptions options = anvil::testing::TestRuntimeOptions();
  options.shutdown_timeout = absl::Milliseconds(100);
  Runtime runtime(options);
  PlainRef storage = PlainActor::Spawn(runtime, std::make_shared<MapPlain>(),
                                       ActorOptions{.name = "storage"});
  EXPECT_EQ(
      *BlockOn(runtime, ReadThrough(storage, "a", absl::InfiniteDuration())),
      "alpha");
  EXPECT_THAT(
      BlockOn(runtime, ReadThrough(storage, "b", absl::InfiniteDuration())),
      StatusIs(absl::StatusCode::kNotFound, "b"));
  EXPECT_THAT(
      BlockOn(runtime, ReadThrough(storage, "slow", absl::Milliseconds(5))),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(GeneratedActor, AMethodThatThrowsCancelsItsCallAndFailsTheActor) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  PlainRef storage = PlainActor::Spawn(runtime, std::make_shared<MapPlain>(),
                                       ActorOptions{.name = "storage"});
  EXPECT_THAT(
      BlockOn(runtime, ReadThrough(storage, "throw", absl::InfiniteDuration())),
      StatusIs(absl::StatusCode::kCancelled));
  auto join = [](ActorWatch actor) -> Task<absl::Status> {
    co_return co_await actor.Join();
  };
  EXPECT_THAT(BlockOn(runtime, join(storage.actor().Watch())),
              StatusIs(absl::StatusCode::kInternal,
                       ::testing::HasSubstr("thrown by Ping")));
  EXPECT_THAT(
      BlockOn(runtime, ReadThrough(storage, "a", absl::InfiniteDuration())),
      StatusIs(absl::StatusCode::kUnavailable));
}

TEST(GeneratedActor, ADefaultClientRefusesCalls) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  EXPECT_THAT(
      BlockOn(runtime, ReadThrough(PlainRef(), "a", absl::InfiniteDuration())),
      StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace anvil::codegen::testdata
