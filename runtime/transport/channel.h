// Channel and MethodHandler: the two ends of a call between nodes, in
// serialized form. A transport (runtime/transport/grpc, .../loopback) carries
// bytes from a Channel to the MethodHandler a server registered under the
// method's full name ("/demo.kv.KvStore/Get", as gRPC names it). Generated
// clients (SRef) and servers (SRef::Handlers) speak this; user code rarely
// does.
//
//   std::shared_ptr<anvil::Channel> channel = network.Connect("n2");
//   absl::StatusOr<std::string> reply =
//       co_await channel->Call("/demo.kv.KvStore/Get", bytes, deadline);
//
// Errors a Channel gives: UNAVAILABLE (no server at the address, or it is
// stopping), DEADLINE_EXCEEDED (at `deadline`), UNIMPLEMENTED (no such
// method there), INVALID_ARGUMENT (the request does not parse), or the
// remote method's own status.
//
// Thread-safety: Channels and handlers are called from any worker,
// concurrently.
//
// Example: examples/greeter/greeter_main.cc (a ref over a Channel).
#ifndef ANVIL_RUNTIME_TRANSPORT_CHANNEL_H_
#define ANVIL_RUNTIME_TRANSPORT_CHANNEL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/interceptor.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/actor/method_handler.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/task.h"
#include "spdlog/logger.h"

namespace anvil {

class Channel {
 public:
  virtual ~Channel() = default;

  // Calls `method` with the serialized `request` and `metadata` (gRPC
  // metadata: lower-case keys, not "grpc-..."), which the server's
  // handler finds in its CallContext's RemoteCaller; completes with the
  // serialized reply or an error (see the file comment). `deadline` is
  // Clock::MonotonicNanos time, INT64_MAX for none. Await on a worker.
  virtual Task<absl::StatusOr<std::string>> Call(std::string method,
                                                 std::string request,
                                                 int64_t deadline,
                                                 CallMetadata metadata) = 0;
  // As above, with no metadata.
  Task<absl::StatusOr<std::string>> Call(std::string method,
                                         std::string request,
                                         int64_t deadline) {
    return Call(std::move(method), std::move(request), deadline, {});
  }

  // Opens a streaming call of `method` whose client end is `stream` (held
  // by the caller; its deadline is the call's): the channel becomes its
  // server end. It sends what the client writes, in order, writes what the
  // server sends, and ends the stream with the server's status, or with
  // the errors Call gives (UNAVAILABLE also when the connection breaks
  // mid-stream). A Cancel of `stream` cancels the call at the server.
  // Returns at once. Call on a worker. The default refuses:
  // UNIMPLEMENTED.
  virtual void OpenStream(std::string method, CallMetadata metadata,
                          std::shared_ptr<internal::ByteStream> stream) {
    stream->Finish(absl::UnimplementedError(
        absl::StrCat(method, ": this channel does not stream")));
  }
};

namespace internal {

// Logs to `log` that `method` refused a call from `caller` (null: from
// this process), and `why`: "refused /demo.kv.KvStore/Put from
// ipv4:127.0.0.1:5123: the request does not parse as demo.kv.PutRequest
// (refusal 3)". Logs the first 10 refusals of the process, then every
// 1000th, so that a flood of bad calls cannot flood the log. Thread-safe.
void LogRefusedCall(spdlog::logger& log, absl::string_view method,
                    const RemoteCaller* caller, absl::string_view why);

}  // namespace internal

// `handlers`, each served through `chain` (ServerInterceptor: Before in
// order, After in reverse; a refusal answers the call without the
// handler). Node applies the runtime's server interceptors this way to
// everything it serves; a direct user of Network::Serve can too.
MethodHandlers WithInterceptors(MethodHandlers handlers,
                                ServerInterceptors chain);

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_CHANNEL_H_
