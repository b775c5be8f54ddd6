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
// The transport fills the public fields before the call reaches the
// handler, and takes the response metadata once the handler has replied.
// Thread-safety: the public fields are immutable once the call is served;
// the response metadata is guarded, so a handler still running after its
// caller went away may add to it while the transport discards it.
#ifndef ANVIL_RUNTIME_ACTOR_REMOTE_CALLER_H_
#define ANVIL_RUNTIME_ACTOR_REMOTE_CALLER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "runtime/actor/call_metadata.h"
#include "runtime/core/mutex.h"

namespace anvil {

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

  // What the server sends back with the reply, as gRPC initial metadata
  // (over gRPC; the loopback network drops it). Pairs that CheckMetadata
  // refuses are dropped with a warning.
  void AddResponseMetadata(std::string key, std::string value) {
    MutexLock lock(mu_);
    response_metadata_.emplace_back(std::move(key), std::move(value));
  }
  CallMetadata TakeResponseMetadata() {
    MutexLock lock(mu_);
    return std::exchange(response_metadata_, {});
  }

  // What the server sends after the last reply, with the status, as gRPC
  // trailing metadata (over gRPC; the loopback network drops it): for a
  // stream, what it learned while streaming. Checked as above.
  void AddTrailingMetadata(std::string key, std::string value) {
    MutexLock lock(mu_);
    trailing_metadata_.emplace_back(std::move(key), std::move(value));
  }
  CallMetadata TakeTrailingMetadata() {
    MutexLock lock(mu_);
    return std::exchange(trailing_metadata_, {});
  }

 private:
  Mutex mu_;
  CallMetadata response_metadata_ ABSL_GUARDED_BY(mu_);
  CallMetadata trailing_metadata_ ABSL_GUARDED_BY(mu_);
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_REMOTE_CALLER_H_
