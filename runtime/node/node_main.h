// NodeMain: the whole main() of a program that runs one node of a cluster
// as a process: flags (with --help), the runtime, the network, the
// Cluster from --anvil_peers, the daemons, both nodes (the root's, for
// process-wide daemons, and this one's), and the wait for SIGINT/SIGTERM.
//
//   ABSL_FLAG(std::string, node, "", "This node's name.");
//
//   int main(int argc, char** argv) {   // examples/greeter/greeter_main.cc
//     return anvil::NodeMain(argc, argv, {
//         .usage = "echod --node=n1 --anvil_peers=n1=127.0.0.1:7001,...",
//         .node_name = [] { return absl::GetFlag(FLAGS_node); },
//         .bind = [](anvil::Factory& root, anvil::Factory& node) {
//           node.Bind<EchoDaemon, EchoImpl>();
//           return node.Get<EchoDaemon>().status();
//         }});
//   }
//
// The runtime takes `runtime`, with --anvil_threads and --anvil_idle_spin
// overriding its threads and idle_spin when given. The node serves its
// exposed daemons over real gRPC (also in a --config=sim build: a process
// talks to other processes), with TLS and limits from the --anvil_ flags
// (runtime/transport/network_flags.h), at --anvil_listen or its
// --anvil_peers address, until SIGINT/SIGTERM (or --anvil_run_for, for
// demos and tests). Logs go to stderr in one format, --anvil_log_format
// (auto, text, json), at --anvil_log_level and above, gRPC's and
// protobuf's own lines included (library_logs.h). Exit status: 0 after a
// clean stop; 2 for flags that parse but do not fit (a positional
// argument, bad TLS files, a limit or a log flag out of range, an error
// from `bind`: printed, naming it); 1 if a node fails to start or stops
// with an error, and from Abseil's parser for an unknown flag or a value
// it cannot parse. `--help` prints `usage` and the program's and the
// node's flags, and exits 0.
//
// Example: examples/greeter/greeter_main.cc,
// examples/heartbeat/heartbeat_main.cc.
#ifndef ANVIL_RUNTIME_NODE_NODE_MAIN_H_
#define ANVIL_RUNTIME_NODE_NODE_MAIN_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"

namespace anvil {

struct NodeProgram {
  // What --help prints first: what the program is and how to call it.
  std::string usage;
  // The runtime's options; `name` prefixes thread names and log lines,
  // and the program's messages.
  RuntimeOptions runtime = {.name = "node"};
  // The node's name, read once the flags are parsed (--node's value, say):
  // its factory's name, its entry in --anvil_peers, the name its calls
  // carry. Unset or empty: "node".
  std::function<std::string()> node_name;
  // Binds the daemons, process-wide ones in `root` and the node's in
  // `node`, and builds them (Factory::Get). Runs after the flags are
  // parsed; an error exits 2 with it.
  std::function<absl::Status(Factory& root, Factory& node)> bind;
  // Where the program's flags are defined, for --help: a part of the
  // path of the file that makes this NodeProgram, by default.
  const char* flags_file = __builtin_FILE();
};

int NodeMain(int argc, char** argv, NodeProgram program);

// A NodeProgram::bind for implementations of generated daemons that take
// no Bind arguments: binds each (process-wide ones in the root, the others
// in the node) and builds them, so an error names the first that fails.
//
//   .bind = anvil::BindDaemons<CounterImpl, GreeterImpl>()
template <typename... Impls>
std::function<absl::Status(Factory& root, Factory& node)> BindDaemons() {
  return [](Factory& root, Factory& node) -> absl::Status {
    ((Impls::Info().scope == DaemonScope::kProcess ? root : node)
         .template Bind<Impls>(),
     ...);
    absl::Status built;  // stops at the first error
    (... && (built = node.Get<typename Impls::Interface>().status()).ok());
    return built;
  };
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_NODE_NODE_MAIN_H_
