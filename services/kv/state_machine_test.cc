#include "services/kv/state_machine.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace anvil::kv {
namespace {

using ::anvil::testing::IsOk;
using ::testing::HasSubstr;

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

// `command` sent in `client`'s session as its request `sequence`.
Command InSession(Command command, uint64_t client, uint64_t sequence) {
  ClientSession session;
  session.set_client_id(client);
  session.set_sequence(sequence);
  switch (command.op_case()) {
    case Command::kPut:
      *command.mutable_put()->mutable_session() = session;
      break;
    case Command::kDelete:
      *command.mutable_delete_()->mutable_session() = session;
      break;
    case Command::kCompareAndSet:
      *command.mutable_compare_and_set()->mutable_session() = session;
      break;
    case Command::OP_NOT_SET:
      break;
  }
  return command;
}

TEST(KvStateMachineTest,
     ARepeatedSessionRequestAppliesOnceAndGetsTheSameResult) {
  KvStateMachine kv;
  ASSERT_THAT(kv.Apply(1, InSession(Put("k", "mine"), 7, 1)), IsOk());
  ASSERT_THAT(kv.Apply(2, Put("k", "theirs")), IsOk());
  // The retry of request 1, committed after another client's write: the
  // first application's result, and no change.
  absl::StatusOr<CommandResult> repeat =
      kv.Apply(3, InSession(Put("k", "mine"), 7, 1));
  ASSERT_THAT(repeat, IsOk());
  EXPECT_EQ(repeat->put().version(), 1u);
  EXPECT_EQ(kv.Get("k").value(), "theirs");
  EXPECT_EQ(kv.applied_index(), 3u);

  // A Delete delivered twice reports the first outcome both times.
  ASSERT_THAT(kv.Apply(4, InSession(Delete("k"), 7, 2)), IsOk());
  absl::StatusOr<CommandResult> again =
      kv.Apply(5, InSession(Delete("k"), 7, 2));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->delete_().existed());

  // A stale copy of request 1, after request 2: refused, nothing changes.
  ASSERT_THAT(kv.Apply(6, Put("k", "new")), IsOk());
  EXPECT_THAT(
      kv.Apply(7, InSession(Put("k", "mine"), 7, 1)),
      ::anvil::testing::StatusIs(absl::StatusCode::kAborted,
                                 HasSubstr("arrived after its request 2")));
  EXPECT_EQ(kv.Get("k").value(), "new");
  EXPECT_EQ(kv.applied_index(), 7u);

  // Without a session, a repeat applies again.
  ASSERT_THAT(kv.Apply(8, Put("k", "mine")), IsOk());
  ASSERT_THAT(kv.Apply(9, Put("k", "mine")), IsOk());
  EXPECT_EQ(kv.Get("k").version(), 9u);
}

TEST(KvStateMachineTest, SessionsBeyondTheLimitAreForgottenLeastRecentFirst) {
  KvStateMachine kv(KvStateMachine::kDefaultHistory,
                    KvStateMachine::kDefaultHistoryBytes, /*sessions=*/2);
  ASSERT_THAT(kv.Apply(1, InSession(Put("a", "1"), 1, 1)), IsOk());
  ASSERT_THAT(kv.Apply(2, InSession(Put("b", "1"), 2, 1)), IsOk());
  ASSERT_THAT(kv.Apply(3, InSession(Put("a", "2"), 1, 2)), IsOk());  // 1 used
  ASSERT_THAT(kv.Apply(4, InSession(Put("c", "1"), 3, 1)), IsOk());  // 2 goes
  EXPECT_EQ(kv.sessions(), 2u);
  // Client 1 is remembered: its repeat changes nothing.
  ASSERT_THAT(kv.Apply(5, InSession(Put("a", "2"), 1, 2)), IsOk());
  EXPECT_EQ(kv.Get("a").version(), 3u);
  // Client 2 was forgotten: its late repeat applies again (documented).
  ASSERT_THAT(kv.Apply(6, InSession(Put("b", "1"), 2, 1)), IsOk());
  EXPECT_EQ(kv.Get("b").version(), 6u);
}

}  // namespace
}  // namespace anvil::kv
