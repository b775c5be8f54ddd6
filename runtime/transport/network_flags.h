// NetworkFromFlags: the network a binary's flags ask for: the build's
// default (plaintext gRPC, or loopback under --config=sim), or gRPC over
// TLS when the --anvil_tls_* flags are given. Node options
// (runtime/node/node_flags.h) and the Cluster daemon both take it from
// here, so a node serves and calls its peers the same way.
//
//   --anvil_tls_cert=node.pem --anvil_tls_key=node.key --anvil_tls_ca=ca.pem
//   --anvil_tls_mutual           require (and present) client certificates
//   --anvil_max_message_bytes=4194304 --anvil_max_calls_per_connection=1000
//   --anvil_keepalive_time=10s --anvil_keepalive_timeout=5s
//                                limits (GrpcNetworkOptions; loopback takes
//                                the message size only)
//
//   absl::StatusOr<std::shared_ptr<anvil::Network>> network =
//       anvil::NetworkFromFlags(runtime, "n1");
//
// Errors: INVALID_ARGUMENT for TLS flags that are incomplete or given to a
// loopback build, or a limit out of range (naming the flag); NOT_FOUND /
// INVALID_ARGUMENT for certificate files that cannot be read.
#ifndef ANVIL_RUNTIME_TRANSPORT_NETWORK_FLAGS_H_
#define ANVIL_RUNTIME_TRANSPORT_NETWORK_FLAGS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/network.h"

ABSL_DECLARE_FLAG(std::string, anvil_tls_cert);
ABSL_DECLARE_FLAG(std::string, anvil_tls_key);
ABSL_DECLARE_FLAG(std::string, anvil_tls_ca);
ABSL_DECLARE_FLAG(bool, anvil_tls_mutual);
ABSL_DECLARE_FLAG(int64_t, anvil_max_message_bytes);
ABSL_DECLARE_FLAG(int32_t, anvil_max_calls_per_connection);
ABSL_DECLARE_FLAG(absl::Duration, anvil_keepalive_time);
ABSL_DECLARE_FLAG(absl::Duration, anvil_keepalive_timeout);

namespace anvil {

// `node_name`: the node this process runs, if one: its calls name it (see
// GrpcNetworkOptions::node_name), which peers that cannot verify
// certificates take on trust for their CLUSTER services.
absl::StatusOr<std::shared_ptr<Network>> NetworkFromFlags(
    Runtime& runtime, const std::string& node_name = "");

// As NetworkFromFlags, but gRPC whatever the build's default: for a
// program whose node talks to other processes (NodeMain).
absl::StatusOr<std::shared_ptr<GrpcNetwork>> GrpcNetworkFromFlags(
    Runtime& runtime, const std::string& node_name = "");

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_NETWORK_FLAGS_H_
