// hello: the daemon-picking example. Starts the daemons named on the
// command line and, through the factory, exactly the ones they depend on.
//
//   ./bazelw run //services/hello -- --daemon=alice --daemon=bob
//   ./bazelw run //services/hello -- --daemon=carol --run_for=1s
//
// alice and bob both sign a guest book (a process-wide daemon); carol reads
// it. All four are declared in hello.proto. Nothing else is built. An unknown
// name is an error that lists the valid ones. Runs until --run_for passes or
// SIGINT/SIGTERM, then stops the daemons in reverse dependency order and prints
// the guest book.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/sleep.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "services/hello/hello_daemons.h"

ABSL_FLAG(std::vector<std::string>, daemon, {},
          "Daemons to start: alice, bob, carol. Repeat the flag or give a "
          "comma-separated list.");
ABSL_FLAG(absl::Duration, run_for, absl::Seconds(1),
          "How long to run before stopping; 0 runs until a signal.");

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
  absl::ParseCommandLine(argc, argv);
  if (picked.empty()) {
    std::fprintf(stderr, "hello: name at least one --daemon (%s)\n",
                 absl::StrJoin(hello::DaemonChoices(), ", ").c_str());
    return 2;
  }

  anvil::Runtime runtime(anvil::RuntimeOptions{.name = "hello"});
  anvil::Factory root(runtime);
  hello::BindAll(root);
  for (const std::string& choice : picked) {
    absl::Status built = hello::Build(root, choice);
    if (!built.ok()) {
      std::fprintf(stderr, "hello: %s\n", built.ToString().c_str());
      return 2;
    }
  }
  std::vector<std::string> built;
  for (const auto& [name, daemon] : root.Built()) built.push_back(name);
  std::printf("built, dependencies first: %s\n",
              absl::StrJoin(built, ", ").c_str());

  anvil::Node node(root);
  if (absl::Status started = node.Start(); !started.ok()) {
    std::fprintf(stderr, "hello: %s\n", started.ToString().c_str());
    return 1;
  }
  const absl::Duration run_for = absl::GetFlag(FLAGS_run_for);
  if (run_for > absl::ZeroDuration()) {
    absl::SleepFor(run_for);
    node.RequestStop();
  }
  // Without --run_for, SIGINT/SIGTERM shut the runtime down, which stops
  // the node.
  // The guest book prints its signatures as it stops, last.
  const absl::Status stopped = node.Wait();
  std::printf("stopped: %s\n", stopped.ToString().c_str());
  return stopped.ok() ? 0 : 1;
}
