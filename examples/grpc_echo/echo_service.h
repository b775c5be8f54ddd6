// EchoService: a gRPC callback-API implementation of anvil.examples.Echo.
//
// The smallest real server in the tree, used by the quick start and by the
// test that checks the offline toolchain end to end.
//
//   anvil::examples::EchoService service;
//   grpc::ServerBuilder builder;
//   int port = 0;
//   builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
//                            &port);
//   builder.RegisterService(&service);
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//
// Thread-safe: gRPC calls Say() from its own threads; the service keeps no
// state.
#ifndef ANVIL_EXAMPLES_GRPC_ECHO_ECHO_SERVICE_H_
#define ANVIL_EXAMPLES_GRPC_ECHO_ECHO_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "examples/grpc_echo/echo.grpc.pb.h"

namespace anvil::examples {

// Most repetitions one request may ask for.
inline constexpr uint32_t kMaxEchoTimes = 100;

class EchoService final : public Echo::CallbackService {
 public:
  // Replies with `text` repeated `times` times (0 counts as 1).
  // Errors: INVALID_ARGUMENT for empty text or `times` over kMaxEchoTimes.
  grpc::ServerUnaryReactor* Say(grpc::CallbackServerContext* context,
                                const EchoRequest* request,
                                EchoReply* reply) override;
};

}  // namespace anvil::examples

#endif  // ANVIL_EXAMPLES_GRPC_ECHO_ECHO_SERVICE_H_
