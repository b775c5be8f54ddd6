// http_hello: serves "Hello, World!" over HTTP/1.1 on every worker until
// SIGINT or SIGTERM, then stops gracefully.
//
//   ./bazelw run --config=opt //services/http_hello -- --address=127.0.0.1:8080
//   curl -i http://127.0.0.1:8080/
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/log.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_server.h"
#include "services/http_hello/http_hello.h"

ABSL_FLAG(std::string, address, "127.0.0.1:8080",
          "Where to listen (host:port; port 0 picks one).");
ABSL_FLAG(int, threads, 0,
          "Worker threads, one listener each; 0: one per CPU.");
ABSL_FLAG(absl::Duration, idle_spin, absl::Microseconds(20),
          "The longest an idle worker polls before sleeping in epoll_wait "
          "(RuntimeOptions::idle_spin; workers stop spinning while it does "
          "not pay, as when work comes from sockets).");
ABSL_FLAG(int, max_connections, 10000,
          "Open connections over all workers; more get 503 and are closed.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<anvil::SocketAddress> address =
      anvil::SocketAddress::Parse(absl::GetFlag(FLAGS_address));
  if (!address.ok()) {
    std::fprintf(stderr, "http_hello: %s\n",
                 address.status().ToString().c_str());
    return 2;
  }
  anvil::Runtime runtime(anvil::RuntimeOptions{
      .threads = static_cast<size_t>(absl::GetFlag(FLAGS_threads)),
      .name = "http",
      .idle_spin = absl::GetFlag(FLAGS_idle_spin)});
  anvil::TcpServerOptions server_options =
      anvil::http::HttpHelloServerOptions(*address);
  server_options.max_connections =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_connections));
  const anvil::http::HttpHelloOptions options;
  absl::StatusOr<std::unique_ptr<anvil::TcpServer>> server =
      anvil::TcpServer::Start(
          runtime, server_options, [&options](anvil::Connection& connection) {
            return anvil::http::ServeHttpHello(connection, options);
          });
  if (!server.ok()) {
    std::fprintf(stderr, "http_hello: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }
  std::printf("http_hello listening on %s with %zu workers\n",
              (*server)->address().ToString().c_str(), runtime.workers());
  std::fflush(stdout);
  absl::Status run = runtime.Run();  // until a signal stops it all
  (*server)->Wait();
  const anvil::TcpServer::Stats stats = (*server)->stats();
  std::printf("http_hello stopped: %llu connections served, %llu refused\n",
              static_cast<unsigned long long>(stats.accepted),
              static_cast<unsigned long long>(stats.rejected));
  return run.ok() ? 0 : 1;
}
