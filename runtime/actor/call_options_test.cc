#include "runtime/actor/call_options.h"

#include <cstdint>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/actor/call_context.h"
#include "runtime/core/clock.h"

namespace anvil {
namespace {

constexpr absl::Duration kNone = absl::InfiniteDuration();

TEST(CallOptionsTest, TheMethodsDefaultAppliesUnlessATimeoutIsGiven) {
  EXPECT_EQ(CallOptions().DeadlineFor(kNone), INT64_MAX);
  const int64_t before = Clock::MonotonicNanos();
  const int64_t by_default = CallOptions().DeadlineFor(absl::Seconds(5));
  const int64_t given =
      CallOptions(absl::Seconds(60)).DeadlineFor(absl::Seconds(5));
  const int64_t after = Clock::MonotonicNanos();
  EXPECT_GE(by_default, before + 5'000'000'000);
  EXPECT_LE(by_default, after + 5'000'000'000);
  EXPECT_GE(given, before + 60'000'000'000);
  EXPECT_LE(given, after + 60'000'000'000);
  // A timeout of "none" lifts the method's default.
  EXPECT_EQ(CallOptions(kNone).DeadlineFor(absl::Seconds(5)), INT64_MAX);
}

TEST(CallOptionsTest, ACallWithinAnotherEndsNoLaterThanIt) {
  const CallContext serving(/*deadline=*/1234);
  EXPECT_EQ(CallOptions(serving).DeadlineFor(kNone), 1234);
  EXPECT_EQ(CallOptions(serving).DeadlineFor(absl::Seconds(5)), 1234);
  EXPECT_EQ(CallOptions(serving).Timeout(absl::Hours(1)).DeadlineFor(kNone),
            1234);
  // A serving call without a deadline bounds nothing.
  EXPECT_EQ(CallOptions(CallContext()).DeadlineFor(kNone), INT64_MAX);
}

TEST(CallOptionsTest, UntilIsAbsoluteAndLiftsTheDefault) {
  EXPECT_EQ(CallOptions::Until(99).DeadlineFor(absl::Seconds(5)), 99);
  EXPECT_EQ(CallOptions::Until(INT64_MAX).DeadlineFor(absl::Seconds(5)),
            INT64_MAX);
  // Timeout bounds it further.
  const int64_t far = INT64_MAX - 1;
  const int64_t bounded =
      CallOptions::Until(far).Timeout(absl::Seconds(1)).DeadlineFor(kNone);
  EXPECT_LT(bounded, far);
}

}  // namespace
}  // namespace anvil
