// http_hello: serves "Hello, World!" over HTTP/1.1 on every worker until
// SIGINT or SIGTERM, then stops gracefully. A node program (NodeMain) whose
// one daemon is the HTTP server.
//
//   ./bazelw run --config=opt //services/http_hello -- --address=127.0.0.1:8080
//   curl -i http://127.0.0.1:8080/
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "runtime/node/node_main.h"
#include "services/http_hello/http_hello_server.h"

ABSL_FLAG(std::string, address, "127.0.0.1:8080",
          "Where to serve HTTP (host:port; port 0 picks one).");
ABSL_FLAG(int, max_connections, 10000,
          "Open connections over all workers; more get 503 and are closed.");

int main(int argc, char** argv) {
  return anvil::NodeMain(
      argc, argv,
      {.usage = "http_hello: a minimal HTTP/1.1 server on every worker.\n\n"
                "  http_hello --address=127.0.0.1:8080 --anvil_threads=2",
       .runtime = {.name = "http_hello"},
       .bind = [](anvil::Factory&, anvil::Factory& node) -> absl::Status {
         absl::StatusOr<anvil::SocketAddress> address =
             anvil::SocketAddress::Parse(absl::GetFlag(FLAGS_address));
         if (!address.ok()) return address.status();
         if (absl::GetFlag(FLAGS_max_connections) <= 0) {
           return absl::InvalidArgumentError(
               "--max_connections must be positive");
         }
         anvil::TcpServerOptions server =
             anvil::http::HttpHelloServerOptions(*address);
         server.max_connections =
             static_cast<size_t>(absl::GetFlag(FLAGS_max_connections));
         node.Bind<anvil::http_hello::HttpHelloDaemon,
                   anvil::http::HttpHelloServer>(server);
         return node.Get<anvil::http_hello::HttpHelloDaemon>().status();
       }});
}
