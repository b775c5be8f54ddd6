// echo_node: the Echo daemon as a node program, for node_main_test.
//
//   echo_node --node=n1 --anvil_listen=127.0.0.1:0 [--fail_bind]
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "runtime/node/node_main.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"

ABSL_FLAG(std::string, node, "", "This node's name.");
ABSL_FLAG(bool, fail_bind, false, "Make binding the daemons fail.");

int main(int argc, char** argv) {
  using ::anvil::transport::testdata::EchoDaemon;
  using ::anvil::transport::testdata::EchoImpl;
  return anvil::NodeMain(
      argc, argv,
      {.usage = "echo_node: serves Echo.",
       .runtime = {.name = "echo_node"},
       .node_name = [] { return absl::GetFlag(FLAGS_node); },
       .bind = [](anvil::Factory&, anvil::Factory& node) -> absl::Status {
         if (absl::GetFlag(FLAGS_fail_bind)) {
           return absl::InvalidArgumentError("asked to fail");
         }
         node.Bind<EchoDaemon, EchoImpl>();
         return node.Get<EchoDaemon>().status();
       }});
}
