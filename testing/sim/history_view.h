// HistoryHtml: a history drawn as one self-contained HTML page, to look at
// when a linearizability check fails; WriteTestOutput puts it next to the
// failing test's outputs.
//
//   LinearizabilityResult result = CheckLinearizable(history, model);
//   if (!result.linearizable) {
//     absl::StatusOr<std::string> path = WriteTestOutput(
//         "register.html", HistoryHtml(history.operations(), model, result));
//     ADD_FAILURE() << result.explanation << "\nsee " << *path;
//   }
//
// One lane per client, each operation a bar from its invocation to its
// completion (a short dashed one, with a strip below to the right edge, if
// it never completed), time compressed to the order of events. The longest
// order the model allows is green and numbered in that order; the operation
// that cannot be placed after it is red, the other operations that could have
// come next orange, the rest grey; hovering a bar shows the operation. With
// Model::partition only the reported key's operations are drawn; at most about
// 1,500 operations, those around the stuck one, are drawn. No scripts, no
// external assets.
#ifndef ANVIL_TESTING_SIM_HISTORY_VIEW_H_
#define ANVIL_TESTING_SIM_HISTORY_VIEW_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "testing/sim/linearizability.h"

namespace anvil::sim {

// `text` with &, <, >, " escaped for HTML.
std::string HtmlEscape(absl::string_view text);

// Writes `contents` to `file_name` in the directory Bazel keeps a test's
// undeclared outputs in ($TEST_UNDECLARED_OUTPUTS_DIR, zipped into the
// test's outputs.zip), or else $TEST_TMPDIR, or else /tmp. Returns the
// path, or why it could not be written.
absl::StatusOr<std::string> WriteTestOutput(absl::string_view file_name,
                                            absl::string_view contents);

namespace internal {

// The page around `svg`, with `title` and the verdict.
std::string HistoryPage(absl::string_view title, absl::string_view verdict,
                        absl::string_view svg);

}  // namespace internal

template <typename State, typename Input, typename Output>
std::string HistoryHtml(const std::vector<Operation<Input, Output>>& ops,
                        const Model<State, Input, Output>& model,
                        const LinearizabilityResult& result,
                        absl::string_view title = "history") {
  constexpr size_t kMaxShown = 1500;
  // Which operations: the reported key's, or all.
  std::vector<size_t> shown;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!result.linearizable && model.partition &&
        model.partition(ops[i].input) != result.partition) {
      continue;
    }
    shown.push_back(i);
  }
  std::sort(shown.begin(), shown.end(),
            [&](size_t a, size_t b) { return ops[a].invoke < ops[b].invoke; });
  const size_t total = shown.size();
  if (shown.size() > kMaxShown) {
    size_t center = shown.size();
    if (result.stuck.has_value()) {
      center =
          std::find(shown.begin(), shown.end(), *result.stuck) - shown.begin();
    }
    const size_t end = std::min(shown.size(), center + kMaxShown / 3);
    const size_t begin = end - std::min(end, kMaxShown);
    shown = std::vector<size_t>(shown.begin() + begin, shown.begin() + end);
  }

  // Time compressed to the rank of each distinct event time.
  std::vector<int64_t> times;
  std::map<int, int> lanes;  // client -> lane
  for (size_t i : shown) {
    times.push_back(ops[i].invoke);
    if (ops[i].output.has_value()) times.push_back(ops[i].complete);
    lanes.emplace(ops[i].client, 0);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  int lane_count = 0;
  for (auto& [client, lane] : lanes) lane = lane_count++;
  constexpr int kStep = 14, kLane = 34, kBar = 20, kLeft = 90, kTop = 10;
  const int width = kLeft + static_cast<int>(times.size() + 2) * kStep;
  auto x = [&](int64_t t) {
    return kLeft + kStep * static_cast<int>(
                               std::lower_bound(times.begin(), times.end(), t) -
                               times.begin());
  };

  std::map<size_t, size_t> order;  // operation -> position in the prefix
  for (size_t j = 0; j < result.longest_prefix.size(); ++j) {
    order[result.longest_prefix[j]] = j + 1;
  }
  std::vector<bool> candidate(ops.size(), false);
  for (size_t i : result.candidates) candidate[i] = true;

  std::string svg =
      absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", width,
                   "\" height=\"", kTop + lane_count * kLane + 10, "\">\n");
  for (const auto& [client, lane] : lanes) {
    const int y = kTop + lane * kLane;
    absl::StrAppend(&svg, "<text x=\"4\" y=\"", y + 20, "\">client ", client,
                    "</text><line x1=\"", kLeft, "\" x2=\"", width, "\" y1=\"",
                    y + kLane - 2, "\" y2=\"", y + kLane - 2,
                    "\" class=\"lane\"/>\n");
  }
  for (size_t i : shown) {
    const auto& op = ops[i];
    const int y = kTop + lanes[op.client] * kLane + 4;
    const int x0 = x(op.invoke);
    const int x1 = op.output.has_value() ? x(op.complete) : x0 + 2 * kStep;
    const int end = op.output.has_value() ? x1 : width - kStep;
    const char* kind = "other";
    if (result.stuck == i) {
      kind = "stuck";
    } else if (candidate[i]) {
      kind = "next";
    } else if (order.contains(i)) {
      kind = "placed";
    }
    absl::StrAppend(
        &svg, "<g class=\"", kind, op.output.has_value() ? "" : " open",
        "\"><title>#", i, " ",
        HtmlEscape(internal::DescribeOperation(op, model)),
        order.contains(i) ? absl::StrCat(" (placed ", order[i], ")") : "",
        "</title><rect x=\"", x0, "\" y=\"", y, "\" width=\"",
        std::max(x1 - x0, 4), "\" height=\"", kBar, "\" rx=\"3\"/>");
    // One that never completed overlaps its client's later operations: a
    // strip below them.
    if (!op.output.has_value()) {
      absl::StrAppend(&svg, "<rect x=\"", x0, "\" y=\"", y + kBar + 1,
                      "\" width=\"", end - x0, "\" height=\"", kLane - kBar - 8,
                      "\"/>");
    }
    if (order.contains(i)) {
      absl::StrAppend(&svg, "<text x=\"", x0 + 3, "\" y=\"", y + 16, "\">",
                      order[i], "</text>");
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  absl::StrAppend(&svg, "</svg>\n");

  std::string verdict =
      result.linearizable ? std::string("linearizable") : result.explanation;
  if (shown.size() < total) {
    absl::StrAppend(&verdict, "\n\n(drawn: ", shown.size(), " of ", total,
                    " operations, around the one that cannot be placed)");
  }
  return internal::HistoryPage(title, verdict, svg);
}

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_HISTORY_VIEW_H_
