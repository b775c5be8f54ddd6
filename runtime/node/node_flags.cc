#include "runtime/node/node_flags.h"

#include <memory>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "runtime/transport/network.h"
#include "runtime/transport/network_flags.h"

ABSL_FLAG(std::string, anvil_listen, "",
          "Where the node serves its exposed daemons (host:port; port 0 "
          "picks a free one). Empty: the address --anvil_peers lists for "
          "this node, else 127.0.0.1:0 (reachable from this machine only).");
ABSL_FLAG(absl::Duration, anvil_grace, absl::Seconds(5),
          "How long a stopping node lets calls in flight finish before "
          "answering them UNAVAILABLE.");

namespace anvil {

NodeOptions NodeOptionsFromFlags(std::shared_ptr<Network> network) {
  return NodeOptions{.listen_address = absl::GetFlag(FLAGS_anvil_listen),
                     .network = std::move(network),
                     .grace = absl::GetFlag(FLAGS_anvil_grace)};
}

absl::StatusOr<NodeOptions> NodeOptionsFromFlags(Runtime& runtime,
                                                 const std::string& node_name) {
  absl::StatusOr<std::shared_ptr<Network>> network =
      NetworkFromFlags(runtime, node_name);
  if (!network.ok()) return network.status();
  return NodeOptionsFromFlags(*std::move(network));
}

}  // namespace anvil
