// The checker's verdicts on porcupine's test data equal porcupine's (its
// porcupine_test.go lists them); and the parsers reject what they cannot
// read.
#include "testing/sim/porcupine_histories.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/sim/linearizability.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

std::string ReadTestData(const std::string& name) {
  std::ifstream in("testing/sim/testdata/porcupine/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(PorcupineHistoriesTest, EtcdVerdictsMatchPorcupines) {
  // The logs porcupine's tests expect to be linearizable; it has no
  // verdict for etcd_095.
  const std::set<int> linearizable = {2,  5,  7,  18, 25,  31,  38, 45,
                                      48, 49, 51, 53, 56,  67,  75, 76,
                                      80, 87, 92, 98, 100, 101, 102};
  for (int log = 0; log <= 102; ++log) {
    if (log == 95) continue;
    const std::string name = absl::StrFormat("jepsen/etcd_%03d.log", log);
    absl::StatusOr<std::vector<Operation<EtcdOp, EtcdOutput>>> history =
        ParseJepsenEtcdLog(ReadTestData(name));
    ASSERT_THAT(history, IsOk()) << name;
    ASSERT_FALSE(history->empty()) << name;
    LinearizabilityResult result = CheckLinearizable(*history, EtcdModel());
    EXPECT_EQ(result.linearizable, linearizable.contains(log))
        << name << ": " << result.explanation;
    if (!result.linearizable) {
      EXPECT_THAT(result.explanation, HasSubstr("cannot be placed")) << name;
    }
  }
}

TEST(PorcupineHistoriesTest, KvVerdictsMatchPorcupines) {
  for (const auto& [name, linearizable] :
       std::vector<std::pair<std::string, bool>>{{"c01-ok", true},
                                                 {"c01-bad", false},
                                                 {"c10-ok", true},
                                                 {"c10-bad", false},
                                                 {"c50-ok", true},
                                                 {"c50-bad", false}}) {
    absl::StatusOr<std::vector<Operation<KvLogOp, std::string>>> history =
        ParseKvLog(ReadTestData(absl::StrCat("kv/", name, ".txt")));
    ASSERT_THAT(history, IsOk()) << name;
    fprintf(stderr, "checking %s %zu\n", name.c_str(), history->size());
    LinearizabilityResult result = CheckLinearizable(*history, KvLogModel());
    EXPECT_EQ(result.linearizable, linearizable)
        << name << ": " << result.explanation;
    if (!linearizable) {
      EXPECT_THAT(result.explanation, HasSubstr("(key \"")) << name;
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
