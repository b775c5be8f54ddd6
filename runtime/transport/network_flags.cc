#include "runtime/transport/network_flags.h"

#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "runtime/transport/grpc/grpc_network.h"

ABSL_FLAG(std::string, anvil_tls_cert, "",
          "PEM certificate chain: serve and call over TLS (with "
          "--anvil_tls_key and --anvil_tls_ca).");
ABSL_FLAG(std::string, anvil_tls_key, "",
          "PEM private key of --anvil_tls_cert.");
ABSL_FLAG(std::string, anvil_tls_ca, "",
          "PEM certificate authority that signs the peers' certificates.");
ABSL_FLAG(bool, anvil_tls_mutual, false,
          "Mutual TLS: require client certificates signed by "
          "--anvil_tls_ca, and present --anvil_tls_cert when calling.");

namespace anvil {

absl::StatusOr<std::shared_ptr<Network>> NetworkFromFlags(
    Runtime& runtime, const std::string& node_name) {
  const TlsFiles tls{.cert_chain = absl::GetFlag(FLAGS_anvil_tls_cert),
                     .private_key = absl::GetFlag(FLAGS_anvil_tls_key),
                     .root_certs = absl::GetFlag(FLAGS_anvil_tls_ca),
                     .mutual = absl::GetFlag(FLAGS_anvil_tls_mutual)};
  if (tls.cert_chain.empty() && tls.private_key.empty() &&
      tls.root_certs.empty() && !tls.mutual) {
    if (DefaultNetworkName() == "grpc") {
      return std::shared_ptr<Network>(std::make_shared<GrpcNetwork>(
          runtime, GrpcNetworkOptions{.node_name = node_name}));
    }
    return std::shared_ptr<Network>(NewDefaultNetwork(runtime));
  }
  if (DefaultNetworkName() != "grpc") {
    return absl::InvalidArgumentError(
        "--anvil_tls_* flags need the gRPC transport; this build uses " +
        std::string(DefaultNetworkName()));
  }
  if (tls.cert_chain.empty() || tls.private_key.empty() ||
      tls.root_certs.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs --anvil_tls_cert, --anvil_tls_key and --anvil_tls_ca");
  }
  absl::StatusOr<GrpcNetworkOptions> grpc_options = TlsFromFiles(tls);
  if (!grpc_options.ok()) return grpc_options.status();
  grpc_options->node_name = node_name;
  return std::shared_ptr<Network>(
      std::make_shared<GrpcNetwork>(runtime, *std::move(grpc_options)));
}

}  // namespace anvil
