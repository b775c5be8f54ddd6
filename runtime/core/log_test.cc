#include "runtime/core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs `log` with stderr redirected to a file; returns what was written.
template <typename F>
std::string CaptureStderr(F log) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR")
                                             : "/tmp") +
      "/log_test_stderr";
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  dup2(fd, STDERR_FILENO);
  close(fd);
  log();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Log, TextLinesCarryNodeAndDaemon) {
  SetLogFormat(LogFormat::kText);
  std::string out = CaptureStderr([] {
    ComponentLog("root/n1", "demo.Storage").info("recovered {} entries", 3);
    Log().warn("runtime line");
  });
  EXPECT_THAT(out,
              ContainsRegex(
                  R"(\[info\] \[root/n1 demo\.Storage\] recovered 3 entries)"));
  EXPECT_THAT(out, ContainsRegex(R"(\[warning\] runtime line)"));
}

TEST(Log, JsonLinesAreOneEscapedObjectEach) {
  SetLogFormat(LogFormat::kJson);
  std::string out = CaptureStderr([] {
    ComponentLog("root/n2", "demo.Raft").error("term \"{}\" lost\nleader", 7);
  });
  SetLogFormat(LogFormat::kText);
  // {"time":"<UTC>Z", then the rest exactly; one line.
  ASSERT_EQ(out.rfind("{\"time\":\"", 0), 0u) << out;
  const size_t rest = out.find("Z\",\"level\"");
  ASSERT_NE(rest, std::string::npos) << out;
  EXPECT_EQ(out.substr(rest + 3),
            R"("level":"error","node":"root/n2","daemon":"demo.Raft",)"
            R"("msg":"term \"7\" lost\nleader"})"
            "\n");
}

TEST(Log, AutoIsTextUnderTests) {
  SetLogFormat(LogFormat::kAuto);  // TEST_TMPDIR is set by bazel test
  std::string out =
      CaptureStderr([] { ComponentLog("root", "demo.Auto").info("hello"); });
  EXPECT_THAT(out, HasSubstr("[root demo.Auto] hello"));
  EXPECT_THAT(out, Not(HasSubstr("{\"time\"")));
}

TEST(Log, TheLevelReachesExistingAndNewLoggers) {
  spdlog::logger& existing = ComponentLog("root", "demo.Level");
  SetLogLevel(spdlog::level::warn);
  std::string out = CaptureStderr([&] {
    existing.info("quiet");
    ComponentLog("root", "demo.NewLevel").info("quiet too");
    existing.warn("loud");
  });
  SetLogLevel(spdlog::level::info);
  EXPECT_THAT(out, Not(HasSubstr("quiet")));
  EXPECT_THAT(out, HasSubstr("loud"));
  out = CaptureStderr([&] { existing.info("back"); });
  EXPECT_THAT(out, HasSubstr("back"));
}

TEST(Log, LevelsAndFormatsParseOrNameTheChoices) {
  EXPECT_THAT(ParseLogLevel("debug"), IsOkAndHolds(spdlog::level::debug));
  EXPECT_THAT(ParseLogLevel("error"), IsOkAndHolds(spdlog::level::err));
  EXPECT_THAT(ParseLogLevel("loud"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("trace, debug, info, warn, error, critical "
                                 "or off, not \"loud\"")));
  EXPECT_THAT(ParseLogFormat("json"), IsOkAndHolds(LogFormat::kJson));
  EXPECT_THAT(ParseLogFormat("xml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("auto, text or json")));
}

}  // namespace
}  // namespace anvil
