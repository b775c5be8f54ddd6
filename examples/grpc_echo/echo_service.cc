#include "examples/grpc_echo/echo_service.h"

#include <string>

namespace anvil::examples {

grpc::ServerUnaryReactor* EchoService::Say(grpc::CallbackServerContext* context,
                                           const EchoRequest* request,
                                           EchoReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->text().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "EchoRequest.text must not be empty"));
    return reactor;
  }
  if (request->times() > kMaxEchoTimes) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "EchoRequest.times is " + std::to_string(request->times()) +
            ", more than the limit of " + std::to_string(kMaxEchoTimes)));
    return reactor;
  }
  const uint32_t times = request->times() == 0 ? 1 : request->times();
  std::string* text = reply->mutable_text();
  text->reserve(request->text().size() * times);
  for (uint32_t i = 0; i < times; ++i) text->append(request->text());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace anvil::examples
