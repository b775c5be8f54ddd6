// CallMetadata: the key/value pairs that travel with a remote call, as
// gRPC metadata does, over gRPC and the loopback network alike. A client
// interceptor adds them (runtime/actor/interceptor.h); the serving handler
// reads them from its CallContext's RemoteCaller.
//
//   anvil::CallMetadata metadata = {{"x-request-id", "42"}};
//   absl::Status valid = anvil::CheckMetadata(metadata);  // OK
//   anvil::CheckMetadata({{"X-Id", "1"}});  // INVALID_ARGUMENT
#ifndef ANVIL_RUNTIME_ACTOR_CALL_METADATA_H_
#define ANVIL_RUNTIME_ACTOR_CALL_METADATA_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace anvil {

// In order; keys may repeat.
using CallMetadata = std::vector<std::pair<std::string, std::string>>;

// The metadata header in which a node names itself on a connection that
// cannot prove it (plaintext, or TLS without a client certificate).
inline constexpr char kClaimedPeerHeader[] = "anvil-peer";

// OK if every pair is one gRPC can carry: a key of [0-9a-z_.-], not empty
// and not starting with "grpc-" (gRPC's own); a value of printable ASCII
// and spaces, unless the key ends in "-bin" (any bytes). Otherwise
// INVALID_ARGUMENT naming the pair. Both networks check it before a call
// leaves, so a bad pair fails the call the same way in every world.
inline absl::Status CheckMetadata(const CallMetadata& metadata) {
  for (const auto& [key, value] : metadata) {
    bool key_ok = !key.empty() && !absl::StartsWith(key, "grpc-");
    for (char c : key) {
      key_ok = key_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '_' || c == '.' || c == '-');
    }
    if (!key_ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metadata key '", absl::CEscape(key),
          "' is not one gRPC carries: lower-case letters, digits, '_', '.', "
          "'-', not starting with 'grpc-'"));
    }
    if (absl::EndsWith(key, "-bin")) continue;
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metadata value of '", key,
            "' has a byte that is not printable ASCII (name the key "
            "'...-bin' to send bytes)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_CALL_METADATA_H_
