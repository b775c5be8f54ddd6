#include "testing/sim/history_view.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace anvil::sim {

std::string HtmlEscape(absl::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

absl::StatusOr<std::string> WriteTestOutput(absl::string_view file_name,
                                            absl::string_view contents) {
  if (file_name.empty() || file_name.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a test output is a plain file name, not \"", file_name, "\""));
  }
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir == nullptr || *dir == '\0') dir = std::getenv("TEST_TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = "/tmp";
  const std::string path = absl::StrCat(dir, "/", file_name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return path;
}

namespace internal {

std::string HistoryPage(absl::string_view title, absl::string_view verdict,
                        absl::string_view svg) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
      HtmlEscape(title),
      "</title>\n<style>\n"
      "body { font: 13px sans-serif; margin: 16px; }\n"
      "pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; }\n"
      ".scroll { overflow-x: auto; border: 1px solid #ddd; }\n"
      "svg text { font: 11px sans-serif; }\n"
      ".lane { stroke: #eee; }\n"
      "g rect { stroke: #555; stroke-width: 0.5; }\n"
      "g.placed rect { fill: #9d9; }\n"
      "g.stuck rect { fill: #e44; stroke: #900; stroke-width: 2; }\n"
      "g.next rect { fill: #fb4; }\n"
      "g.other rect { fill: #ccc; }\n"
      "g.open rect { stroke-dasharray: 4 2; fill-opacity: 0.5; }\n"
      ".legend span { display: inline-block; padding: 2px 8px; "
      "margin-right: 6px; border-radius: 3px; }\n"
      "</style></head><body>\n<h1>",
      HtmlEscape(title), "</h1>\n<pre>", HtmlEscape(verdict),
      "</pre>\n<p class=\"legend\">"
      "<span style=\"background:#9d9\">in the longest order the model "
      "allows, numbered</span>"
      "<span style=\"background:#e44\">cannot be placed</span>"
      "<span style=\"background:#fb4\">could have come next</span>"
      "<span style=\"background:#ccc\">other</span>"
      "<span style=\"border:1px dashed #555\">never completed</span></p>\n"
      "<div class=\"scroll\">\n",
      svg, "</div>\n</body></html>\n");
}

}  // namespace internal
}  // namespace anvil::sim
