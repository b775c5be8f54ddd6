#include "runtime/actor/internal/stream_state.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/actor/stream.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::internal {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::anvil::testing::TestRuntimeOptions;
using ::testing::ElementsAre;
using ::testing::Optional;

using IntStream = StreamState<int, int>;

Task<std::vector<int>> ReadAllReplies(std::shared_ptr<IntStream> stream) {
  std::vector<int> got;
  while (std::optional<int> reply = co_await stream->ReadReply()) {
    got.push_back(*reply);
  }
  co_return got;
}

Detached WriteReplies(std::shared_ptr<IntStream> stream, int count,
                      std::shared_ptr<std::atomic<int>> written) {
  for (int i = 0; i < count; ++i) {
    if (!(co_await stream->WriteReply(int{i})).ok()) co_return;
    written->fetch_add(1);
  }
  stream->Finish(absl::OkStatus());
}

TEST(Ring, GrowsAsItFillsAndKeepsItsOrder) {
  Ring<int> ring(/*capacity=*/10);
  int pushed = 0, popped = 0;
  for (int round = 0; round < 5; ++round) {  // wrap around as it grows
    while (!ring.full()) ring.Push(pushed++);
    EXPECT_EQ(ring.size(), 10u);
    for (int i = 0; i < 7; ++i) EXPECT_EQ(ring.Pop(), popped++);
  }
  while (!ring.empty()) EXPECT_EQ(ring.Pop(), popped++);
  EXPECT_EQ(popped, pushed);
}

TEST(StreamState, DeliversInOrderAcrossWorkersWithinTheWindow) {
  Runtime runtime(TestRuntimeOptions());
  auto stream = std::make_shared<IntStream>(/*window=*/4, INT64_MAX);
  auto written = std::make_shared<std::atomic<int>>(0);
  BlockOn(
      runtime,
      [](std::shared_ptr<IntStream> s,
         std::shared_ptr<std::atomic<int>> w) -> Task<> {
        WriteReplies(s, 1000, w).StartOn(*Worker::Current());
        co_return;
      }(stream, written),
      /*worker=*/0);
  std::vector<int> got = BlockOn(runtime, ReadAllReplies(stream), 1);
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], i);
  EXPECT_THAT(stream->end(), Optional(IsOk()));
  EXPECT_EQ(written->load(), 1000);
}

TEST(StreamState, AFullWindowHoldsTheWriterUntilTheReaderHalvesIt) {
  RuntimeOptions options = TestRuntimeOptions();
  options.manual_workers = true;
  options.threads = 1;
  Runtime runtime(options);
  auto stream = std::make_shared<IntStream>(/*window=*/4, INT64_MAX);
  auto written = std::make_shared<std::atomic<int>>(0);
  WriteReplies(stream, 10, written).StartOn(runtime.scheduler().worker(0));
  anvil::testing::StepUntilIdle(runtime);
  EXPECT_EQ(written->load(), 4);  // the window is full: the writer waits

  auto read_one = [](std::shared_ptr<IntStream> s,
                     std::vector<int>& got) -> Detached {
    if (std::optional<int> m = co_await s->ReadReply()) got.push_back(*m);
  };
  std::vector<int> got;
  read_one(stream, got).StartOn(runtime.scheduler().worker(0));
  anvil::testing::StepUntilIdle(runtime);
  EXPECT_EQ(written->load(), 4);  // 3 left: above half the window
  read_one(stream, got).StartOn(runtime.scheduler().worker(0));
  anvil::testing::StepUntilIdle(runtime);
  EXPECT_EQ(written->load(), 6);  // down to 2: the writer refilled it
  EXPECT_THAT(got, ElementsAre(0, 1));
  stream->Cancel(absl::CancelledError("done"));
  anvil::testing::StepUntilIdle(runtime);
}

TEST(StreamState, FinishDeliversWhatWasWrittenThenTheStatus) {
  Runtime runtime(TestRuntimeOptions());
  auto stream = std::make_shared<IntStream>(8, INT64_MAX);
  BlockOn(runtime, [](std::shared_ptr<IntStream> s) -> Task<> {
    EXPECT_THAT(co_await s->WriteReply(1), IsOk());
    EXPECT_THAT(co_await s->WriteReply(2), IsOk());
    s->Finish(absl::NotFoundError("no more"));
    EXPECT_THAT(co_await s->WriteReply(3),
                StatusIs(absl::StatusCode::kNotFound));
  }(stream));
  EXPECT_THAT(BlockOn(runtime, ReadAllReplies(stream)), ElementsAre(1, 2));
  EXPECT_THAT(*stream->end(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(stream->cancellation().cancelled());  // finished, not cancelled
}

TEST(StreamState, CancelDropsBothLanesAndCancelsTheServersContext) {
  Runtime runtime(TestRuntimeOptions());
  auto stream = std::make_shared<IntStream>(8, INT64_MAX);
  BlockOn(runtime, [](std::shared_ptr<IntStream> s) -> Task<> {
    EXPECT_THAT(co_await s->WriteReply(1), IsOk());
    EXPECT_THAT(co_await s->WriteRequest(7), IsOk());
    co_return;
  }(stream));
  stream->Cancel(absl::CancelledError("the client went away"));
  EXPECT_TRUE(stream->cancellation().cancelled());
  EXPECT_THAT(BlockOn(runtime, ReadAllReplies(stream)), ElementsAre());
  BlockOn(runtime, [](std::shared_ptr<IntStream> s) -> Task<> {
    EXPECT_EQ(co_await s->ReadRequest(), std::nullopt);
    EXPECT_THAT(co_await s->WriteRequest(8),
                StatusIs(absl::StatusCode::kCancelled));
  }(stream));
}

TEST(StreamState, WritesDoneEndsTheServersReadsAndRefusesMoreWrites) {
  Runtime runtime(TestRuntimeOptions());
  auto stream = std::make_shared<IntStream>(8, INT64_MAX);
  BlockOn(runtime, [](std::shared_ptr<IntStream> s) -> Task<> {
    EXPECT_THAT(co_await s->WriteRequest(5), IsOk());
    s->CloseRequests();
    EXPECT_THAT(co_await s->WriteRequest(6),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_EQ(co_await s->ReadRequest(), std::optional<int>(5));
    EXPECT_EQ(co_await s->ReadRequest(), std::nullopt);
    EXPECT_FALSE(s->end().has_value());  // half-closed, still running
    EXPECT_THAT(co_await s->WriteReply(9), IsOk());
  }(stream));
}

TEST(StreamState, AWaitingReaderEndsAtTheDeadline) {
  Runtime runtime(TestRuntimeOptions());
  auto stream = std::make_shared<IntStream>(
      8, Clock::DeadlineAfter(absl::Milliseconds(20)));
  EXPECT_THAT(BlockOn(runtime, ReadAllReplies(stream)), ElementsAre());
  EXPECT_THAT(*stream->end(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(stream->cancellation().cancelled());
}

TEST(StreamState, DroppingAClientHandleCancelsTheStream) {
  auto stream = std::make_shared<IntStream>(8, INT64_MAX);
  { ClientReader<int> reader(stream); }
  ASSERT_TRUE(stream->end().has_value());
  EXPECT_THAT(*stream->end(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(stream->cancellation().cancelled());
}

TEST(StreamState, AFinishedClientHandleCancelsNothing) {
  Runtime runtime(TestRuntimeOptions());
  auto stream = std::make_shared<IntStream>(8, INT64_MAX);
  stream->Finish(absl::OkStatus());
  {
    ClientReader<int> reader(stream);
    EXPECT_THAT(BlockOn(runtime, reader.Finish()), IsOk());
  }
  EXPECT_THAT(*stream->end(), IsOk());
  EXPECT_FALSE(stream->cancellation().cancelled());
}

}  // namespace
}  // namespace anvil::internal
