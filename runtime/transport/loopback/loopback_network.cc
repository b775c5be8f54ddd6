#include "runtime/transport/loopback/loopback_network.h"

#include <algorithm>
#include <coroutine>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/internal/concurrent_calls.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/core/buggify.h"
#include "runtime/core/clock.h"
#include "runtime/core/fnv1a.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/core/with_deadline.h"
#include "runtime/transport/stream_call.h"

namespace anvil {

// One served address: its node and handlers, shared with the calls in
// flight.
struct Endpoint {
  std::string node;
  MethodHandlers handlers;
};

// The fate of one message, drawn when it is sent.
struct Delivery {
  bool lost = false;
  bool duplicate = false;
  int64_t latency = 0;            // ns
  int64_t duplicate_latency = 0;  // ns, of the copy, drawn on its own
};

// A stream between two nodes, while it runs: what a cut link or a machine
// going down breaks.
struct LiveStream {
  std::string source;
  std::string destination;
  std::weak_ptr<internal::ByteStream> client;
  std::weak_ptr<internal::ByteStream> server;
};

struct LoopbackNetwork::State {
  mutable Mutex mu;
  std::vector<LiveStream> streams ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::shared_ptr<const Endpoint>> servers
      ABSL_GUARDED_BY(mu);
  // "<address>/<service>" -> serving, as servers set it.
  absl::flat_hash_map<std::string, bool> serving ABSL_GUARDED_BY(mu);

  std::mt19937_64* random ABSL_GUARDED_BY(mu) = nullptr;
  LinkOptions links ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::pair<std::string, std::string>, LinkOptions>
      link_overrides ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::pair<std::string, std::string>> blocked
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::string> isolated ABSL_GUARDED_BY(mu);
  // Machines that are down (SetNodeDown), and how many times each went
  // down: a message sent to or from an earlier incarnation is not
  // delivered to a later one.
  absl::flat_hash_set<std::string> down ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, uint64_t> incarnations ABSL_GUARDED_BY(mu);
  // The node that last served each address, so that a call to an address
  // whose machine is down is lost rather than refused.
  absl::flat_hash_map<std::string, std::string> address_nodes
      ABSL_GUARDED_BY(mu);
  LoopbackNetwork::Trace trace ABSL_GUARDED_BY(mu);
  int64_t connection_timeout ABSL_GUARDED_BY(mu) = 1'000'000'000;
  size_t max_message_bytes ABSL_GUARDED_BY(mu) = 4 << 20;
  Stats stats ABSL_GUARDED_BY(mu);
  // How far each node's clock runs ahead (ns; negative: behind).
  absl::flat_hash_map<std::string, int64_t> clock_offsets ABSL_GUARDED_BY(mu);

  // `deadline` on `from`'s clock, as the same instant on `to`'s: what a
  // real transport achieves by sending the time left rather than the time.
  int64_t TranslateDeadline(int64_t deadline, const std::string& from,
                            const std::string& to) const {
    if (deadline == INT64_MAX) return deadline;
    MutexLock lock(mu);
    auto offset = [&](const std::string& node) -> int64_t {
      auto it = clock_offsets.find(node);
      return it == clock_offsets.end() ? 0 : it->second;
    };
    return deadline - offset(from) + offset(to);
  }

  uint64_t Incarnation(const std::string& node) const {
    MutexLock lock(mu);
    auto it = incarnations.find(node);
    return it == incarnations.end() ? 0 : it->second;
  }

  bool IsDown(const std::string& node) const {
    MutexLock lock(mu);
    return down.contains(node);
  }

  // Whether the machine that served `address` last is down.
  bool AddressIsDown(const std::string& address) const {
    MutexLock lock(mu);
    auto it = address_nodes.find(address);
    return it != address_nodes.end() && down.contains(it->second);
  }

  void Record(const char* what, uint64_t a, uint64_t b) const {
    LoopbackNetwork::Trace sink;
    {
      MutexLock lock(mu);
      sink = trace;
    }
    if (sink) sink(what, a, b);
  }

  std::shared_ptr<const Endpoint> Find(const std::string& address) const {
    MutexLock lock(mu);
    auto it = servers.find(address);
    return it == servers.end() ? nullptr : it->second;
  }

  // Draws the fate of a message from `from` to `to` (empty: no node).
  Delivery Send(const std::string& from, const std::string& to) {
    MutexLock lock(mu);
    Delivery delivery;
    if (CutLocked(from, to)) {
      delivery.lost = true;
      ++stats.lost;
      return delivery;
    }
    auto it = link_overrides.find({from, to});
    const LinkOptions& link = it != link_overrides.end() ? it->second : links;
    const int64_t min = Clock::ToNanos(link.min_latency);
    const int64_t max = std::max(min, Clock::ToNanos(link.max_latency));
    auto draw_latency = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) -> int64_t {
      if (random == nullptr) return min;
      if (link.latency) {
        return std::max<int64_t>(0, Clock::ToNanos(link.latency(*random)));
      }
      if (max <= min) return min;
      return min + static_cast<int64_t>((*random)() %
                                        static_cast<uint64_t>(max - min + 1));
    };
    delivery.latency = draw_latency();
    if (random != nullptr) {
      delivery.lost = link.drop > 0 && Chance() < link.drop;
      delivery.duplicate =
          !delivery.lost && link.duplicate > 0 && Chance() < link.duplicate;
      if (delivery.duplicate) delivery.duplicate_latency = draw_latency();
    }
    if (delivery.lost) {
      ++stats.lost;
    } else {
      ++stats.delivered;
      if (delivery.duplicate) ++stats.duplicated;
    }
    return delivery;
  }

  // Uniform in [0, below); 0 without a generator.
  uint64_t Draw(uint64_t below) {
    MutexLock lock(mu);
    return random == nullptr ? 0 : (*random)() % below;
  }

  // Uniform in [0, 1).
  double Chance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return static_cast<double>((*random)() >> 11) * 0x1.0p-53;
  }

  // RESOURCE_EXHAUSTED if a receiver refuses `message` for its size, as
  // gRPC words it.
  absl::Status CheckSize(const std::string& message) const {
    MutexLock lock(mu);
    if (message.size() <= max_message_bytes) return absl::OkStatus();
    return absl::ResourceExhaustedError(
        absl::StrCat("Received message larger than max (", message.size(),
                     " vs. ", max_message_bytes, ")"));
  }

  size_t MaxMessageBytes() const {
    MutexLock lock(mu);
    return max_message_bytes;
  }

  int64_t ConnectionTimeout() const {
    MutexLock lock(mu);
    return connection_timeout;
  }

  void AddStream(LiveStream stream) {
    MutexLock lock(mu);
    // Forget the streams that ended, as many as are added.
    std::erase_if(streams, [](const LiveStream& live) {
      return live.client.expired() && live.server.expired();
    });
    streams.push_back(std::move(stream));
  }

  // Breaks, with UNAVAILABLE at both ends, each stream whose link is now
  // cut (a partition, a block, a machine down), as a connection whose
  // peer stops answering breaks (over gRPC, at its keepalive timeout;
  // here at once).
  void BreakCutStreams() {
    std::vector<std::pair<std::shared_ptr<internal::ByteStream>, std::string>>
        broken;
    {
      MutexLock lock(mu);
      for (const LiveStream& live : streams) {
        const bool cut = CutLocked(live.source, live.destination) ||
                         CutLocked(live.destination, live.source);
        if (!cut) continue;
        const std::string why = absl::StrCat(
            "loopback: the stream's connection between '", live.source,
            "' and '", live.destination, "' broke (the link is cut)");
        for (const auto& end : {live.client, live.server}) {
          if (std::shared_ptr<internal::ByteStream> stream = end.lock()) {
            broken.emplace_back(std::move(stream), why);
          }
        }
      }
    }
    for (auto& [stream, why] : broken) {
      stream->Cancel(absl::UnavailableError(why));
    }
  }

  // Whether messages from `from` to `to` are lost for good now.
  bool CutLocked(const std::string& from, const std::string& to) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return down.contains(from) || down.contains(to) ||
           (!from.empty() && !to.empty() &&
            (blocked.contains({from, to}) || isolated.contains(from) ||
             isolated.contains(to)));
  }
};

namespace {

class LoopbackServer final : public Server {
 public:
  LoopbackServer(std::shared_ptr<LoopbackNetwork::State> state,
                 std::string address)
      : state_(std::move(state)), address_(std::move(address)) {}
  // Unregisters: new calls get UNAVAILABLE; calls in flight keep their
  // handlers and finish.
  ~LoopbackServer() override { Unregister(); }

  const std::string& address() const override { return address_; }

  // Loopback has no health service; the status is only recorded.
  void SetServing(const std::string& service, bool serving) override {
    MutexLock lock(state_->mu);
    state_->serving[absl::StrCat(address_, "/", service)] = serving;
  }

  // Calls in flight keep their handlers and finish on their own (loopback
  // does not track them), so `grace` is not needed.
  Task<> Stop(absl::Duration) override {
    Unregister();
    co_return;
  }

 private:
  void Unregister() {
    MutexLock lock(state_->mu);
    state_->servers.erase(address_);
  }

  std::shared_ptr<LoopbackNetwork::State> state_;
  const std::string address_;
};

absl::StatusOr<std::unique_ptr<Server>> ServeAs(
    const std::shared_ptr<LoopbackNetwork::State>& state,
    const std::string& node, const std::string& address,
    MethodHandlers handlers) {
  auto endpoint = std::make_shared<Endpoint>();
  endpoint->node = node;
  endpoint->handlers = std::move(handlers);
  MutexLock lock(state->mu);
  if (!state->servers.emplace(address, std::move(endpoint)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("loopback: '", address, "' is already served"));
  }
  state->address_nodes[address] = node;
  return std::make_unique<LoopbackServer>(state, address);
}

// Resumes the awaiting coroutine on `worker` (null, or the current one:
// at once).
struct HopTo {
  internal::Worker* worker;
  bool await_ready() const noexcept {
    return worker == nullptr || worker == internal::Worker::Current();
  }
  void await_suspend(std::coroutine_handle<> waiting) const {
    worker->Schedule(waiting);
  }
  void await_resume() const noexcept {}
};

// The caller as a server sees it: a node's view proves the node's name
// (the simulation's stand-in for a certificate); a caller that is no node
// proves nothing.
std::shared_ptr<RemoteCaller> ServedCaller(const std::string& source,
                                           CallMetadata metadata) {
  auto caller = std::make_shared<RemoteCaller>();
  caller->address = source;
  caller->request_metadata = std::move(metadata);
  if (!source.empty()) caller->verified_names.push_back(source);
  return caller;
}

// Serves `request` with `handler` as the server at `source`'s call.
Task<absl::StatusOr<std::string>> Serve(const MethodHandler& handler,
                                        std::string request,
                                        int64_t server_deadline,
                                        const std::string& source,
                                        CallMetadata metadata) {
  const std::shared_ptr<RemoteCaller> caller =
      ServedCaller(source, std::move(metadata));
  CallContext context(server_deadline);
  context.set_remote_caller(&caller);
  co_return co_await handler(std::move(request), context);
}

// The copy of a duplicated request: it arrives `latency` after it left,
// and is served if the server there is still the machine it was sent to
// (`incarnation` of `destination`), where the server runs; its reply is
// discarded. `server_deadline` is on the server's clock.
internal::Detached CallAgain(std::shared_ptr<LoopbackNetwork::State> state,
                             std::string source, std::string address,
                             std::string method, std::string request,
                             CallMetadata metadata, std::string destination,
                             uint64_t incarnation, int64_t latency,
                             int64_t server_deadline) {
  if (latency > 0) co_await Sleep(absl::Nanoseconds(latency));
  if (state->IsDown(destination) ||
      state->Incarnation(destination) != incarnation) {
    co_return;
  }
  std::shared_ptr<const Endpoint> endpoint = state->Find(address);
  if (endpoint == nullptr) co_return;
  auto handler = endpoint->handlers.find(method);
  if (handler == endpoint->handlers.end()) co_return;
  co_await HopTo{handler->second.home()};
  absl::StatusOr<std::string> ignored =
      co_await Serve(handler->second, std::move(request), server_deadline,
                     source, std::move(metadata));
  (void)ignored;
}

// A stream's message in flight on one direction of its link: the bytes,
// or how that direction ends (a half-close: OK; else the end status).
struct InFlight {
  int64_t arrival = 0;  // Clock::MonotonicNanos
  std::optional<std::string> message;
  std::optional<absl::Status> end;
};
using InFlightQueue = internal::StreamState<InFlight, int>;

// One direction of a stream's link, from `from` to `to`: the sender
// takes what `read` gives, draws each message's fate, and queues it in
// flight (bounded by the window, so a slow link slows the writer); the
// deliverer (DeliverOneWay) hands each on at its arrival, in order (a
// message never overtakes the one before it, as on one TCP connection).
// A lost message breaks the stream (UNAVAILABLE at both ends).
template <typename Read>
internal::Detached SendOneWay(std::shared_ptr<LoopbackNetwork::State> state,
                              std::string from, std::string to,
                              std::shared_ptr<internal::ByteStream> source,
                              std::shared_ptr<internal::ByteStream> target,
                              std::shared_ptr<InFlightQueue> in_flight,
                              Read read) {
  int64_t last_arrival = 0;
  auto send = [&](InFlight item) {
    return in_flight->WriteRequest(std::move(item));
  };
  while (std::optional<std::string> message = co_await read(*source)) {
    if (absl::Status fits = state->CheckSize(*message); !fits.ok()) {
      source->Cancel(fits);
      target->Cancel(fits);
      break;
    }
    state->Record("net.stream", Fnv1a(*message), Fnv1a(to, Fnv1a(from)));
    const Delivery delivery = state->Send(from, to);
    if (delivery.lost) {
      const absl::Status broke = absl::UnavailableError(
          absl::StrCat("loopback: the stream's connection from '", from,
                       "' to '", to, "' broke (a message was lost)"));
      source->Cancel(broke);
      target->Cancel(broke);
      break;
    }
    last_arrival =
        std::max(last_arrival, Clock::MonotonicNanos() + delivery.latency);
    if (!(co_await send(InFlight{.arrival = last_arrival,
                                 .message = std::move(*message)}))
             .ok()) {
      break;  // the stream ended
    }
  }
  // How this direction ended travels too: after the last message.
  absl::Status end = source->end().value_or(absl::OkStatus());
  const int64_t latency = state->Send(from, to).latency;
  last_arrival = std::max(last_arrival, Clock::MonotonicNanos() + latency);
  (void)co_await send(InFlight{.arrival = last_arrival, .end = std::move(end)});
  in_flight->CloseRequests();
}

// The other half of SendOneWay: at each arrival, `write` gives the message
// to `target`; `close(target, status)` ends the direction.
template <typename Write, typename Close>
internal::Detached DeliverOneWay(std::shared_ptr<InFlightQueue> in_flight,
                                 std::shared_ptr<internal::ByteStream> target,
                                 Write write, Close close) {
  while (std::optional<InFlight> item = co_await in_flight->ReadRequest()) {
    const int64_t wait = item->arrival - Clock::MonotonicNanos();
    if (wait > 0) co_await Sleep(absl::Nanoseconds(wait));
    if (item->end.has_value()) {
      close(*target, std::move(*item->end));
      break;
    }
    // A failed write: `target` ended; its end travels the other way.
    if (!(co_await write(*target, std::move(*item->message))).ok()) break;
  }
  in_flight->Cancel(absl::CancelledError("the direction is done"));
}

// Runs `handler` on `server` (the stream's server end) on `home`.
internal::Detached ServeStreamAt(internal::Worker* home, MethodHandler handler,
                                 std::shared_ptr<internal::ByteStream> server) {
  co_await HopTo{home};
  co_await handler.ServeStream(server, internal::StreamContext(*server));
}

class LoopbackChannel final : public Channel {
 public:
  LoopbackChannel(std::shared_ptr<LoopbackNetwork::State> state,
                  std::string source, std::string address)
      : state_(std::move(state)),
        source_(std::move(source)),
        address_(std::move(address)) {}

  using Channel::Call;
  Task<absl::StatusOr<std::string>> Call(std::string method,
                                         std::string request, int64_t deadline,
                                         CallMetadata metadata) override {
    return CallOn(state_, source_, address_, std::move(method),
                  std::move(request), deadline, std::move(metadata));
  }

  void OpenStream(std::string method, CallMetadata metadata,
                  std::shared_ptr<internal::ByteStream> stream) override {
    internal::Worker* worker = internal::Worker::Current();
    if (worker == nullptr) {
      stream->Finish(absl::FailedPreconditionError(
          absl::StrCat(method, ": a stream is opened on a worker")));
      return;
    }
    StreamOn(state_, source_, address_, std::move(method), std::move(metadata),
             std::move(stream))
        .StartOn(*worker);
  }

 private:
  // Opens the stream as CallOn sends a request: the opening travels the
  // link (and may be lost, or meet a machine that is down or restarted),
  // then two directions carry the messages (SendOneWay, DeliverOneWay).
  static internal::Detached StreamOn(
      std::shared_ptr<LoopbackNetwork::State> state, std::string source,
      std::string address, std::string method, CallMetadata metadata,
      std::shared_ptr<internal::ByteStream> client) {
    const int64_t deadline = client->deadline();
    std::shared_ptr<const Endpoint> endpoint = state->Find(address);
    if (endpoint == nullptr) {
      if (state->AddressIsDown(address)) {
        client->Finish(
            (co_await Lost(state, address, method, deadline)).status());
      } else {
        client->Finish(absl::UnavailableError(
            absl::StrCat("loopback: no server at '", address, "'")));
      }
      co_return;
    }
    if (absl::Status valid = CheckMetadata(metadata); !valid.ok()) {
      client->Finish(std::move(valid));
      co_return;
    }
    if (ANVIL_BUGGIFY_WITH_PROB("transport.transient_unavailable", 0.025)) {
      client->Finish(absl::UnavailableError(
          absl::StrCat("loopback: connection to '", address,
                       "' failed (transient; a BUGGIFY fault)")));
      co_return;
    }
    const std::string destination = endpoint->node;
    const uint64_t server_incarnation = state->Incarnation(destination);
    state->Record("net.stream_open", Fnv1a(method),
                  Fnv1a(destination, Fnv1a(source)));
    const Delivery there = state->Send(source, destination);
    if (there.latency > 0) co_await Sleep(absl::Nanoseconds(there.latency));
    if (there.lost || state->IsDown(destination)) {
      client->Finish(
          (co_await Lost(state, address, method, deadline)).status());
      co_return;
    }
    if (state->Incarnation(destination) != server_incarnation) {
      client->Finish(absl::UnavailableError(absl::StrCat(
          "loopback: connection to '", address,
          "' reset (its machine restarted while the stream opened)")));
      co_return;
    }
    endpoint = state->Find(address);
    if (endpoint == nullptr) {
      client->Finish(absl::UnavailableError(
          absl::StrCat("loopback: no server at '", address, "'")));
      co_return;
    }
    auto handler = endpoint->handlers.find(method);
    if (handler == endpoint->handlers.end()) {
      client->Finish(absl::UnimplementedError(absl::StrCat(
          "loopback: the server at '", address, "' has no method ", method)));
      co_return;
    }
    if (!handler->second.streaming()) {
      client->Finish(absl::UnimplementedError(
          absl::StrCat("loopback: ", method, " at '", address,
                       "' is a unary method, not a stream")));
      co_return;
    }
    auto server = std::make_shared<internal::ByteStream>(
        client->window(),
        state->TranslateDeadline(deadline, source, destination));
    server->set_remote_caller(ServedCaller(source, std::move(metadata)));
    // A client that cancels reaches the server at once (a RST).
    internal::CancelWith(*client, server);
    state->AddStream(LiveStream{.source = source,
                                .destination = destination,
                                .client = client,
                                .server = server});
    internal::Worker* const here = internal::Worker::Current();
    internal::Worker* const home =
        handler->second.home() != nullptr ? handler->second.home() : here;
    ServeStreamAt(home, handler->second, server).StartOn(*here);

    auto up = std::make_shared<InFlightQueue>(client->window(), INT64_MAX);
    SendOneWay(state, source, destination, client, server, up,
               [](internal::ByteStream& s) { return s.ReadRequest(); })
        .StartOn(*here);
    DeliverOneWay(
        up, server,
        [](internal::ByteStream& s, std::string m) {
          return s.WriteRequest(std::move(m));
        },
        [](internal::ByteStream& s, absl::Status end) {
          if (end.ok()) {
            s.CloseRequests();
          } else {
            s.Cancel(std::move(end));
          }
        })
        .StartOn(*here);
    auto down = std::make_shared<InFlightQueue>(client->window(), INT64_MAX);
    SendOneWay(state, destination, source, server, client, down,
               [](internal::ByteStream& s) { return s.ReadReply(); })
        .StartOn(*home);
    DeliverOneWay(
        down, client,
        [](internal::ByteStream& s, std::string m) {
          return s.WriteReply(std::move(m));
        },
        [](internal::ByteStream& s, absl::Status end) {
          s.Finish(std::move(end));
        })
        .StartOn(*here);
  }

  // A message that will never be answered: the caller waits for its
  // deadline, or the connection timeout.
  static Task<absl::StatusOr<std::string>> Lost(
      const std::shared_ptr<LoopbackNetwork::State>& state,
      const std::string& address, const std::string& method, int64_t deadline) {
    if (deadline != INT64_MAX) {
      const int64_t left = deadline - Clock::MonotonicNanos();
      if (left > 0) co_await Sleep(absl::Nanoseconds(left));
      co_return absl::DeadlineExceededError(
          absl::StrCat(method, ": no reply from '", address,
                       "' before the deadline (a message was lost)"));
    }
    const int64_t timeout = state->ConnectionTimeout();
    co_await Sleep(absl::Nanoseconds(timeout));
    co_return absl::UnavailableError(
        absl::StrCat(method, ": no reply from '", address, "' within ",
                     absl::FormatDuration(absl::Nanoseconds(timeout)),
                     " (a message was lost)"));
  }

  // Runs `handler` on `home` (null: here) with the server's deadline, for
  // a caller at `source`.
  static Task<absl::StatusOr<std::string>> ServeAt(
      internal::Worker* home, MethodHandler handler, std::string request,
      int64_t server_deadline, std::string source, CallMetadata metadata) {
    co_await HopTo{home};
    co_return co_await Serve(handler, std::move(request), server_deadline,
                             source, std::move(metadata));
  }

  static Task<absl::StatusOr<std::string>> CallOn(
      std::shared_ptr<LoopbackNetwork::State> state, std::string source,
      std::string address, std::string method, std::string request,
      int64_t deadline, CallMetadata metadata) {
    std::shared_ptr<const Endpoint> endpoint = state->Find(address);
    if (endpoint == nullptr) {
      // A machine that is down does not answer; one that is up but serves
      // nothing there refuses the connection.
      if (state->AddressIsDown(address)) {
        co_return co_await Lost(state, address, method, deadline);
      }
      co_return absl::UnavailableError(
          absl::StrCat("loopback: no server at '", address, "'"));
    }
    ANVIL_CO_RETURN_IF_ERROR(state->CheckSize(request));
    ANVIL_CO_RETURN_IF_ERROR(CheckMetadata(metadata));
    // A connection that fails now and works the next time (a reset, a
    // full accept queue): nothing was sent. On 2.5% of the calls when the
    // site is on.
    if (ANVIL_BUGGIFY_WITH_PROB("transport.transient_unavailable", 0.025)) {
      co_return absl::UnavailableError(
          absl::StrCat("loopback: connection to '", address,
                       "' failed (transient; a BUGGIFY fault)"));
    }
    // A slow connect (SYN retransmitted, a slow handshake): 0.2-1 s, on
    // 2.5% of the calls when the site is on.
    if (ANVIL_BUGGIFY_WITH_PROB("transport.slow_connect", 0.025)) {
      co_await Sleep(absl::Milliseconds(200 + state->Draw(800)));
    }
    const std::string destination = endpoint->node;
    const uint64_t caller_incarnation = state->Incarnation(source);
    const uint64_t server_incarnation = state->Incarnation(destination);
    state->Record("net.request", Fnv1a(request, Fnv1a(method)),
                  Fnv1a(destination, Fnv1a(source)));
    const Delivery there = state->Send(source, destination);
    if (there.duplicate) {
      // The copy leaves with the original and travels on its own.
      CallAgain(state, source, address, method, request, metadata, destination,
                server_incarnation, there.duplicate_latency,
                state->TranslateDeadline(deadline, source, destination))
          .StartOn(*internal::Worker::Current());
    }
    if (there.latency > 0) co_await Sleep(absl::Nanoseconds(there.latency));
    if (there.lost || state->IsDown(destination)) {
      co_return co_await Lost(state, address, method, deadline);
    }
    if (state->Incarnation(destination) != server_incarnation) {
      // Sent to a machine that crashed and came back: its new kernel
      // resets the old connection.
      co_return absl::UnavailableError(absl::StrCat(
          "loopback: connection to '", address,
          "' reset (its machine restarted while the request travelled)"));
    }
    // The server may have gone while the request travelled.
    endpoint = state->Find(address);
    if (endpoint == nullptr) {
      co_return absl::UnavailableError(
          absl::StrCat("loopback: no server at '", address, "'"));
    }
    auto handler = endpoint->handlers.find(method);
    if (handler == endpoint->handlers.end()) {
      co_return absl::UnimplementedError(absl::StrCat(
          "loopback: the server at '", address, "' has no method ", method));
    }
    if (deadline != INT64_MAX && Clock::MonotonicNanos() >= deadline) {
      co_return absl::DeadlineExceededError(
          absl::StrCat(method, ": deadline passed before delivery"));
    }
    // The call is served where the server runs (the served actor's
    // worker, as over gRPC), which reads the deadline on its own clock.
    internal::Worker* const caller = internal::Worker::Current();
    internal::Worker* const home = handler->second.home();
    const int64_t server_deadline =
        state->TranslateDeadline(deadline, source, destination);
    // The caller gives up at its deadline even if the server never
    // answers (a paused node): its own timer, as a gRPC client's.
    absl::StatusOr<std::string> reply;
    if (deadline == INT64_MAX) {
      reply = co_await ServeAt(home, handler->second, std::move(request),
                               server_deadline, source, std::move(metadata));
    } else {
      reply = co_await WithDeadline(
          absl::Nanoseconds(deadline - Clock::MonotonicNanos()),
          ServeAt(home, handler->second, std::move(request), server_deadline,
                  source, std::move(metadata)));
    }
    co_await HopTo{caller};
    // A server that crashed while serving sends nothing (what it did in
    // the dark stays there), nor does a reply reach a caller whose machine
    // crashed meanwhile.
    if (state->Incarnation(destination) != server_incarnation ||
        state->Incarnation(source) != caller_incarnation) {
      co_return co_await Lost(state, address, method, deadline);
    }
    state->Record("net.reply",
                  reply.ok()
                      ? Fnv1a(*reply)
                      : Fnv1a(reply.status().message(),
                              static_cast<uint64_t>(reply.status().code())),
                  Fnv1a(source, Fnv1a(destination)));
    const Delivery back = state->Send(destination, source);
    // A duplicated reply: the caller takes whichever copy arrives first.
    const int64_t latency = back.duplicate
                                ? std::min(back.latency, back.duplicate_latency)
                                : back.latency;
    if (latency > 0) co_await Sleep(absl::Nanoseconds(latency));
    if (back.lost || state->Incarnation(source) != caller_incarnation) {
      co_return co_await Lost(state, address, method, deadline);
    }
    if (reply.ok()) ANVIL_CO_RETURN_IF_ERROR(state->CheckSize(*reply));
    co_return reply;
  }

  const std::shared_ptr<LoopbackNetwork::State> state_;
  const std::string source_;
  const std::string address_;
};

// The network as one node sees it.
class NodeView final : public Network {
 public:
  NodeView(std::shared_ptr<LoopbackNetwork::State> state, std::string node)
      : state_(std::move(state)), node_(std::move(node)) {}

  absl::string_view name() const override { return "loopback"; }
  bool VerifiesCallers() const override { return true; }
  size_t max_message_bytes() const override {
    return state_->MaxMessageBytes();
  }
  absl::StatusOr<std::unique_ptr<Server>> Serve(
      const std::string& address, MethodHandlers handlers) override {
    return ServeAs(state_, node_, address, std::move(handlers));
  }
  std::shared_ptr<Channel> Connect(const std::string& address) override {
    return std::make_shared<LoopbackChannel>(state_, node_, address);
  }

 private:
  const std::shared_ptr<LoopbackNetwork::State> state_;
  const std::string node_;
};

}  // namespace

LoopbackNetwork::LoopbackNetwork(Runtime&)
    : state_(std::make_shared<State>()) {}

LoopbackNetwork::~LoopbackNetwork() = default;

absl::StatusOr<std::unique_ptr<Server>> LoopbackNetwork::Serve(
    const std::string& address, MethodHandlers handlers) {
  return ServeAs(state_, address, address, std::move(handlers));
}

std::shared_ptr<Channel> LoopbackNetwork::Connect(const std::string& address) {
  return std::make_shared<LoopbackChannel>(state_, "", address);
}

std::shared_ptr<Network> LoopbackNetwork::ForNode(const std::string& node) {
  return std::make_shared<NodeView>(state_, node);
}

void LoopbackNetwork::SetRandom(std::mt19937_64* random) {
  MutexLock lock(state_->mu);
  state_->random = random;
}

void LoopbackNetwork::SetLinks(LinkOptions options) {
  MutexLock lock(state_->mu);
  state_->links = options;
}

void LoopbackNetwork::SetLink(const std::string& from, const std::string& to,
                              LinkOptions options) {
  MutexLock lock(state_->mu);
  state_->link_overrides[{from, to}] = options;
}

LinkOptions LoopbackNetwork::link(const std::string& from,
                                  const std::string& to) const {
  MutexLock lock(state_->mu);
  auto it = state_->link_overrides.find({from, to});
  return it != state_->link_overrides.end() ? it->second : state_->links;
}

void LoopbackNetwork::ClearLink(const std::string& from,
                                const std::string& to) {
  MutexLock lock(state_->mu);
  state_->link_overrides.erase({from, to});
}

void LoopbackNetwork::SetClockOffset(const std::string& node,
                                     absl::Duration offset) {
  MutexLock lock(state_->mu);
  state_->clock_offsets[node] = absl::ToInt64Nanoseconds(offset);
}

size_t LoopbackNetwork::max_message_bytes() const {
  return state_->MaxMessageBytes();
}

void LoopbackNetwork::SetMaxMessageBytes(size_t bytes) {
  MutexLock lock(state_->mu);
  state_->max_message_bytes = bytes;
}

void LoopbackNetwork::SetConnectionTimeout(absl::Duration timeout) {
  MutexLock lock(state_->mu);
  state_->connection_timeout = Clock::ToNanos(timeout);
}

void LoopbackNetwork::Block(const std::string& from, const std::string& to) {
  {
    MutexLock lock(state_->mu);
    state_->blocked.insert({from, to});
  }
  state_->BreakCutStreams();
}

void LoopbackNetwork::Partition(const std::vector<std::string>& a,
                                const std::vector<std::string>& b) {
  {
    MutexLock lock(state_->mu);
    for (const std::string& x : a) {
      for (const std::string& y : b) {
        state_->blocked.insert({x, y});
        state_->blocked.insert({y, x});
      }
    }
  }
  state_->BreakCutStreams();
}

void LoopbackNetwork::Isolate(const std::string& node) {
  {
    MutexLock lock(state_->mu);
    state_->isolated.insert(node);
  }
  state_->BreakCutStreams();
}

void LoopbackNetwork::Reconnect(const std::string& node) {
  MutexLock lock(state_->mu);
  state_->isolated.erase(node);
}

void LoopbackNetwork::SetNodeDown(const std::string& node) {
  {
    MutexLock lock(state_->mu);
    state_->down.insert(node);
    ++state_->incarnations[node];
  }
  state_->BreakCutStreams();
}

void LoopbackNetwork::SetNodeUp(const std::string& node) {
  MutexLock lock(state_->mu);
  state_->down.erase(node);
}

void LoopbackNetwork::SetTrace(Trace trace) {
  MutexLock lock(state_->mu);
  state_->trace = std::move(trace);
}

void LoopbackNetwork::Heal() {
  MutexLock lock(state_->mu);
  state_->blocked.clear();
  state_->isolated.clear();
}

std::optional<absl::Duration> LoopbackNetwork::RouteMessage(
    const std::string& from, const std::string& to) {
  const Delivery delivery = state_->Send(from, to);
  if (delivery.lost) return std::nullopt;
  return absl::Nanoseconds(delivery.latency);
}

LoopbackNetwork::Stats LoopbackNetwork::stats() const {
  MutexLock lock(state_->mu);
  return state_->stats;
}

}  // namespace anvil
