// TcpServer: a TCP service on every worker. Each worker gets its own
// listener on the shared port (SO_REUSEPORT, so the kernel spreads incoming
// connections over them, as Nginx's workers do) and each accepted connection
// becomes an actor on the worker that accepted it, where it stays.
//
//   anvil::Task<absl::Status> Echo(anvil::Connection& connection) {
//     char buffer[4096];
//     while (true) {
//       connection.set_idle(true);    // a stop may close us while we wait
//       ANVIL_CO_ASSIGN_OR_RETURN(
//           size_t n, co_await connection.stream().Read(buffer,
//                                                       absl::Minutes(1)));
//       connection.set_idle(false);
//       if (n == 0) co_return absl::OkStatus();
//       ANVIL_CO_RETURN_IF_ERROR(co_await connection.stream().Write(
//           absl::string_view(buffer, n), absl::Seconds(10)));
//     }
//   }
//
//   ANVIL_ASSIGN_OR_RETURN(
//       std::unique_ptr<anvil::TcpServer> server,
//       anvil::TcpServer::Start(runtime, {.address = *SocketAddress::Parse(
//                                             "127.0.0.1:8080")}, Echo));
//   ...
//   server->RequestStop();   // or SIGTERM: the runtime's shutdown stops it
//   server->Wait();
//
// In a simulation (see tcp_listener.h), a server started on a simulated
// node has one listener, on that node's worker, and serves over the
// simulated network.
//
// Limits: past TcpServerOptions::max_connections open connections (over all
// workers) a new connection is accepted, sent `overload_reply` if one is set,
// and closed at once, and counted in stats().rejected. So a flood is refused
// quickly instead of piling up in the kernel's queue.
//
// Graceful stop (RequestStop(), the runtime shutting down, or destruction):
//   1. every listener closes: new connections are refused by the kernel;
//   2. each connection sees stopping(); one that is idle (set_idle(true):
//      waiting for its next request, none received) has its waiting read
//      cancelled (CANCELLED) at once, as is any later read it starts while
//      idle. So a handler need not check stopping() before waiting for the
//      next request: its read ends;
//   3. the others get up to `drain_timeout` to finish; then their waiting
//      and later operations are cancelled too and their sockets shut down.
// Wait() returns when every connection actor has returned.
//
// A handler's error is logged at debug level with the peer's address
// (clients that go away are routine); an exception thrown by a handler is
// logged as an error. Either way only that connection closes.
//
// Thread-safety: Start, RequestStop, Wait, stats and address from any
// thread. The handler runs on the connection's worker, in its actor.
//
// Example: services/http_hello/http_hello_server.cc.
#ifndef ANVIL_RUNTIME_IO_TCP_SERVER_H_
#define ANVIL_RUNTIME_IO_TCP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/task.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_stream.h"

namespace anvil {
namespace internal {
class ConnectionAccess;
}  // namespace internal

struct TcpServerOptions {
  // Names the actors ("<name>-listen-0", "<name>-conn") and log lines.
  std::string name = "tcp";
  // Where to listen; port 0 picks a free one (see TcpServer::address()).
  SocketAddress address = SocketAddress::Loopback(0);
  // One listener on each of this many workers (0, 1, 2, ...); 0 means every
  // worker of the runtime.
  size_t listeners = 0;
  // Queue of connections not yet accepted, per listener.
  int backlog = 1024;
  // Open connections over all workers; more are refused (see above).
  size_t max_connections = 10'000;
  // Sent (best effort, without waiting) to a connection refused by the
  // limit before it is closed; empty sends nothing.
  std::string overload_reply;
  // How long a graceful stop lets busy connections finish.
  absl::Duration drain_timeout = absl::Seconds(10);
  // TCP_NODELAY on accepted connections.
  bool no_delay = true;
};

// One accepted connection, as its handler sees it. Lives in the
// connection's actor; only that actor uses it.
class Connection {
 public:
  Connection(TcpStream stream, SocketAddress peer)
      : stream_(std::move(stream)), peer_(std::move(peer)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  TcpStream& stream() { return stream_; }
  const SocketAddress& peer() const { return peer_; }

  // True once the server is stopping: finish the exchange in progress (an
  // HTTP server says "Connection: close") and return.
  bool stopping() const { return stopping_; }

  // Between requests, a connection is idle: a stopping server closes idle
  // connections at once instead of waiting for them (their reads end with
  // CANCELLED). Setting it while the server stops cancels the stream right
  // away. A connection with received bytes not yet read is not cut, idle
  // or not: its next request has arrived, and the handler answers it
  // (seeing stopping()).
  void set_idle(bool idle);
  bool idle() const { return idle_; }

 private:
  friend class internal::ConnectionAccess;
  // Called by the server on the connection's worker.
  void BeginStop();

  TcpStream stream_;
  SocketAddress peer_;
  bool stopping_ = false;
  bool idle_ = false;
};

// Serves one connection; returning (or failing) closes it.
using ConnectionHandler = std::function<Task<absl::Status>(Connection&)>;

class TcpServer {
 public:
  struct Stats {
    uint64_t accepted = 0;  // connections handed to the handler
    uint64_t rejected = 0;  // refused by max_connections
    uint64_t active = 0;    // open now
    size_t listening = 0;  // listeners still open (0 once stopping closed them)
  };

  // Binds every listener (errors, such as a port in use, are returned here
  // and nothing is left running) and starts accepting.
  static absl::StatusOr<std::unique_ptr<TcpServer>> Start(
      Runtime& runtime, TcpServerOptions options, ConnectionHandler handler);

  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;
  // RequestStop(), then Wait() unless called on a runtime worker (which
  // cannot block on its own connections; the stop then finishes in the
  // background: the server's actors share its state, so nothing dangles).
  ~TcpServer();

  // The bound address, with the port picked if options asked for port 0.
  SocketAddress address() const;

  // Starts the graceful stop described above and returns at once.
  // Idempotent.
  void RequestStop();
  // Blocks until the stop finished. REQUIRES: not on a runtime worker.
  void Wait();
  // co_await: until the stop finished, from a worker.
  Task<> Stopped();

  Stats stats() const;

  struct State;  // shared with the server's actors

 private:
  explicit TcpServer(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_TCP_SERVER_H_
