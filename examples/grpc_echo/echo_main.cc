// echo: starts the Echo gRPC server on an ephemeral 127.0.0.1 port, calls it
// with a real client a few times (one call is rejected on purpose), prints
// each result and shuts down.
//
//   ./bazelw run //examples/grpc_echo:echo -- --text=anvil --times=3
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/grpc_echo/echo_service.h"

ABSL_FLAG(std::string, text, "hello from anvil", "Text to echo.");
ABSL_FLAG(uint32_t, times, 2, "How many times the server repeats the text.");

namespace {

void Call(anvil::examples::Echo::Stub& stub, const std::string& text,
          uint32_t times) {
  anvil::examples::EchoRequest request;
  request.set_text(text);
  request.set_times(times);
  anvil::examples::EchoReply reply;
  grpc::ClientContext context;
  grpc::Status status = stub.Say(&context, request, &reply);
  if (status.ok()) {
    std::printf("Say(\"%s\", %u) -> \"%s\"\n", text.c_str(), times,
                reply.text().c_str());
  } else {
    std::printf("Say(\"%s\", %u) -> error %d: %s\n", text.c_str(), times,
                static_cast<int>(status.error_code()),
                status.error_message().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);

  anvil::examples::EchoService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo: could not start the gRPC server\n");
    return 1;
  }
  std::printf("echo server listening on 127.0.0.1:%d\n", port);

  auto stub = anvil::examples::Echo::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  Call(*stub, absl::GetFlag(FLAGS_text), absl::GetFlag(FLAGS_times));
  Call(*stub, "", 1);  // rejected: INVALID_ARGUMENT

  server->Shutdown();
  std::printf("echo server stopped\n");
  return 0;
}
