// MethodHandler: how a server reaches what serves one method: the
// serialized request and the call's CallContext in, the serialized reply
// out; or, for a streaming method, the server end of a stream of
// serialized messages. The seam between actors (a generated SRef::Handlers
// makes them) and the transports that serve them (runtime/transport: gRPC,
// loopback).
//
//   anvil::MethodHandlers handlers = StorageRef::Handlers(storage);
//   const anvil::MethodHandler& read = handlers.at("/demo.kv.Storage/Read");
//   absl::StatusOr<std::string> reply =
//       co_await read(request_bytes, anvil::CallContext());
//
//   // A streaming method: the transport holds the client end of `stream`.
//   auto stream = std::make_shared<anvil::internal::ByteStream>(64, deadline);
//   co_await handlers.at("/demo.kv.KvStore/Watch")
//       .ServeStream(stream, anvil::CallContext(deadline,
//                                               &stream->cancellation()));
#ifndef ANVIL_RUNTIME_ACTOR_METHOD_HANDLER_H_
#define ANVIL_RUNTIME_ACTOR_METHOD_HANDLER_H_

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/task.h"

namespace anvil {

// Serves one method: the serialized request in, the serialized reply out,
// or a stream. Optionally names the worker of the actor that serves it,
// where a transport best starts the call: served there, the call reaches
// the actor and its reply comes back without crossing threads.
class MethodHandler {
 public:
  using Function = std::function<Task<absl::StatusOr<std::string>>(
      std::string request, CallContext call)>;
  // Serves the server end of `stream` until it has ended (the task
  // completes after the stream's Finish or Cancel). `call` carries the
  // stream's deadline and remote caller.
  using StreamFunction = std::function<Task<>(
      std::shared_ptr<internal::ByteStream> stream, CallContext call)>;

  MethodHandler() = default;
  // Implicit, so that a lambda is a handler.
  template <typename F>
  requires std::is_constructible_v<Function, F> MethodHandler(
      F function, internal::Worker* home = nullptr)
      : function_(std::move(function)), home_(home) {}

  // A streaming method's handler.
  static MethodHandler Streaming(StreamFunction function,
                                 internal::Worker* home = nullptr) {
    MethodHandler handler;
    handler.stream_ = std::move(function);
    handler.home_ = home;
    return handler;
  }

  // Whether the method streams: transports serve it with ServeStream, and
  // operator() refuses it (UNIMPLEMENTED), as ServeStream refuses a unary
  // method.
  bool streaming() const { return static_cast<bool>(stream_); }

  Task<absl::StatusOr<std::string>> operator()(std::string request,
                                               CallContext call) const {
    if (!function_) [[unlikely]] {
      return Refuse("a streaming method, called as a unary one");
    }
    return function_(std::move(request), call);
  }
  Task<> ServeStream(std::shared_ptr<internal::ByteStream> stream,
                     CallContext call) const {
    if (!stream_) [[unlikely]] {
      stream->Finish(absl::UnimplementedError(
          "a unary method, called as a streaming one"));
      return Done();
    }
    return stream_(std::move(stream), call);
  }

  // The serving actor's worker, or null (any worker will do).
  internal::Worker* home() const { return home_; }

 private:
  static Task<absl::StatusOr<std::string>> Refuse(const char* why) {
    co_return absl::UnimplementedError(why);
  }
  static Task<> Done() { co_return; }

  Function function_;
  StreamFunction stream_;
  internal::Worker* home_ = nullptr;
};

// A server's methods, by full method name.
using MethodHandlers = absl::flat_hash_map<std::string, MethodHandler>;

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_METHOD_HANDLER_H_
