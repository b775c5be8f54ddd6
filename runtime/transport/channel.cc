#include "runtime/transport/channel.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "runtime/core/log.h"

namespace anvil {
namespace {

// One method served through a chain of interceptors; shared by the calls
// in flight, so a server may drop its handlers while they finish.
struct InterceptedMethod {
  std::string method;
  MethodHandler handler;
  std::shared_ptr<const ServerInterceptors> chain;
};

Task<absl::StatusOr<std::string>> ServeIntercepted(
    std::shared_ptr<const InterceptedMethod> served, std::string request,
    CallContext call) {
  const ServerInterceptors& chain = *served->chain;
  const ServerCallInfo info{.method = served->method};
  size_t entered = 0;
  absl::Status admitted;
  while (admitted.ok() && entered < chain.size()) {
    admitted = chain[entered++]->BeforeServe(info, call);
  }
  absl::StatusOr<std::string> reply =
      admitted.ok() ? co_await served->handler(std::move(request), call)
                    : absl::StatusOr<std::string>(std::move(admitted));
  while (entered > 0) chain[--entered]->AfterServe(info, call, reply.status());
  co_return reply;
}

std::atomic<uint64_t> refused_calls{0};

}  // namespace

namespace internal {

void LogRefusedCall(spdlog::logger& log, absl::string_view method,
                    const RemoteCaller* caller, absl::string_view why) {
  const uint64_t refused =
      refused_calls.fetch_add(1, std::memory_order_relaxed) + 1;
  if (refused > 10 && refused % 1000 != 0) return;
  const std::string address = caller == nullptr         ? "this process"
                              : caller->address.empty() ? "(no address)"
                                                        : caller->address;
  log.warn("refused {} from {}: {} (refusal {})", std::string(method), address,
           std::string(why), refused);
}

}  // namespace internal

MethodHandlers WithInterceptors(MethodHandlers handlers,
                                ServerInterceptors chain) {
  if (chain.empty()) return handlers;
  auto shared = std::make_shared<const ServerInterceptors>(std::move(chain));
  MethodHandlers intercepted;
  intercepted.reserve(handlers.size());
  for (auto& [method, handler] : handlers) {
    internal::Worker* const home = handler.home();
    auto served = std::make_shared<const InterceptedMethod>(
        InterceptedMethod{method, std::move(handler), shared});
    intercepted.emplace(method,
                        MethodHandler(
                            [served](std::string request, CallContext call) {
                              return ServeIntercepted(
                                  served, std::move(request), std::move(call));
                            },
                            home));
  }
  return intercepted;
}

}  // namespace anvil
