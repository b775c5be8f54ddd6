// NodeOptionsFromFlags: the command-line flags every anvil binary that runs
// a node understands, as NodeOptions.
//
//   --anvil_listen=host:port     where the node serves its exposed daemons
//                                (default: its --anvil_peers entry, else
//                                127.0.0.1:0)
//   --anvil_grace=5s             how long stopping lets calls finish
//   --anvil_tls_cert=node.pem --anvil_tls_key=node.key --anvil_tls_ca=ca.pem
//                                serve (and call) over TLS
//   --anvil_tls_mutual           and require client certificates
//
//   absl::ParseCommandLine(argc, argv);
//   absl::StatusOr<anvil::NodeOptions> options =
//       anvil::NodeOptionsFromFlags(runtime, "n1");
//   if (!options.ok()) { /* print options.status(), exit 2 */ }
//   anvil::Node node(factory, *std::move(options));
//
// The network is NetworkFromFlags()'s (runtime/transport/network_flags.h):
// the build's default (plaintext gRPC, or loopback under --config=sim)
// unless the TLS flags are given. Errors: INVALID_ARGUMENT for TLS flags that
// are incomplete or given to a loopback build, NOT_FOUND for unreadable
// certificate files.
#ifndef ANVIL_RUNTIME_NODE_NODE_FLAGS_H_
#define ANVIL_RUNTIME_NODE_NODE_FLAGS_H_

#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/node/node.h"
#include "runtime/transport/network_flags.h"

ABSL_DECLARE_FLAG(std::string, anvil_listen);
ABSL_DECLARE_FLAG(absl::Duration, anvil_grace);

namespace anvil {

// `node_name`: the node's name, which its calls to peers carry (see
// NetworkFromFlags).
absl::StatusOr<NodeOptions> NodeOptionsFromFlags(
    Runtime& runtime, const std::string& node_name = "");
// As above, over `network` (for one made otherwise, as NodeMain's real
// gRPC network): only the --anvil_listen and --anvil_grace flags are read.
NodeOptions NodeOptionsFromFlags(std::shared_ptr<Network> network);

}  // namespace anvil

#endif  // ANVIL_RUNTIME_NODE_NODE_FLAGS_H_
