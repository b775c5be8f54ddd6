#include "services/kv/state_machine.h"

#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace anvil::kv {
namespace {

using ::anvil::testing::IsOk;

Command Put(const std::string& key, const std::string& value) {
  Command c;
  c.mutable_put()->set_key(key);
  c.mutable_put()->set_value(value);
  return c;
}

Command Delete(const std::string& key) {
  Command c;
  c.mutable_delete_()->set_key(key);
  return c;
}

Command Cas(const std::string& key, const std::string& expected,
            const std::string& value, bool expect_absent = false) {
  Command c;
  c.mutable_compare_and_set()->set_key(key);
  c.mutable_compare_and_set()->set_expected(expected);
  c.mutable_compare_and_set()->set_expect_absent(expect_absent);
  c.mutable_compare_and_set()->set_value(value);
  return c;
}

TEST(KvStateMachineTest, PutGetDeleteWithVersionsFromTheLog) {
  KvStateMachine kv;
  EXPECT_FALSE(kv.Get("k").found());
  absl::StatusOr<CommandResult> put = kv.Apply(1, Put("k", "v1"));
  ASSERT_THAT(put, IsOk());
  EXPECT_EQ(put->put().version(), 1u);
  ASSERT_THAT(kv.Apply(4, Put("k", "v2")), IsOk());
  EXPECT_EQ(kv.Get("k").value(), "v2");
  EXPECT_EQ(kv.Get("k").version(), 4u);
  absl::StatusOr<CommandResult> deleted = kv.Apply(5, Delete("k"));
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(deleted->delete_().existed());
  EXPECT_FALSE(kv.Get("k").found());
  absl::StatusOr<CommandResult> again = kv.Apply(6, Delete("k"));
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->delete_().existed());
  EXPECT_EQ(kv.applied_index(), 6u);
}

TEST(KvStateMachineTest, CompareAndSetSwapsOnlyOnAMatch) {
  KvStateMachine kv;
  absl::StatusOr<CommandResult> create =
      kv.Apply(1, Cas("k", "", "first", /*expect_absent=*/true));
  ASSERT_THAT(create, IsOk());
  EXPECT_TRUE(create->compare_and_set().swapped());
  absl::StatusOr<CommandResult> lost =
      kv.Apply(2, Cas("k", "", "second", /*expect_absent=*/true));
  ASSERT_THAT(lost, IsOk());
  EXPECT_FALSE(lost->compare_and_set().swapped());
  EXPECT_EQ(lost->compare_and_set().current(), "first");
  EXPECT_EQ(lost->compare_and_set().version(), 1u);
  absl::StatusOr<CommandResult> swapped =
      kv.Apply(3, Cas("k", "first", "third"));
  ASSERT_THAT(swapped, IsOk());
  EXPECT_TRUE(swapped->compare_and_set().swapped());
  EXPECT_EQ(kv.Get("k").value(), "third");
  absl::StatusOr<CommandResult> missing = kv.Apply(4, Cas("none", "x", "y"));
  ASSERT_THAT(missing, IsOk());
  EXPECT_FALSE(missing->compare_and_set().swapped());
  EXPECT_FALSE(missing->compare_and_set().found());
}

TEST(KvStateMachineTest, RefusesEmptyCommandsAndOldIndexesWithoutChange) {
  KvStateMachine kv;
  ASSERT_THAT(kv.Apply(3, Put("k", "v")), IsOk());
  EXPECT_EQ(kv.Apply(3, Put("k", "w")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.Apply(2, Put("k", "w")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.Apply(4, Command()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.Get("k").value(), "v");
  EXPECT_EQ(kv.applied_index(), 3u);
}

}  // namespace
}  // namespace anvil::kv
