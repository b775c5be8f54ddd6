#include "runtime/io/tcp_server.h"

#include <sys/socket.h>

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/async_event.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/log.h"
#include "runtime/core/sleep.h"
#include "runtime/core/thread_event.h"
#include "runtime/core/with_deadline.h"
#include "runtime/io/tcp_listener.h"

namespace anvil {
namespace {

// The watcher's only message: the server finished stopping.
struct ServerStopped {};
// Listener and connection actors take no messages.
struct NoMessages {};

// How long a listener waits after an accept error (such as running out of
// descriptors) before trying again: the failed connection stays queued, so
// retrying at once would spin.
constexpr absl::Duration kAcceptRetryDelay = absl::Milliseconds(10);

// One worker's listener and connections. Everything but `worker` is touched
// only on that worker.
struct Shard {
  size_t index = 0;
  internal::Worker* worker = nullptr;
  TcpListener listener;
  absl::flat_hash_set<Connection*> connections;
  bool stopping = false;
  // Set when the listener begins to drain; notified by the last connection.
  std::unique_ptr<AsyncEvent> all_closed;
};

}  // namespace

struct TcpServer::State {
  TcpServerOptions options;
  ConnectionHandler handler;
  SocketAddress address;
  std::vector<std::unique_ptr<Shard>> shards;
  ActorRef<ServerStopped> watcher;  // set once, before any listener runs

  std::atomic<bool> stop_requested{false};
  std::atomic<size_t> listeners_running{0};  // listener actors not finished
  std::atomic<size_t> listening{0};          // listeners not closed
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> active{0};
  std::atomic<int64_t> last_accept_error_log{0};
  AsyncEvent stopped_async;
  ThreadEvent stopped;

  void RequestStop();
};

namespace {

using State = TcpServer::State;

// Holds one unit of State::active while a connection is open, whether or
// not its actor ever runs (a spawn during runtime shutdown does not).
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<State> state)
      : state_(std::move(state)) {}
  ConnectionSlot(ConnectionSlot&&) noexcept = default;
  ConnectionSlot& operator=(ConnectionSlot&&) noexcept = default;
  ~ConnectionSlot() {
    if (state_) state_->active.fetch_sub(1, std::memory_order_relaxed);
  }
  State& state() { return *state_; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

namespace internal {
class ConnectionAccess {
 public:
  static void BeginStop(Connection& connection) { connection.BeginStop(); }
};
}  // namespace internal

namespace {

// Runs on the shard's worker.
internal::Detached BeginStopOn(Shard* shard) {
  shard->stopping = true;
  shard->listener.Cancel();  // the waiting Accept ends with CANCELLED
  for (Connection* connection : shard->connections) {
    internal::ConnectionAccess::BeginStop(*connection);
  }
  co_return;
}

}  // namespace

// An idle connection with bytes already received is not idle: a request
// has arrived and its handler has not read it yet. Cutting it would drop
// that request (and close with unread data, which resets the connection).
void Connection::set_idle(bool idle) {
  idle_ = idle;
  if (idle_ && stopping_ && stream_.BytesReadable() == 0) stream_.Cancel();
}

void Connection::BeginStop() {
  stopping_ = true;
  if (idle_ && stream_.BytesReadable() == 0) stream_.Cancel();
}

void TcpServer::State::RequestStop() {
  if (stop_requested.exchange(true)) return;
  for (const std::unique_ptr<Shard>& shard : shards) {
    BeginStopOn(shard.get()).StartOn(*shard->worker);
  }
}

namespace {

Task<> ServeConnection(ActorContext<NoMessages>& /*ctx*/, Shard* shard,
                       TcpStream stream, ConnectionSlot slot) {
  State& state = slot.state();
  SocketAddress peer = stream.peer_address();
  Connection connection(std::move(stream), peer);
  shard->connections.insert(&connection);
  if (shard->stopping) internal::ConnectionAccess::BeginStop(connection);
  absl::Status status;
  try {
    status = co_await state.handler(connection);
  } catch (const std::exception& e) {
    Log().error("{}: the handler of {} threw: {}", state.options.name,
                peer.ToString(), e.what());
  } catch (...) {
    Log().error("{}: the handler of {} threw", state.options.name,
                peer.ToString());
  }
  if (!status.ok()) {
    Log().debug("{}: connection from {} ended: {}", state.options.name,
                peer.ToString(), status.ToString());
  }
  connection.stream().Close();
  shard->connections.erase(&connection);
  if (shard->all_closed != nullptr && shard->connections.empty()) {
    shard->all_closed->Notify();
  }
}

// Refuses a connection over the limit: the reply if it fits the socket
// buffer at once (it always does for a short one), then close.
void Refuse(State& state, TcpStream& stream) {
  state.rejected.fetch_add(1, std::memory_order_relaxed);
  stream.TryWrite(state.options.overload_reply);
}

Task<> WaitFor(AsyncEvent& event) { co_await event.Wait(); }

// Closes what is left on `shard` once the listener stopped: lets busy
// connections finish within drain_timeout, then cuts them off.
Task<> Drain(State& state, Shard* shard) {
  if (shard->connections.empty()) co_return;
  shard->all_closed = std::make_unique<AsyncEvent>();
  absl::Status drained = co_await WithDeadline(state.options.drain_timeout,
                                               WaitFor(*shard->all_closed));
  if (drained.ok()) co_return;
  Log().info("{}: {} connection(s) on worker {} still busy after {}; closing",
             state.options.name, shard->connections.size(), shard->index,
             absl::FormatDuration(state.options.drain_timeout));
  for (Connection* connection : shard->connections) {
    connection->stream().Cancel();
    if (connection->stream().fd() >= 0) {
      ::shutdown(connection->stream().fd(), SHUT_RDWR);
    }
  }
  co_await shard->all_closed->Wait();
}

Task<> Listen(ActorContext<NoMessages>& ctx, std::shared_ptr<State> state,
              Shard* shard) {
  const TcpServerOptions& options = state->options;
  while (true) {
    absl::StatusOr<TcpStream> accepted = co_await shard->listener.Accept();
    if (!accepted.ok()) {
      if (shard->stopping || absl::IsCancelled(accepted.status())) break;
      // At most one line a second: a descriptor shortage repeats fast.
      const int64_t now = Clock::MonotonicNanos();
      if (now - state->last_accept_error_log.exchange(now) > 1'000'000'000) {
        Log().warn("{}: accept on {}: {}", options.name,
                   state->address.ToString(), accepted.status().ToString());
      }
      co_await Sleep(kAcceptRetryDelay);
      continue;
    }
    ConnectionSlot slot(state);
    if (state->active.fetch_add(1, std::memory_order_relaxed) >=
        options.max_connections) {
      Refuse(*state, *accepted);
      continue;  // the slot and the stream close the connection
    }
    state->accepted.fetch_add(1, std::memory_order_relaxed);
    if (options.no_delay) accepted->SetNoDelay(true).IgnoreError();
    ctx.runtime().Spawn(
        ServeConnection, shard, *std::move(accepted), std::move(slot),
        ActorOptions{.name = absl::StrCat(options.name, "-conn"),
                     .mailbox_capacity = 1,
                     .worker = static_cast<int>(shard->index)});
  }
  shard->listener.Close();
  state->listening.fetch_sub(1);
  co_await Drain(*state, shard);
  if (state->listeners_running.fetch_sub(1) == 1) {
    state->stopped_async.Notify();
    state->watcher.TrySend(ServerStopped{}).IgnoreError();
    state->stopped.Notify();
  }
}

// Turns the runtime's shutdown into a graceful stop, and lives until the
// stop finished so that the runtime waits for it.
Task<> Watch(ActorContext<ServerStopped>& ctx, std::shared_ptr<State> state) {
  // A message: the stop finished. Nothing: the runtime shuts down.
  if (!(co_await ctx.Receive()).has_value()) state->RequestStop();
  co_await state->stopped_async.Wait();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpServer>> TcpServer::Start(
    Runtime& runtime, TcpServerOptions options, ConnectionHandler handler) {
  if (!handler) {
    return absl::InvalidArgumentError(
        absl::StrCat("TcpServer ", options.name, ": no connection handler"));
  }
  if (options.max_connections == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TcpServer ", options.name, ": max_connections must be at least 1"));
  }
  size_t listeners =
      options.listeners == 0 ? runtime.workers() : options.listeners;
  if (listeners > runtime.workers()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TcpServer ", options.name, ": ", listeners,
                     " listeners asked for, but the runtime has ",
                     runtime.workers(), " workers (one listener per worker)"));
  }
  // SO_REUSEPORT is for IP sockets: a Unix path takes one listener.
  if (options.address.is_unix()) listeners = 1;
  size_t first_worker = 0;
#ifdef ANVIL_SIMULATION
  // A simulated node's sockets belong to its one worker.
  if (internal::current_sim_host != nullptr) {
    listeners = 1;
    first_worker = internal::Worker::Current()->index();
  }
#endif

  auto state = std::make_shared<State>();
  state->handler = std::move(handler);
  const ListenOptions listen{.backlog = options.backlog,
                             .reuse_port = !options.address.is_unix()};
  SocketAddress address = options.address;
  for (size_t i = 0; i < listeners; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->index = first_worker + i;
    shard->worker = &runtime.scheduler().worker(shard->index);
    absl::StatusOr<TcpListener> listener = TcpListener::Bind(address, listen);
    if (!listener.ok()) {
      return absl::Status(listener.status().code(),
                          absl::StrCat("TcpServer ", options.name, ": ",
                                       listener.status().message()));
    }
    // Port 0 picked a port for the first listener; the others share it.
    address = listener->local_address();
    shard->listener = *std::move(listener);
    state->shards.push_back(std::move(shard));
  }
  state->address = address;
  state->options = std::move(options);
  state->listeners_running.store(listeners);
  state->listening.store(listeners);

  state->watcher = runtime.Spawn(
      Watch, state,
      ActorOptions{.name = absl::StrCat(state->options.name, "-watch"),
                   .mailbox_capacity = 1});
  for (const std::unique_ptr<Shard>& shard : state->shards) {
    runtime.Spawn(Listen, state, shard.get(),
                  ActorOptions{.name = absl::StrCat(state->options.name,
                                                    "-listen-", shard->index),
                               .mailbox_capacity = 1,
                               .worker = static_cast<int>(shard->index)});
  }
  return std::unique_ptr<TcpServer>(new TcpServer(std::move(state)));
}

TcpServer::TcpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

TcpServer::~TcpServer() {
  RequestStop();
  if (internal::Worker::Current() == nullptr) Wait();
}

SocketAddress TcpServer::address() const { return state_->address; }

void TcpServer::RequestStop() { state_->RequestStop(); }

void TcpServer::Wait() { state_->stopped.Wait(); }

Task<> TcpServer::Stopped() {
  std::shared_ptr<State> state = state_;  // the server may go meanwhile
  co_await state->stopped_async.Wait();
}

TcpServer::Stats TcpServer::stats() const {
  return Stats{
      .accepted = state_->accepted.load(std::memory_order_relaxed),
      .rejected = state_->rejected.load(std::memory_order_relaxed),
      .active = state_->active.load(std::memory_order_relaxed),
      .listening = state_->listening.load(),
  };
}

}  // namespace anvil
