// The checker's verdicts on porcupine's test data equal porcupine's (its
// porcupine_test.go lists them); and the parsers reject what they cannot
// read.
#include "testing/sim/porcupine_histories.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/sim/linearizability.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PorcupineHistoriesTest, EtcdVerdictsMatchPorcupines) {
  absl::StatusOr<std::vector<PorcupineLog<EtcdOp, EtcdOutput>>> logs =
      ReadPorcupineEtcdLogs();
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->size(), 102u);
  for (const auto& log : *logs) {
    ASSERT_FALSE(log.operations.empty()) << log.name;
    LinearizabilityResult result =
        CheckLinearizable(log.operations, EtcdModel());
    EXPECT_EQ(result.linearizable, log.linearizable)
        << log.name << ": " << result.explanation;
    if (!result.linearizable) {
      EXPECT_THAT(result.explanation, HasSubstr("cannot be placed"))
          << log.name;
    }
  }
}

TEST(PorcupineHistoriesTest, KvVerdictsMatchPorcupines) {
  absl::StatusOr<std::vector<PorcupineLog<KvLogOp, std::string>>> logs =
      ReadPorcupineKvLogs();
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->size(), 6u);
  for (const auto& log : *logs) {
    LinearizabilityResult result =
        CheckLinearizable(log.operations, KvLogModel());
    EXPECT_EQ(result.linearizable, log.linearizable)
        << log.name << ": " << result.explanation;
    if (!log.linearizable) {
      EXPECT_THAT(result.explanation, HasSubstr("(key \"")) << log.name;
    }
  }
}

TEST(PorcupineHistoriesTest, EtcdLogEventsBecomeOperations) {
  absl::StatusOr<std::vector<Operation<EtcdOp, EtcdOutput>>> history =
      ParseJepsenEtcdLog(
          "INFO  jepsen.util - 0\t:invoke\t:write\t4\n"
          "INFO  jepsen.util - 1\t:invoke\t:cas\t[4 2]\n"
          "INFO  jepsen.util - 2\t:invoke\t:read\tnil\n"
          "INFO  jepsen.util - 0\t:ok\t:write\t4\n"
          "INFO  jepsen.util - 1\t:fail\t:cas\t[4 2]\n"
          "INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n"
          "INFO  jepsen.util - 3\t:invoke\t:write\t1\n"
          "INFO  jepsen.util - 3\t:info\t:write\t1\n");
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[0].complete, 3);
  EXPECT_EQ((*history)[1].input.to, 2);
  ASSERT_TRUE((*history)[1].output.has_value());
  EXPECT_FALSE((*history)[1].output->ok);
  EXPECT_FALSE((*history)[2].output.has_value());  // timed out: unknown
  EXPECT_FALSE((*history)[3].output.has_value());  // :info: unknown
}

TEST(PorcupineHistoriesTest, MalformedLogsNameTheLine) {
  EXPECT_THAT(ParseJepsenEtcdLog("INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
                                 "INFO  jepsen.util - 0\t:ok\t:read\tseven\n")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2: bad read")));
  EXPECT_THAT(
      ParseJepsenEtcdLog("INFO  jepsen.util - 4\t:ok\t:write\t1\n").status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("line 1: completes nothing invoked")));
  EXPECT_THAT(ParseJepsenEtcdLog("hello\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a jepsen.util event")));
  EXPECT_THAT(
      ParseKvLog("{:process 0, :type :invoke, :f :get, :key \"a\", :value "
                 "nil}\n{:process 0, :type :ok, :f :put, :key \"a\", :value "
                 "\"x\"}\n")
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("line 2: does not match")));
  EXPECT_THAT(
      ParseKvLog("{:process x}\n").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
}

}  // namespace
}  // namespace anvil::sim
