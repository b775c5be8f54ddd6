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

// Runs the BeforeServe of `chain` in order until one refuses; `entered`
// counts those that ran (their AfterServe is owed). The first refusal, or
// OK.
absl::Status BeforeServe(const ServerInterceptors& chain,
                         const ServerCallInfo& info, CallContext& call,
                         size_t& entered) {
  absl::Status admitted;
  while (admitted.ok() && entered < chain.size()) {
    admitted = chain[entered++]->BeforeServe(info, call);
  }
  return admitted;
}

Task<absl::StatusOr<std::string>> ServeIntercepted(
    std::shared_ptr<const InterceptedMethod> served, std::string request,
    CallContext call) {
  const ServerInterceptors& chain = *served->chain;
  const ServerCallInfo info{.method = served->method};
  size_t entered = 0;
  absl::Status admitted = BeforeServe(chain, info, call, entered);
  absl::StatusOr<std::string> reply =
      admitted.ok() ? co_await served->handler(std::move(request), call)
                    : absl::StatusOr<std::string>(std::move(admitted));
  while (entered > 0) chain[--entered]->AfterServe(info, call, reply.status());
  co_return reply;
}

// As ServeIntercepted, for a streaming method: the interceptors see the
// stream's opening (BeforeServe) and its end (AfterServe).
Task<> ServeStreamIntercepted(std::shared_ptr<const InterceptedMethod> served,
                              std::shared_ptr<internal::ByteStream> stream,
                              CallContext call) {
  const ServerInterceptors& chain = *served->chain;
  const ServerCallInfo info{.method = served->method};
  size_t entered = 0;
  absl::Status admitted = BeforeServe(chain, info, call, entered);
  if (admitted.ok()) {
    co_await served->handler.ServeStream(stream, call);
  } else {
    stream->Finish(std::move(admitted));
  }
  const absl::Status outcome = stream->end().value_or(
      absl::InternalError("the stream's handler returned before its end"));
  while (entered > 0) chain[--entered]->AfterServe(info, call, outcome);
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
    const bool streaming = handler.streaming();
    auto served = std::make_shared<const InterceptedMethod>(
        InterceptedMethod{method, std::move(handler), shared});
    if (streaming) {
      intercepted.emplace(
          method, MethodHandler::Streaming(
                      [served](std::shared_ptr<internal::ByteStream> stream,
                               CallContext call) {
                        return ServeStreamIntercepted(served, std::move(stream),
                                                      call);
                      },
                      home));
      continue;
    }
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
