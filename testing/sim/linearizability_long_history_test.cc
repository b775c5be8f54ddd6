// The checker on histories as long as a long simulation records: no
// recursion, and a memo of 16 bytes per explored step.
#include <cstdint>

#include "gtest/gtest.h"
#include "testing/sim/linearizability.h"
#include "testing/sim/register_model.h"

namespace anvil::sim {
namespace {

// Alternating writes and reads of the value just written, by 7 clients,
// one at a time.
History<RegisterOp, RegisterOut> SequentialHistory(int operations) {
  History<RegisterOp, RegisterOut> h;
  for (int i = 0; i < operations; ++i) {
    const int64_t t = 10 * int64_t{i};
    const bool write = i % 2 == 0;
    const size_t id =
        h.Invoke(i % 7, {write ? RegisterOp::kWrite : RegisterOp::kRead, i}, t);
    h.Complete(id, write ? 0 : i - 1, t + 5);
  }
  return h;
}

TEST(LinearizabilityLongHistoryTest, AMillionSequentialOperationsCheck) {
  History<RegisterOp, RegisterOut> h = SequentialHistory(1'000'000);
  EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable);

  // The last read sees a value never written: found after placing every
  // operation before it, then undoing all of them.
  h.Complete(999'999, 3, 10 * int64_t{999'999} + 5);
  LinearizabilityResult result = CheckLinearizable(h, RegisterModel());
  EXPECT_FALSE(result.linearizable);
  EXPECT_EQ(result.longest_prefix.size(), 999'999u);
  EXPECT_EQ(result.stuck, 999'999u);
  EXPECT_EQ(result.candidates, std::vector<size_t>{999'999});
}

}  // namespace
}  // namespace anvil::sim
