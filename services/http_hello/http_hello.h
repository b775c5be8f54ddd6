// http_hello: a minimal HTTP/1.1 server on TcpServer, the example of I/O
// actors. Every request gets the same small body; connections are kept
// alive and pipelined requests are answered in order, with one write per
// batch.
//
//   anvil::http::HttpHelloOptions options;
//   auto server = anvil::TcpServer::Start(
//       runtime, anvil::http::HttpHelloServerOptions(address),
//       [options](anvil::Connection& c) {
//         return anvil::http::ServeHttpHello(c, options);
//       });
//
// Outcomes, per connection:
//   - a request that does not parse: 400 (431 if its head exceeds
//     max_head_bytes, 501 for Transfer-Encoding, 505 for HTTP/2+), then
//     close;
//   - a head not complete within header_timeout of its first byte (a client
//     sending one byte at a time forever): 408, then close;
//   - no request within idle_timeout on a kept-alive connection: close;
//   - a peer that does not read our responses: the write waits at most
//     write_timeout, then the connection closes. We stop reading while a
//     write waits, so memory per connection stays bounded by the buffers;
//   - a server stopping: the request in progress is answered with
//     "Connection: close"; an idle connection closes at once.
// Before closing after an error the server shuts down its sending side and
// discards what the client still sends for a moment ("lingering close"), so
// the client reads the error instead of a reset.
#ifndef ANVIL_SERVICES_HTTP_HELLO_HTTP_HELLO_H_
#define ANVIL_SERVICES_HTTP_HELLO_HTTP_HELLO_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/core/task.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_server.h"

namespace anvil::http {

struct HttpHelloOptions {
  // The response body, sent as text/plain.
  std::string body = "Hello, World!\n";
  // Longest request line plus headers; longer gets 431.
  size_t max_head_bytes = 8192;
  // From a request's first byte to the end of its head (and from the end
  // of a head to the end of its body and of the next head, if pipelined).
  absl::Duration header_timeout = absl::Seconds(10);
  // A kept-alive connection waiting for its next request.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Writing one batch of responses.
  absl::Duration write_timeout = absl::Seconds(10);
};

// TcpServer options for http_hello on `address`: its name, and a 503 reply
// for connections over the limit.
TcpServerOptions HttpHelloServerOptions(const SocketAddress& address);

// Serves one connection until it closes. Errors are the connection's
// (a reset, a timeout); they end only this connection.
Task<absl::Status> ServeHttpHello(Connection& connection,
                                  const HttpHelloOptions& options);

}  // namespace anvil::http

#endif  // ANVIL_SERVICES_HTTP_HELLO_HTTP_HELLO_H_
