#include "testing/sim/linearizability.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "testing/sim/register_model.h"

namespace anvil::sim {
namespace {

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

TEST(LinearizabilityTest, FailureNamesTheStuckOperationFirst) {
  RegisterHistory h;
  Add(h, 1, {RegisterOp::kWrite, 1}, 0, 0, 10);
  Add(h, 2, {RegisterOp::kRead}, 20, 1, 30);
  Add(h, 3, {RegisterOp::kRead}, 40, 0, 50);      // stale
  Add(h, 1, {RegisterOp::kWrite, 2}, 45, 0, 60);  // overlaps the stale read
  LinearizabilityResult result = CheckLinearizable(h, RegisterModel());
  ASSERT_FALSE(result.linearizable);
  // Write(2) may still follow the first read; then the stale read cannot.
  EXPECT_EQ(result.longest_prefix, (std::vector<size_t>{0, 1, 3}));
  EXPECT_EQ(result.stuck, 2u);
  EXPECT_EQ(result.candidates, (std::vector<size_t>{2}));
  EXPECT_TRUE(absl::StartsWith(result.explanation,
                               "not linearizable: client 3 Read() -> 0 "
                               "[40ns, 50ns] cannot be placed"))
      << result.explanation;
  EXPECT_TRUE(absl::StrContains(result.explanation, "client 1 Write(2)"))
      << result.explanation;
}

TEST(LinearizabilityTest, LongContextIsCutShort) {
  RegisterHistory h;
  for (int i = 0; i < 100; ++i) {
    Add(h, 1, {RegisterOp::kWrite, i}, 10 * i, 0, 10 * i + 5);
  }
  Add(h, 2, {RegisterOp::kRead}, 2000, 5, 2005);
  LinearizabilityResult result = CheckLinearizable(h, RegisterModel());
  ASSERT_FALSE(result.linearizable);
  EXPECT_EQ(result.longest_prefix.size(), 100u);
  EXPECT_TRUE(absl::StrContains(result.explanation, "... 90 before"))
      << result.explanation;
  EXPECT_TRUE(absl::StrContains(result.explanation, "Write(99)"));
  EXPECT_FALSE(absl::StrContains(result.explanation, "Write(89)"));
}

TEST(LinearizabilityTest, HistoryCompletingBeforeItsInvocationIsRejected) {
  RegisterHistory h;
  Add(h, 1, {RegisterOp::kWrite, 1}, 50, 0, 10);
  LinearizabilityResult result = CheckLinearizable(h, RegisterModel());
  EXPECT_FALSE(result.linearizable);
  EXPECT_TRUE(absl::StartsWith(result.explanation,
                               "invalid history: operation 0, client 1 "
                               "Write(1) [50ns, 10ns], completes before"))
      << result.explanation;
}

TEST(LinearizabilityTest, AnUnfinishedOperationTheModelRefusesIsLeftOut) {
  // Operations that never completed, which this model will not place
  // anywhere: left out, and the rest still checks.
  Model<int, RegisterOp, RegisterOut> strict = RegisterModel();
  strict.step =
      [base = RegisterModel()](
          const int& state, const RegisterOp& op,
          const std::optional<RegisterOut>& out) -> std::optional<int> {
    if (!out.has_value()) return std::nullopt;  // refuses every unfinished one
    return base.step(state, op, out);
  };
  RegisterHistory h;
  Add(h, 1, {RegisterOp::kWrite, 1}, 0, 0, 10);
  Add(h, 2, {RegisterOp::kCas, 9, 5}, 5, std::nullopt, 0);  // invoked early
  Add(h, 3, {RegisterOp::kRead}, 20, 1, 30);
  Add(h, 4, {RegisterOp::kRead}, 40, std::nullopt, 0);  // invoked last
  EXPECT_TRUE(CheckLinearizable(h, strict).linearizable);
}

TEST(LinearizabilityTest, EmptyAndUnfinishedOnlyHistoriesAreLinearizable) {
  RegisterHistory h;
  EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable);
  Add(h, 1, {RegisterOp::kRead}, 0, std::nullopt, 0);
  Add(h, 2, {RegisterOp::kWrite, 3}, 0, std::nullopt, 0);
  EXPECT_TRUE(CheckLinearizable(h, RegisterModel()).linearizable);
}

// 200 keys, each with a few overlapping writes and reads; `stale_keys` get
// a read of a value overwritten before it began.
History<KeyedRegisterOp, RegisterOut> KeyedHistory(
    const std::vector<int>& stale_keys) {
  History<KeyedRegisterOp, RegisterOut> h;
  for (int k = 0; k < 200; ++k) {
    const std::string key = absl::StrCat("k", 1000 + k);
    const int64_t t = k;  // keys interleave in time
    auto add = [&](int client, RegisterOp op, int64_t invoke, int out,
                   int64_t complete) {
      h.Complete(h.Invoke(client, {key, op}, invoke), out, complete);
    };
    add(1, {RegisterOp::kWrite, 1}, t, 0, t + 300);
    add(2, {RegisterOp::kRead}, t + 100, 0, t + 400);
    add(3, {RegisterOp::kWrite, 2}, t + 500, 0, t + 600);
    const bool stale =
        std::find(stale_keys.begin(), stale_keys.end(), k) != stale_keys.end();
    add(2, {RegisterOp::kRead}, t + 700, stale ? 1 : 2, t + 800);
  }
  return h;
}

TEST(LinearizabilityTest, KeysAreCheckedApartAndTheFirstFailingOneNamed) {
  EXPECT_TRUE(
      CheckLinearizable(KeyedHistory({}), KeyedRegisterModel()).linearizable);
  LinearizabilityResult result =
      CheckLinearizable(KeyedHistory({150, 7, 99}), KeyedRegisterModel());
  ASSERT_FALSE(result.linearizable);
  EXPECT_EQ(result.partition, "k1007");
  EXPECT_EQ(result.stuck, 7u * 4 + 3);  // the stale read, in history order
  EXPECT_TRUE(absl::StartsWith(result.explanation,
                               "not linearizable (key \"k1007\"): client 2 "
                               "k1007.Read() -> 1"))
      << result.explanation;
}

TEST(LinearizabilityTest, KeysCheckedInParallelGiveTheSameVerdict) {
  Runtime runtime(RuntimeOptions{.threads = 2});
  const LinearizabilityOptions parallel{.runtime = &runtime};
  EXPECT_TRUE(
      CheckLinearizable(KeyedHistory({}), KeyedRegisterModel(), parallel)
          .linearizable);
  for (const std::vector<int>& stale :
       {std::vector<int>{199}, {0}, {3, 150}, {120, 60, 61}}) {
    LinearizabilityResult sequential =
        CheckLinearizable(KeyedHistory(stale), KeyedRegisterModel());
    LinearizabilityResult result =
        CheckLinearizable(KeyedHistory(stale), KeyedRegisterModel(), parallel);
    ASSERT_FALSE(result.linearizable);
    EXPECT_EQ(result.partition, sequential.partition);
    EXPECT_EQ(result.explanation, sequential.explanation);
    EXPECT_EQ(result.longest_prefix, sequential.longest_prefix);
  }
}

TEST(LinearizabilityTest, AHardKeyDoesNotHideAnEasyFailure) {
  History<KeyedRegisterOp, RegisterOut> h;
  // Key "a": 40 overlapping writes, then a read of a value none wrote. Not
  // linearizable, but proving it means trying every order of the writes.
  for (int i = 0; i < 40; ++i) {
    h.Complete(h.Invoke(i, {"a", {RegisterOp::kWrite, i + 1}}, i), 0, 100 + i);
  }
  h.Complete(h.Invoke(0, {"a", {RegisterOp::kRead}}, 200), 999, 210);
  // Key "b": a stale read.
  h.Complete(h.Invoke(1, {"b", {RegisterOp::kWrite, 1}}, 0), 0, 10);
  h.Complete(h.Invoke(2, {"b", {RegisterOp::kRead}}, 20), 0, 30);
  LinearizabilityResult result = CheckLinearizable(h, KeyedRegisterModel());
  ASSERT_FALSE(result.linearizable);
  EXPECT_EQ(result.partition, "b");
  EXPECT_EQ(result.stuck, 42u);
}

}  // namespace
}  // namespace anvil::sim
