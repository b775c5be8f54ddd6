// hello: the daemon-picking example. Starts the daemons named on the
// command line and, through the factory, exactly the ones they depend on.
//
//   ./bazelw run //services/hello -- --daemon=alice --daemon=bob
//   ./bazelw run //services/hello -- --daemon=carol --anvil_run_for=1s
//
// alice and bob both sign a guest book (a process-wide daemon); carol reads
// it. All four are declared in hello.proto. Nothing else is built. An unknown
// name is an error that lists the valid ones. Runs until --anvil_run_for
// passes or SIGINT/SIGTERM, then stops the daemons in reverse dependency
// order and prints the guest book.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "runtime/core/status_macros.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node_main.h"
#include "services/hello/hello_daemons.h"

ABSL_FLAG(std::vector<std::string>, daemon, {},
          "Daemons to start: alice, bob, carol. Repeat the flag or give a "
          "comma-separated list.");

// Every --daemon value: Abseil keeps only the last of a repeated flag.
std::vector<std::string> AllDaemonFlags(int argc, char** argv) {
  std::vector<std::string> picked;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    std::string value;
    if (absl::ConsumePrefix(&arg, "--daemon=")) {
      value = std::string(arg);
    } else if (arg == "--daemon" && i + 1 < argc) {
      value = argv[++i];
    } else {
      continue;
    }
    for (absl::string_view v : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      picked.emplace_back(v);
    }
  }
  return picked;
}

int main(int argc, char** argv) {
  const std::vector<std::string> picked = AllDaemonFlags(argc, argv);
  return anvil::NodeMain(
      argc, argv,
      {.usage = "hello: starts the daemons you name, and what they need.\n\n"
                "  hello --daemon=alice,bob --anvil_run_for=1s",
       .runtime = {.name = "hello"},
       .bind = [&picked](anvil::Factory& root,
                         anvil::Factory& node) -> absl::Status {
         if (picked.empty()) {
           return absl::InvalidArgumentError(
               "name at least one --daemon (" +
               absl::StrJoin(hello::DaemonChoices(), ", ") + ")");
         }
         hello::BindAll(root);
         for (const std::string& choice : picked) {
           ANVIL_RETURN_IF_ERROR(hello::Build(node, choice));
         }
         std::vector<std::string> built;
         for (const anvil::Factory* factory : {&root, &node}) {
           for (const auto& [name, daemon] : factory->Built()) {
             // Not NodeMain's own Cluster: what the picks needed.
             if (name != anvil::Cluster::Info().name) built.push_back(name);
           }
         }
         std::printf("built, dependencies first: %s\n",
                     absl::StrJoin(built, ", ").c_str());
         return absl::OkStatus();
       }});
}
