// MethodHandler: how a server reaches what serves one method: the
// serialized request and the call's CallContext in, the serialized reply
// out. The seam between actors (a generated SRef::Handlers makes them) and
// the transports that serve them (runtime/transport: gRPC, loopback).
//
//   anvil::MethodHandlers handlers = StorageRef::Handlers(storage);
//   absl::StatusOr<std::string> reply = co_await handlers.at(
//       "/demo.kv.Storage/Read")(request_bytes, anvil::CallContext());
#ifndef ANVIL_RUNTIME_ACTOR_METHOD_HANDLER_H_
#define ANVIL_RUNTIME_ACTOR_METHOD_HANDLER_H_

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/actor/call_context.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/task.h"

namespace anvil {

// Serves one method: the serialized request in, the serialized reply out.
// Optionally names the worker of the actor that serves it, where a
// transport best starts the call: served there, the call reaches the actor
// and its reply comes back without crossing threads.
class MethodHandler {
 public:
  using Function = std::function<Task<absl::StatusOr<std::string>>(
      std::string request, CallContext call)>;

  MethodHandler() = default;
  // Implicit, so that a lambda is a handler.
  template <typename F>
  requires std::is_constructible_v<Function, F> MethodHandler(
      F function, internal::Worker* home = nullptr)
      : function_(std::move(function)), home_(home) {}

  Task<absl::StatusOr<std::string>> operator()(std::string request,
                                               CallContext call) const {
    return function_(std::move(request), call);
  }

  // The serving actor's worker, or null (any worker will do).
  internal::Worker* home() const { return home_; }

 private:
  Function function_;
  internal::Worker* home_ = nullptr;
};

// A server's methods, by full method name.
using MethodHandlers = absl::flat_hash_map<std::string, MethodHandler>;

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_METHOD_HANDLER_H_
