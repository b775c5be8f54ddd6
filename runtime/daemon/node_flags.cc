#include "runtime/daemon/node_flags.h"

#include <memory>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/network.h"

ABSL_FLAG(std::string, anvil_listen, "",
          "Where the node serves its exposed daemons (host:port; port 0 "
          "picks a free one). Empty: the address --anvil_peers lists for "
          "this node, else 127.0.0.1:0 (reachable from this machine only).");
ABSL_FLAG(absl::Duration, anvil_grace, absl::Seconds(5),
          "How long a stopping node lets calls in flight finish before "
          "answering them UNAVAILABLE.");
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

absl::StatusOr<NodeOptions> NodeOptionsFromFlags(Runtime& runtime) {
  NodeOptions options;
  options.listen_address = absl::GetFlag(FLAGS_anvil_listen);
  options.grace = absl::GetFlag(FLAGS_anvil_grace);
  const TlsFiles tls{.cert_chain = absl::GetFlag(FLAGS_anvil_tls_cert),
                     .private_key = absl::GetFlag(FLAGS_anvil_tls_key),
                     .root_certs = absl::GetFlag(FLAGS_anvil_tls_ca),
                     .mutual = absl::GetFlag(FLAGS_anvil_tls_mutual)};
  if (tls.cert_chain.empty() && tls.private_key.empty() &&
      tls.root_certs.empty() && !tls.mutual) {
    return options;
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
  options.network =
      std::make_shared<GrpcNetwork>(runtime, *std::move(grpc_options));
  return options;
}

}  // namespace anvil
