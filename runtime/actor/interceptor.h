// Interceptors: code that runs around every call, on the client side (each
// call made through a generated client, SRef, to a local actor or over a
// Channel) and on the server side (each call a node serves, over gRPC or
// the loopback network alike). Authentication, logging, metrics and
// tracing sit here. Installed on the Runtime, for every call made or served
// on its workers:
//
//   class CallLog final : public anvil::ClientInterceptor {
//    public:
//     absl::Status BeforeCall(const anvil::ClientCallInfo& call,
//                             anvil::CallMetadata& metadata) override {
//       metadata.emplace_back("x-request-id", NewRequestId());
//       return absl::OkStatus();
//     }
//     void AfterCall(const anvil::ClientCallInfo& call,
//                    const absl::Status& outcome) override {
//       log_.info("{} -> {}", call.method, outcome.ToString());
//     }
//   };
//   anvil::Runtime runtime({.client_interceptors =
//   {std::make_shared<CallLog>()}});
//
// Order: Before in the order installed, After in reverse; each
// interceptor whose Before ran sees its After, the one that refused
// included. A refusal ends the call with its status: nothing is sent (no
// later Before runs), or the handler never runs.
//
// Which calls, where: a client interceptor sees each call made through a
// generated client: to a local actor (Before on the calling thread as the
// call is made, After when the caller takes the reply; the runtime is the
// actor's), or over a Channel (both on the worker that awaits the call,
// whose runtime it is). A call a transport serves and forwards to its
// actor is the server's, not a client call. A server interceptor sees each
// call a Node serves (every daemon it exposes, refusals of CLUSTER calls
// included), on the worker that serves it. With none installed a call
// costs one test of an empty list.
//
// Thread-safety: one interceptor object serves every worker at once, so
// its methods must be thread-safe.
#ifndef ANVIL_RUNTIME_ACTOR_INTERCEPTOR_H_
#define ANVIL_RUNTIME_ACTOR_INTERCEPTOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/remote_caller.h"

namespace anvil {

// A call a client makes.
struct ClientCallInfo {
  // The full method name, "/demo.kv.KvStore/Get".
  absl::string_view method;
  // Over a Channel (another process, or the simulated network), or to an
  // actor of this process.
  bool remote = false;
  // One-way: no reply; the outcome is whether it was sent.
  bool one_way = false;
  // Clock::MonotonicNanos time; INT64_MAX for none.
  int64_t deadline = INT64_MAX;
};

class ClientInterceptor {
 public:
  virtual ~ClientInterceptor() = default;
  // Before the call is sent. `metadata` travels with a remote call (see
  // CheckMetadata in call_metadata.h for what it may hold); a local call
  // drops it. An error fails the call with it, and nothing is sent.
  virtual absl::Status BeforeCall(const ClientCallInfo& call,
                                  CallMetadata& metadata) {
    return absl::OkStatus();
  }
  // Once the call has its outcome: the reply's status; for a one-way call
  // to a local actor, whether it was sent; for a one-way remote call, the
  // server's answer. CANCELLED if the caller dropped the call unawaited.
  virtual void AfterCall(const ClientCallInfo& call,
                         const absl::Status& outcome) {}
};

// A call a server serves.
struct ServerCallInfo {
  // The full method name, "/demo.kv.KvStore/Get".
  absl::string_view method;
};

class ServerInterceptor {
 public:
  virtual ~ServerInterceptor() = default;
  // Before the handler runs. `call.remote_caller()` says who called and
  // what metadata came along. An error answers the call with it: the
  // handler never runs.
  virtual absl::Status BeforeServe(const ServerCallInfo& call,
                                   CallContext& context) {
    return absl::OkStatus();
  }
  // Once the call is answered, with its status.
  virtual void AfterServe(const ServerCallInfo& call, CallContext& context,
                          const absl::Status& outcome) {}
};

using ClientInterceptors = std::vector<std::shared_ptr<ClientInterceptor>>;
using ServerInterceptors = std::vector<std::shared_ptr<ServerInterceptor>>;

namespace internal {
// How many Runtimes alive have client interceptors (Runtime keeps it):
// while none does, a call does not look for them.
inline std::atomic<int> runtimes_with_client_interceptors{0};
}  // namespace internal

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_INTERCEPTOR_H_
