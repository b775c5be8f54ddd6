// RemoteCaller: what the transport serving a call knows of the caller on
// the other end: who it proved to be, who it says it is, where it called
// from, the metadata it sent, and the metadata the server sends back. A
// served call's CallContext holds one (CallContext::remote_caller()); a call
// made inside the process has none.
//
//   Task<absl::StatusOr<GetReply>> Get(anvil::CallContext& call,
//                                      const GetRequest& request) override {
//     if (anvil::RemoteCaller* caller = call.remote_caller()) {
//       log_.info("Get from {}", caller->address);
//       caller->AddResponseMetadata("x-served-by", "n1");
//     }
//     ...
//   }
//
// The transport fills every field but `response` before the call reaches
// the handler, and reads `response` once the handler has replied.
// Thread-safety: the fields but `response` are immutable once the call is
// served; `response` is guarded, so a handler still running after its
// caller went away may write it while the transport discards it.
#ifndef ANVIL_RUNTIME_ACTOR_REMOTE_CALLER_H_
#define ANVIL_RUNTIME_ACTOR_REMOTE_CALLER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "runtime/core/mutex.h"

namespace anvil {

// Metadata as gRPC carries it: lower-case keys, in order, keys may repeat.
using CallMetadata = std::vector<std::pair<std::string, std::string>>;

// The metadata header in which a node names itself on a connection that
// cannot prove it (plaintext, or TLS without a client certificate).
inline constexpr char kClaimedPeerHeader[] = "anvil-peer";

struct RemoteCaller {
  // The names the caller proved: its TLS certificate's subject common name
  // and subject alternative names (mutual TLS), or its node's name (the
  // simulated network, where each node's view names it). Empty: nothing
  // was proven.
  std::vector<std::string> verified_names;
  // The node name it gave in the `anvil-peer` header, unproven; empty if
  // none. Trusted only by a node that cannot verify peers, and then with a
  // warning (see docs/transport.md, "Security").
  std::string claimed_name;
  // Where the call came from: "ipv4:127.0.0.1:51234" (gRPC) or the calling
  // node's name (loopback; empty for a caller that is no node).
  std::string address;
  // What the caller sent along with the request.
  CallMetadata request_metadata;

  // What the server sends back with the reply, as gRPC initial metadata.
  // Keys must be lower-case and not start with "grpc-".
  void AddResponseMetadata(std::string key, std::string value) {
    MutexLock lock(mu_);
    response_metadata_.emplace_back(std::move(key), std::move(value));
  }
  CallMetadata TakeResponseMetadata() {
    MutexLock lock(mu_);
    return std::exchange(response_metadata_, {});
  }

 private:
  Mutex mu_;
  CallMetadata response_metadata_ ABSL_GUARDED_BY(mu_);
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_REMOTE_CALLER_H_
