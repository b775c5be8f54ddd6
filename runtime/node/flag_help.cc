#include "runtime/node/flag_help.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/internal/usage.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace anvil {

bool AsksForHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-help" || arg == "--helpfull" ||
        arg == "-helpfull" || arg == "--helpshort" || arg == "-h") {
      return true;
    }
  }
  return false;
}

void PrintFlagHelp(std::ostream& out, absl::string_view usage,
                   absl::string_view flags_file, bool with_runtime_flags) {
  // By (whether it is the runtime's, file): the program's files first.
  std::map<std::pair<bool, std::string>,
           std::vector<const absl::CommandLineFlag*>>
      by_file;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string file = flag->Filename();
    if (absl::StrContains(file, flags_file)) {
      by_file[{false, file}].push_back(flag);
    } else if (with_runtime_flags && absl::StartsWith(file, "runtime/")) {
      by_file[{true, file}].push_back(flag);
    }
  }
  out << usage << "\n";
  for (auto& [where, flags] : by_file) {
    std::sort(flags.begin(), flags.end(), [](const auto* x, const auto* y) {
      return x->Name() < y->Name();
    });
    out << "\n  Flags from " << where.second << ":\n";
    for (const absl::CommandLineFlag* flag : flags) {
      absl::flags_internal::FlagHelp(out, *flag);
    }
  }
}

}  // namespace anvil
