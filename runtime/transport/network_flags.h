// NetworkFromFlags: the network a binary's flags ask for: the build's
// default (plaintext gRPC, or loopback under --config=sim), or gRPC over
// TLS when the --anvil_tls_* flags are given. Node options
// (runtime/daemon/node_flags.h) and the Cluster daemon both take it from
// here, so a node serves and calls its peers the same way.
//
//   --anvil_tls_cert=node.pem --anvil_tls_key=node.key --anvil_tls_ca=ca.pem
//   --anvil_tls_mutual           require (and present) client certificates
//
//   absl::StatusOr<std::shared_ptr<anvil::Network>> network =
//       anvil::NetworkFromFlags(runtime, "n1");
//
// Errors: INVALID_ARGUMENT for TLS flags that are incomplete or given to a
// loopback build; NOT_FOUND / INVALID_ARGUMENT for certificate files that
// cannot be read.
#ifndef ANVIL_RUNTIME_TRANSPORT_NETWORK_FLAGS_H_
#define ANVIL_RUNTIME_TRANSPORT_NETWORK_FLAGS_H_

#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "runtime/actor/runtime.h"
#include "runtime/transport/network.h"

ABSL_DECLARE_FLAG(std::string, anvil_tls_cert);
ABSL_DECLARE_FLAG(std::string, anvil_tls_key);
ABSL_DECLARE_FLAG(std::string, anvil_tls_ca);
ABSL_DECLARE_FLAG(bool, anvil_tls_mutual);

namespace anvil {

// `node_name`: the node this process runs, if one: its calls name it (see
// GrpcNetworkOptions::node_name), which peers that cannot verify
// certificates take on trust for their CLUSTER services.
absl::StatusOr<std::shared_ptr<Network>> NetworkFromFlags(
    Runtime& runtime, const std::string& node_name = "");

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_NETWORK_FLAGS_H_
