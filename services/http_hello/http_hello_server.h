// HttpHelloServer: http_hello as the HttpHello daemon of a node
// (http_hello.proto), so that a node program runs it, a crash of its node
// stops it and a restart builds it again. Prepare binds the listening
// sockets (an address in use fails the node's start, naming it); Run serves
// until Stop, which stops the server gracefully (runtime/io/tcp_server.h).
//
//   node.Bind<anvil::http_hello::HttpHelloDaemon,
//             anvil::http::HttpHelloServer>(
//       anvil::http::HttpHelloServerOptions(address),
//       anvil::http::HttpHelloOptions{});
//   // services/http_hello/http_hello_main.cc
//
// Thread-safety: the daemon's lifecycle calls come from its node, one at a
// time; the server's connections run on every worker.
#ifndef ANVIL_SERVICES_HTTP_HELLO_HTTP_HELLO_SERVER_H_
#define ANVIL_SERVICES_HTTP_HELLO_HTTP_HELLO_SERVER_H_

#include <memory>

#include "absl/status/status.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/task.h"
#include "runtime/daemon/daemon.h"
#include "runtime/io/tcp_server.h"
#include "services/http_hello/http_hello.anvil.h"
#include "services/http_hello/http_hello.h"
#include "spdlog/logger.h"

namespace anvil::http {

class HttpHelloServer final : public http_hello::HttpHelloDaemon {
 public:
  HttpHelloServer(DaemonContext& context, TcpServerOptions server_options,
                  HttpHelloOptions options = {});

  // Binds server_options.address. The TcpServer's errors (UNAVAILABLE for
  // an address in use, say), with the daemon's address in the message.
  Task<absl::Status> Prepare() override;
  // Until Stop() ended the server; logs what it served.
  Task<absl::Status> Run() override;
  Task<> Stop() override;

  // Where it listens (with the port picked if the options asked for 0).
  // REQUIRES: Prepare() succeeded.
  SocketAddress address() const { return server_->address(); }
  TcpServer::Stats stats() const { return server_->stats(); }

 private:
  Runtime& runtime_;
  spdlog::logger& log_;  // the node's
  const TcpServerOptions server_options_;
  const HttpHelloOptions options_;
  std::unique_ptr<TcpServer> server_;
};

}  // namespace anvil::http

#endif  // ANVIL_SERVICES_HTTP_HELLO_HTTP_HELLO_SERVER_H_
