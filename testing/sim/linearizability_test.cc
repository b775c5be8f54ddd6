#include "testing/sim/linearizability.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace anvil::sim {
namespace {

// A register holding an int: Write(v), Read() -> v, and CompareAndSet.
struct RegisterOp {
  enum Kind { kWrite, kRead, kCas } kind;
  int value = 0;     // written, or CAS's new value
  int expected = 0;  // CAS's expected value
};
// Read's value, or CAS's success (1/0); Write returns 0.
using RegisterOut = int;

Model<int, RegisterOp, RegisterOut> RegisterModel() {
  return {
      .initial = 0,
      .step = [](const int& state, const RegisterOp& op,
                 const std::optional<RegisterOut>& out) -> std::optional<int> {
        switch (op.kind) {
          case RegisterOp::kWrite:
            return op.value;
          case RegisterOp::kRead:
            if (out.has_value() && *out != state) return std::nullopt;
            return state;
          case RegisterOp::kCas: {
            const bool swapped = state == op.expected;
            if (out.has_value() && *out != (swapped ? 1 : 0)) {
              return std::nullopt;
            }
            return swapped ? op.value : state;
          }
        }
        return std::nullopt;
      },
      .describe = [](const RegisterOp& op,
                     const std::optional<RegisterOut>& out) -> std::string {
        const std::string result =
            out.has_value() ? absl::StrCat(*out) : std::string("?");
        switch (op.kind) {
          case RegisterOp::kWrite:
            return absl::StrCat("Write(", op.value, ")");
          case RegisterOp::kRead:
            return absl::StrCat("Read() -> ", result);
          case RegisterOp::kCas:
            return absl::StrCat("Cas(", op.expected, ", ", op.value, ") -> ",
                                result);
        }
        return "";
      }};
}

using RegisterHistory = History<RegisterOp, RegisterOut>;

void Add(RegisterHistory& h, int client, RegisterOp op, int64_t invoke,
         std::optional<RegisterOut> out, int64_t complete) {
  const size_t id = h.Invoke(client, op, invoke);
  if (out.has_value()) h.Complete(id, *out, complete);
}

TEST(LinearizabilityTest, SequentialHistoryIsLinearizable) {
  RegisterHistory h;
  Add(h, 1, {RegisterOp::kWrite, 1}, 0, 0, 10);
  Add(h, 2, {RegisterOp::kRead}, 20, 1, 30);
  Add(h, 1, {RegisterOp::kCas, 2, 1}, 40, 1, 50);
  Add(h, 2, {RegisterOp::kRead}, 60, 2, 70);
  EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable);
}

TEST(LinearizabilityTest, ConcurrentOperationsMayTakeEitherOrder) {
  RegisterHistory h;
  // The read overlaps the write: it may see the old or the new value.
  Add(h, 1, {RegisterOp::kWrite, 7}, 0, 0, 100);
  Add(h, 2, {RegisterOp::kRead}, 10, 0, 20);
  Add(h, 3, {RegisterOp::kRead}, 30, 7, 40);
  EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable);
}

TEST(LinearizabilityTest, StaleReadIsCaughtAndExplained) {
  RegisterHistory h;
  Add(h, 1, {RegisterOp::kWrite, 1}, 0, 0, 10);
  Add(h, 2, {RegisterOp::kRead}, 20, 1, 30);
  // After a read saw 1, another read (strictly later) sees 0: stale.
  Add(h, 3, {RegisterOp::kRead}, 40, 0, 50);
  LinearizabilityResult result = CheckLinearizable(h, RegisterModel());
  EXPECT_FALSE(result.linearizable);
  EXPECT_TRUE(absl::StrContains(result.explanation, "places 2 of 3"))
      << result.explanation;
  EXPECT_TRUE(absl::StrContains(result.explanation, "client 3 Read() -> 0"))
      << result.explanation;
}

TEST(LinearizabilityTest, UnfinishedOperationMayOrMayNotHaveHappened) {
  // A write that timed out: later reads may see it, or not.
  for (int seen : {0, 9}) {
    RegisterHistory h;
    Add(h, 1, {RegisterOp::kWrite, 9}, 0, std::nullopt, 0);
    Add(h, 2, {RegisterOp::kRead}, 50, seen, 60);
    EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable) << seen;
  }
  // But not flip-flop: 9, then 0 again.
  RegisterHistory h;
  Add(h, 1, {RegisterOp::kWrite, 9}, 0, std::nullopt, 0);
  Add(h, 2, {RegisterOp::kRead}, 50, 9, 60);
  Add(h, 2, {RegisterOp::kRead}, 70, 0, 80);
  EXPECT_FALSE(CheckLinearizable(h, RegisterModel()).linearizable);
}

TEST(LinearizabilityTest, LostCompareAndSetIsCaught) {
  RegisterHistory h;
  // Two clients CAS 0 -> x concurrently and both report success: only one
  // can have won.
  Add(h, 1, {RegisterOp::kCas, 1, 0}, 0, 1, 100);
  Add(h, 2, {RegisterOp::kCas, 2, 0}, 10, 1, 90);
  EXPECT_FALSE(CheckLinearizable(h, RegisterModel()).linearizable);
}

TEST(LinearizabilityTest, ManyConcurrentOperationsCheckQuickly) {
  // 8 clients, 25 rounds of overlapping increments-by-CAS that all
  // succeed in some order: memoization keeps this small.
  RegisterHistory h;
  int value = 0;
  int64_t t = 0;
  for (int round = 0; round < 25; ++round) {
    for (int client = 0; client < 8; ++client) {
      // Each round: the clients' reads all overlap; then one write.
      Add(h, client, {RegisterOp::kRead}, t + client, value, t + 100);
    }
    Add(h, round % 8, {RegisterOp::kWrite, value + 1}, t + 200, 0, t + 300);
    ++value;
    t += 1000;
  }
  EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable);
}

}  // namespace
}  // namespace anvil::sim
