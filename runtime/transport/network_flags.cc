#include "runtime/transport/network_flags.h"

#include <cstdint>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/core/status_macros.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/loopback/loopback_network.h"

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

ABSL_FLAG(int64_t, anvil_max_message_bytes, 4 << 20,
          "The largest request or reply, serialized, this node's servers "
          "and channels take; larger ones fail RESOURCE_EXHAUSTED.");
ABSL_FLAG(int32_t, anvil_max_calls_per_connection, 1000,
          "Calls one client connection may have in flight at this node's "
          "servers; the client holds more until one ends.");
ABSL_FLAG(absl::Duration, anvil_keepalive_time, absl::Seconds(10),
          "A connection with calls in flight that hears nothing this long "
          "pings its peer (inf: never).");
ABSL_FLAG(absl::Duration, anvil_keepalive_timeout, absl::Seconds(5),
          "A ping unanswered this long closes the connection: its calls fail "
          "UNAVAILABLE.");

namespace anvil {
namespace {

// The --anvil_ limit flags over `options`; INVALID_ARGUMENT naming a flag
// out of range.
absl::Status ApplyLimitFlags(GrpcNetworkOptions& options) {
  const int64_t max_message_bytes =
      absl::GetFlag(FLAGS_anvil_max_message_bytes);
  options.max_message_bytes =
      max_message_bytes < 0 ? 0 : static_cast<size_t>(max_message_bytes);
  options.max_calls_per_connection =
      absl::GetFlag(FLAGS_anvil_max_calls_per_connection);
  options.keepalive_time = absl::GetFlag(FLAGS_anvil_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_anvil_keepalive_timeout);
  if (absl::Status valid = CheckLimits(options); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--anvil_", valid.message()));
  }
  return absl::OkStatus();
}

// The --anvil_tls_* flags.
TlsFiles TlsFlags() {
  return {.cert_chain = absl::GetFlag(FLAGS_anvil_tls_cert),
          .private_key = absl::GetFlag(FLAGS_anvil_tls_key),
          .root_certs = absl::GetFlag(FLAGS_anvil_tls_ca),
          .mutual = absl::GetFlag(FLAGS_anvil_tls_mutual)};
}

// Whether any of them was given.
bool AnyTls(const TlsFiles& tls) {
  return !tls.cert_chain.empty() || !tls.private_key.empty() ||
         !tls.root_certs.empty() || tls.mutual;
}

}  // namespace

absl::StatusOr<std::shared_ptr<GrpcNetwork>> GrpcNetworkFromFlags(
    Runtime& runtime, const std::string& node_name) {
  const TlsFiles tls = TlsFlags();
  GrpcNetworkOptions options;
  if (AnyTls(tls)) {
    if (tls.cert_chain.empty() || tls.private_key.empty() ||
        tls.root_certs.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs --anvil_tls_cert, --anvil_tls_key and --anvil_tls_ca");
    }
    absl::StatusOr<GrpcNetworkOptions> with_tls = TlsFromFiles(tls);
    if (!with_tls.ok()) return with_tls.status();
    options = *std::move(with_tls);
  }
  options.node_name = node_name;
  ANVIL_RETURN_IF_ERROR(ApplyLimitFlags(options));
  return std::make_shared<GrpcNetwork>(runtime, std::move(options));
}

absl::StatusOr<std::shared_ptr<Network>> NetworkFromFlags(
    Runtime& runtime, const std::string& node_name) {
  if (DefaultNetworkName() == "grpc") {
    absl::StatusOr<std::shared_ptr<GrpcNetwork>> network =
        GrpcNetworkFromFlags(runtime, node_name);
    if (!network.ok()) return network.status();
    return std::shared_ptr<Network>(*std::move(network));
  }
  if (AnyTls(TlsFlags())) {
    return absl::InvalidArgumentError(
        "--anvil_tls_* flags need the gRPC transport; this build uses " +
        std::string(DefaultNetworkName()));
  }
  GrpcNetworkOptions limits;
  ANVIL_RETURN_IF_ERROR(ApplyLimitFlags(limits));
  std::unique_ptr<Network> network = NewDefaultNetwork(runtime);
  // The simulated network has no connections: of the limits, only the
  // message size applies.
  if (auto* loopback = dynamic_cast<LoopbackNetwork*>(network.get())) {
    loopback->SetMaxMessageBytes(limits.max_message_bytes);
  }
  return std::shared_ptr<Network>(std::move(network));
}

}  // namespace anvil
