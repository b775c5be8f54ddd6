// An actor implementing a service of codegen/testdata/kv.proto through the
// generated base class, called through the generated typed client.
#include <map>
#include <memory>
#include <string>

#include "codegen/testdata/kv.anvil.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/sleep.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::codegen::testdata {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::StatusIs;

class MapPlain final : public PlainActor {
 public:
  Task<absl::StatusOr<ReadReply>> Ping(CallContext&,
                                       const ReadRequest& request) override {
    if (request.key() == "slow") co_await Sleep(absl::Seconds(30));
    auto it = values_.find(request.key());
    if (it == values_.end()) co_return absl::NotFoundError(request.key());
    ReadReply reply;
    reply.set_value(it->second);
    co_return reply;
  }
  std::map<std::string, std::string> values_ = {{"a", "alpha"}};
};

Task<absl::StatusOr<std::string>> ReadThrough(PlainRef plain, std::string key,
                                              absl::Duration timeout) {
  ReadRequest request;
  request.set_key(key);
  absl::StatusOr<ReadReply> reply =
      co_await plain.Ping(std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return reply->value();
}

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

TEST(GeneratedActor, ADefaultClientRefusesCalls) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  EXPECT_THAT(
      BlockOn(runtime, ReadThrough(PlainRef(), "a", absl::InfiniteDuration())),
      StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace anvil::codegen::testdata
