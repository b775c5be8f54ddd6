#include "testing/sim/history_view.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/sim/linearizability.h"
#include "testing/sim/register_model.h"
#include "testing/status_matchers.h"

namespace anvil::sim {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

History<RegisterOp, RegisterOut> StaleRead() {
  History<RegisterOp, RegisterOut> h;
  h.Complete(h.Invoke(1, {RegisterOp::kWrite, 1}, 0), 0, 10);
  h.Complete(h.Invoke(2, {RegisterOp::kRead}, 20), 1, 30);
  h.Complete(h.Invoke(3, {RegisterOp::kRead}, 40), 0, 50);  // stale
  h.Invoke(4, {RegisterOp::kWrite, 7}, 45);                 // never completed
  return h;
}

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos;
       at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

TEST(HistoryViewTest, MarksThePrefixTheStuckOperationAndTheLanes) {
  const History<RegisterOp, RegisterOut> h = StaleRead();
  const LinearizabilityResult result = CheckLinearizable(h, RegisterModel());
  ASSERT_FALSE(result.linearizable);
  const std::string html =
      HistoryHtml(h.operations(), RegisterModel(), result, "stale <read>");
  EXPECT_THAT(html, HasSubstr("<title>stale &lt;read&gt;</title>"));
  EXPECT_EQ(Count(html, ">client "), 4);  // one lane per client
  EXPECT_EQ(Count(html, "<g class=\"placed"), 3);
  EXPECT_THAT(html, HasSubstr("<g class=\"stuck\"><title>#2 client 3 Read() "
                              "-&gt; 0 [40ns, 50ns]</title>"));
  EXPECT_THAT(html, HasSubstr("(placed 2)"));
  // The write that never completed, placed third: dashed.
  EXPECT_THAT(html, HasSubstr("<g class=\"placed open\"><title>#3 client 4 "
                              "Write(7) [45ns, never] (placed 3)"));
  EXPECT_THAT(html, HasSubstr("cannot be placed"));  // the explanation
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

TEST(HistoryViewTest, DrawsOnlyTheReportedKeyAndAWindowOfALongHistory) {
  const Model<int, KeyedRegisterOp, RegisterOut> model = KeyedRegisterModel();
  History<KeyedRegisterOp, RegisterOut> h;
  for (int i = 0; i < 5000; ++i) {
    h.Complete(h.Invoke(1, {"big", {RegisterOp::kWrite, i}}, 10 * i), 0,
               10 * i + 5);
  }
  h.Complete(h.Invoke(2, {"big", {RegisterOp::kRead}}, 60000), 3, 60005);
  h.Complete(h.Invoke(3, {"other", {RegisterOp::kWrite, 1}}, 0), 0, 5);
  const LinearizabilityResult result = CheckLinearizable(h, model);
  ASSERT_FALSE(result.linearizable);
  const std::string html = HistoryHtml(h.operations(), model, result);
  EXPECT_THAT(html, Not(HasSubstr("other.Write")));
  EXPECT_THAT(html, HasSubstr("<g class=\"stuck\"><title>#5000 client 2"));
  EXPECT_THAT(html, HasSubstr("(drawn: 1500 of 5001 operations"));
  EXPECT_LE(Count(html, "<g class="), 1500);
}

TEST(HistoryViewTest, WritesNextToTheTestsOutputs) {
  absl::StatusOr<std::string> path = WriteTestOutput("view.html", "<p>hi");
  ASSERT_THAT(path, IsOk());
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(*path, absl::StrCat(dir, "/view.html"));
  std::ifstream in(*path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "<p>hi");
  EXPECT_THAT(WriteTestOutput("../escape.html", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WriteTestOutput("", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace anvil::sim
