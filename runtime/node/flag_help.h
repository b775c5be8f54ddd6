// AsksForHelp and PrintFlagHelp: `--help` for a program's own flags, exit
// code 0. Abseil's --help exits 1 and lists every linked library's flags
// (gRPC's, protobuf's); this lists the program's, then anvil's.
//
//   int main(int argc, char** argv) {
//     if (anvil::AsksForHelp(argc, argv)) {
//       anvil::PrintFlagHelp(std::cout, kUsage, "tools/mytool_main.cc",
//                            /*with_runtime_flags=*/false);
//       return 0;
//     }
//     absl::ParseCommandLine(argc, argv);
//     ...
//   }
//
// Thread-compatible; call from main before other threads start.
#ifndef ANVIL_RUNTIME_NODE_FLAG_HELP_H_
#define ANVIL_RUNTIME_NODE_FLAG_HELP_H_

#include <ostream>

#include "absl/strings/string_view.h"

namespace anvil {

// True if an argument before any "--" is --help, -help, --helpfull,
// -helpfull, --helpshort or -h.
bool AsksForHelp(int argc, char** argv);

// Writes `usage`, then the flags defined in files whose path contains
// `flags_file`, then, with `with_runtime_flags`, those defined under
// runtime/: grouped by file, sorted by name, each with its help and
// default.
void PrintFlagHelp(std::ostream& out, absl::string_view usage,
                   absl::string_view flags_file, bool with_runtime_flags);

}  // namespace anvil

#endif  // ANVIL_RUNTIME_NODE_FLAG_HELP_H_
