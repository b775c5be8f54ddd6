#include "runtime/io/sim_stream.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/core/clock.h"
#include "runtime/core/sleep.h"

namespace anvil::internal {

// ---------------------------------------------------------------------------
// SimWait

SimWait::Awaiter::~Awaiter() {
  if (wait_.state_ == &state_) wait_.state_ = nullptr;
  if (state_.queued()) state_.worker->timers().Cancel(&state_);
}

bool SimWait::Awaiter::await_suspend(std::coroutine_handle<> handle) {
  assert(wait_.state_ == nullptr && "one waiter per SimWait");
  state_.owner = &wait_;
  state_.handle = handle;
  state_.worker = Worker::Current();
  assert(state_.worker != nullptr);
  wait_.state_ = &state_;
  if (!deadline_.is_never()) {
    state_.deadline = deadline_.monotonic_nanos();
    state_.fire = &Fire;
    state_.worker->timers().Add(&state_);
  }
  return true;
}

bool SimWait::Awaiter::await_resume() {
  if (state_.queued()) state_.worker->timers().Cancel(&state_);
  return state_.woken;
}

void SimWait::Awaiter::Fire(TimerNode* node) {
  auto* state = static_cast<State*>(node);
  state->owner->state_ = nullptr;
  state->worker->Schedule(state->handle);
}

void SimWait::Wake() {
  if (state_ == nullptr) return;
  State* state = std::exchange(state_, nullptr);
  state->woken = true;
  if (state->queued()) state->worker->timers().Cancel(state);
  state->worker->Schedule(state->handle);
}

// ---------------------------------------------------------------------------
// SimConnection: two pipes, one per direction.

namespace {

struct Segment;

struct Pipe {
  std::string from;  // sending node
  std::string to;    // receiving node
  // Sent, in order; delivered from the front once arrived.
  std::deque<std::unique_ptr<Segment>> in_flight;
  std::string readable;    // arrived, not yet read
  size_t window_used = 0;  // bytes in flight plus readable
  bool fin_sent = false;
  bool fin_arrived = false;
  // The receiving endpoint closed: what arrives is dropped, and answered
  // with a reset (once) on the other pipe.
  bool reader_closed = false;
  bool reset_sent = false;
  // A reset arrived at the receiving endpoint: it reads ECONNRESET, and
  // writes from it fail with EPIPE.
  bool reset_arrived = false;
  SimWait reader;
  SimWait writer;
};

}  // namespace

class SimConnection {
 public:
  explicit SimConnection(SimHosts* hosts) : hosts_(hosts) {}
  ~SimConnection();

  void Send(int pipe, std::string data, bool fin, bool reset = false);

  SimHosts* const hosts_;
  Pipe pipes_[2];  // pipes_[s]: written by side s, read by side 1 - s
  SocketAddress addresses_[2];
  uint64_t epochs_[2] = {0, 0};  // each side's host's epoch when made

 private:
  void Launch(Segment* segment);
  void Deliver(int pipe);
  static void Fired(TimerNode* node);
};

namespace {

struct Segment : TimerNode {
  SimConnection* connection = nullptr;
  int pipe = 0;
  std::string data;
  bool fin = false;
  bool reset = false;
  uint64_t epoch = 0;  // of the sending host, when sent
  bool lost = false;
  bool arrived = false;
  Worker* worker = nullptr;  // whose timer heap holds it
};

}  // namespace

SimConnection::~SimConnection() {
  for (Pipe& pipe : pipes_) {
    for (const std::unique_ptr<Segment>& segment : pipe.in_flight) {
      if (segment->queued()) segment->worker->timers().Cancel(segment.get());
    }
  }
}

void SimConnection::Send(int pipe, std::string data, bool fin, bool reset) {
  auto segment = std::make_unique<Segment>();
  segment->connection = this;
  segment->pipe = pipe;
  segment->fin = fin;
  segment->reset = reset;
  segment->epoch = hosts_->Epoch(pipes_[pipe].from);
  pipes_[pipe].window_used += data.size();
  segment->data = std::move(data);
  Segment* raw = segment.get();
  pipes_[pipe].in_flight.push_back(std::move(segment));
  Launch(raw);
}

void SimConnection::Launch(Segment* segment) {
  const Pipe& pipe = pipes_[segment->pipe];
  const std::optional<int64_t> latency = hosts_->Route(pipe.from, pipe.to);
  segment->lost = !latency.has_value();
  segment->worker = Worker::Current();
  segment->deadline = Clock::MonotonicNanos() +
                      (latency.has_value() ? *latency : kRetransmitTimeout);
  segment->fire = &Fired;
  segment->worker->timers().Add(segment);
}

void SimConnection::Fired(TimerNode* node) {
  auto* segment = static_cast<Segment*>(node);
  SimConnection* connection = segment->connection;
  const Pipe& pipe = connection->pipes_[segment->pipe];
  if (connection->hosts_->Epoch(pipe.from) != segment->epoch) {
    // The sender's host crashed since it sent this: it went with it.
    connection->pipes_[segment->pipe].window_used -= segment->data.size();
    segment->data.clear();
    segment->fin = segment->reset = false;
    segment->arrived = true;
    connection->Deliver(segment->pipe);
    return;
  }
  if (segment->lost) {
    connection->Launch(segment);  // retransmit
    return;
  }
  segment->arrived = true;
  connection->Deliver(segment->pipe);
}

void SimConnection::Deliver(int index) {
  Pipe& pipe = pipes_[index];
  // The receiver's host crashed since the connection was made: the host
  // (rebooted) knows no such connection.
  if (hosts_->Epoch(pipe.to) != epochs_[1 - index]) pipe.reader_closed = true;
  bool delivered = false;
  bool dropped = false;  // frees window without a read
  while (!pipe.in_flight.empty() && pipe.in_flight.front()->arrived) {
    Segment& segment = *pipe.in_flight.front();
    if (pipe.reader_closed) {
      pipe.window_used -= segment.data.size();  // nobody will read it
      dropped = dropped || !segment.data.empty();
    } else {
      pipe.readable.append(segment.data);
    }
    if (segment.fin) pipe.fin_arrived = true;
    if (segment.reset) pipe.reset_arrived = true;
    pipe.in_flight.pop_front();
    delivered = true;
  }
  if (delivered) {
    pipe.reader.Wake();
    // A reset also ends the receiving endpoint's writes.
    if (pipe.reset_arrived) pipes_[1 - index].writer.Wake();
  }
  if (dropped) pipe.writer.Wake();  // the window has room again
  // Data for a closed endpoint: tell the sender, as a kernel does.
  if (dropped && !pipe.reset_sent) {
    pipe.reset_sent = true;
    Send(1 - index, "", /*fin=*/false, /*reset=*/true);
  }
}

// ---------------------------------------------------------------------------
// SimEndpoint

SimEndpoint::SimEndpoint(std::shared_ptr<SimConnection> connection, int side)
    : connection_(std::move(connection)), side_(side) {}

SimEndpoint::~SimEndpoint() { Close(); }

Task<absl::StatusOr<size_t>> SimEndpoint::Read(absl::Span<char> buffer,
                                               Deadline deadline) {
  Pipe& in = connection_->pipes_[1 - side_];
  if (in.reader.waiting()) {
    co_return absl::FailedPreconditionError(
        "read: another read on this socket is waiting");
  }
  while (true) {
    if (cancelled_)
      co_return absl::CancelledError("read: the socket was cancelled");
    if (closed_)
      co_return absl::FailedPreconditionError("read: the socket is closed");
    if (!in.readable.empty() || buffer.empty()) {
      const size_t n = std::min(buffer.size(), in.readable.size());
      std::memcpy(buffer.data(), in.readable.data(), n);
      in.readable.erase(0, n);
      in.window_used -= n;
      in.writer.Wake();
      co_return n;
    }
    if (in.reset_arrived) {
      co_return absl::ErrnoToStatus(ECONNRESET, "read");
    }
    if (in.fin_arrived) co_return size_t{0};
    if (!co_await in.reader.Wait(deadline)) {
      co_return absl::DeadlineExceededError("read: deadline exceeded");
    }
  }
}

size_t SimEndpoint::BytesReadable() const {
  return closed_ ? 0 : connection_->pipes_[1 - side_].readable.size();
}

size_t SimEndpoint::WriteNow(absl::string_view data) {
  Pipe& out = connection_->pipes_[side_];
  if (closed_ || cancelled_ || out.fin_sent ||
      connection_->pipes_[1 - side_].reset_arrived) {
    return 0;
  }
  const size_t n = std::min(
      data.size(), kWindowBytes - std::min(kWindowBytes, out.window_used));
  size_t sent = 0;
  while (sent < n) {
    const size_t chunk = std::min(kSegmentBytes, n - sent);
    connection_->Send(side_, std::string(data.substr(sent, chunk)), false);
    sent += chunk;
  }
  return sent;
}

Task<absl::Status> SimEndpoint::Write(absl::string_view data,
                                      Deadline deadline) {
  Pipe& out = connection_->pipes_[side_];
  if (out.writer.waiting()) {
    co_return absl::FailedPreconditionError(
        "write: another write on this socket is waiting");
  }
  while (true) {
    if (cancelled_)
      co_return absl::CancelledError("write: the socket was cancelled");
    if (closed_)
      co_return absl::FailedPreconditionError("write: the socket is closed");
    if (out.fin_sent || connection_->pipes_[1 - side_].reset_arrived) {
      co_return absl::ErrnoToStatus(EPIPE, "write");
    }
    data.remove_prefix(WriteNow(data));
    if (data.empty()) co_return absl::OkStatus();
    if (!co_await out.writer.Wait(deadline)) {
      co_return absl::DeadlineExceededError("write: deadline exceeded");
    }
  }
}

absl::Status SimEndpoint::ShutdownWrite() {
  if (closed_) return absl::FailedPreconditionError("the socket is closed");
  Pipe& out = connection_->pipes_[side_];
  if (!out.fin_sent && Worker::Current() != nullptr) {
    out.fin_sent = true;
    connection_->Send(side_, "", /*fin=*/true);
  }
  return absl::OkStatus();
}

void SimEndpoint::Cancel() {
  cancelled_ = true;
  connection_->pipes_[1 - side_].reader.Wake();
  connection_->pipes_[side_].writer.Wake();
}

void SimEndpoint::Close() {
  if (closed_) return;
  Pipe& in = connection_->pipes_[1 - side_];
  Pipe& out = connection_->pipes_[side_];
  if (!in.readable.empty() && !out.fin_sent && Worker::Current() != nullptr) {
    // Closing with unread data resets the connection instead of ending it.
    out.fin_sent = true;
    in.reset_sent = true;
    connection_->Send(side_, "", /*fin=*/false, /*reset=*/true);
  } else {
    ShutdownWrite().IgnoreError();
  }
  closed_ = true;
  in.reader_closed = true;
  in.window_used -= in.readable.size();
  in.readable.clear();
  in.reader.Wake();
  in.writer.Wake();  // the window has room again
  out.writer.Wake();
}

SocketAddress SimEndpoint::local_address() const {
  return connection_->addresses_[side_];
}

SocketAddress SimEndpoint::peer_address() const {
  return connection_->addresses_[1 - side_];
}

// ---------------------------------------------------------------------------
// SimListener

SimListener::SimListener(SimHosts* hosts, std::string node,
                         SocketAddress address)
    : hosts_(hosts), node_(std::move(node)), address_(std::move(address)) {}

SimListener::~SimListener() { Close(); }

Task<absl::StatusOr<std::unique_ptr<SimEndpoint>>> SimListener::Accept(
    Deadline deadline) {
  if (accept_wait_.waiting()) {
    co_return absl::FailedPreconditionError(
        "accept: another accept on this socket is waiting");
  }
  while (true) {
    if (cancelled_)
      co_return absl::CancelledError("accept: the socket was cancelled");
    if (closed_)
      co_return absl::FailedPreconditionError("accept: the socket is closed");
    if (!backlog_.empty()) {
      std::shared_ptr<SimConnection> connection = std::move(backlog_.front());
      backlog_.pop_front();
      co_return std::make_unique<SimEndpoint>(std::move(connection), 1);
    }
    if (!co_await accept_wait_.Wait(deadline)) {
      co_return absl::DeadlineExceededError("accept: deadline exceeded");
    }
  }
}

void SimListener::Cancel() {
  cancelled_ = true;
  accept_wait_.Wake();
}

void SimListener::Close() {
  if (closed_) return;
  closed_ = true;
  auto it = hosts_->listeners_.find({node_, address_.port()});
  if (it != hosts_->listeners_.end() && it->second == this) {
    hosts_->listeners_.erase(it);
  }
  // Connections never accepted: their clients read end of stream.
  for (std::shared_ptr<SimConnection>& connection : backlog_) {
    SimEndpoint(std::move(connection), 1).Close();
  }
  backlog_.clear();
  accept_wait_.Wake();
}

// ---------------------------------------------------------------------------
// SimHosts

namespace {

bool IsLocal(const SocketAddress& address) {
  const std::string text = address.WithPort(0).ToString();
  return text == "127.0.0.1:0" || text == "0.0.0.0:0";
}

// Sleeps `step` unless `deadline` comes first; false if it did.
Task<bool> SleepWithin(int64_t step, Deadline deadline) {
  const int64_t now = Clock::MonotonicNanos();
  if (deadline.monotonic_nanos() - now < step) {
    co_await SleepUntilAwaiter(deadline.monotonic_nanos());
    co_return false;
  }
  co_await Sleep(absl::Nanoseconds(step));
  co_return true;
}

// One message's trip from `from` to `to`, sent again after a loss until it
// arrives. False if `deadline` passes first.
Task<bool> Travel(SimHosts& hosts, const std::string& from,
                  const std::string& to, Deadline deadline) {
  while (true) {
    const std::optional<int64_t> latency = hosts.Route(from, to);
    if (!co_await SleepWithin(latency.value_or(kRetransmitTimeout), deadline)) {
      co_return false;
    }
    if (latency.has_value()) co_return true;
  }
}

}  // namespace

SimHosts::~SimHosts() = default;

void SimHosts::SetDown(const std::string& node) {
  down_[node] = true;
  ++epochs_[node];
}

void SimHosts::SetUp(const std::string& node) { down_[node] = false; }

uint64_t SimHosts::Epoch(const std::string& node) const {
  auto it = epochs_.find(node);
  return it == epochs_.end() ? 0 : it->second;
}

std::optional<int64_t> SimHosts::Route(const std::string& from,
                                       const std::string& to) {
  auto is_down = [&](const std::string& node) {
    auto it = down_.find(node);
    return it != down_.end() && it->second;
  };
  if (is_down(from) || is_down(to)) return std::nullopt;
  return route_(from, to);
}

void SimHosts::AddHost(const std::string& node, const SocketAddress& ip) {
  ips_[node] = ip.WithPort(0);
}

SocketAddress SimHosts::AddressOf(const std::string& node) const {
  auto it = ips_.find(node);
  return it == ips_.end() ? SocketAddress() : it->second;
}

uint16_t SimHosts::NextPort(const std::string& node) {
  uint16_t& next = next_port_.try_emplace(node, 40000).first->second;
  while (listeners_.contains({node, next})) ++next;
  return next++;
}

absl::StatusOr<std::unique_ptr<SimListener>> SimHosts::Listen(
    const SimHost& host, const SocketAddress& address) {
  if (!IsLocal(address) && !(address.WithPort(0) == AddressOf(host.node))) {
    return absl::ErrnoToStatus(EADDRNOTAVAIL,
                               absl::StrCat("bind ", address.ToString(),
                                            " on simulated node ", host.node));
  }
  const uint16_t port =
      address.port() != 0 ? address.port() : NextPort(host.node);
  if (listeners_.contains({host.node, port})) {
    return absl::ErrnoToStatus(EADDRINUSE,
                               absl::StrCat("bind ", address.ToString()));
  }
  SocketAddress ip = AddressOf(host.node);
  if (ip.family() == AF_UNSPEC) ip = SocketAddress::Loopback(0);
  auto listener =
      std::make_unique<SimListener>(this, host.node, ip.WithPort(port));
  listeners_[{host.node, port}] = listener.get();
  return listener;
}

Task<absl::StatusOr<std::unique_ptr<SimEndpoint>>> SimHosts::Connect(
    const SimHost& host, SocketAddress address, Deadline deadline) {
  std::string target;
  if (IsLocal(address)) {
    target = host.node;
  } else {
    for (const auto& [node, ip] : ips_) {
      if (ip == address.WithPort(0)) target = node;
    }
  }
  if (target.empty()) {
    co_return absl::ErrnoToStatus(
        EHOSTUNREACH, absl::StrCat("connect to ", address.ToString()));
  }
  const absl::Status timed_out = absl::DeadlineExceededError(
      absl::StrCat("connect to ", address.ToString(), ": deadline exceeded"));
  // SYN.
  if (!co_await Travel(*this, host.node, target, deadline)) co_return timed_out;
  std::unique_ptr<SimEndpoint> endpoint;
  auto it = listeners_.find({target, address.port()});
  if (it != listeners_.end()) {
    auto connection = std::make_shared<SimConnection>(this);
    connection->pipes_[0].from = connection->pipes_[1].to = host.node;
    connection->pipes_[0].to = connection->pipes_[1].from = target;
    SocketAddress local = AddressOf(host.node);
    if (local.family() == AF_UNSPEC) local = SocketAddress::Loopback(0);
    connection->addresses_[0] = local.WithPort(NextPort(host.node));
    connection->addresses_[1] = it->second->address();
    connection->epochs_[0] = Epoch(host.node);
    connection->epochs_[1] = Epoch(target);
    it->second->backlog_.push_back(connection);
    it->second->accept_wait_.Wake();
    endpoint = std::make_unique<SimEndpoint>(std::move(connection), 0);
  }
  // SYN-ACK, or the refusal. A connect that times out here closes the
  // endpoint (the server reads end of stream).
  if (!co_await Travel(*this, target, host.node, deadline)) co_return timed_out;
  if (endpoint == nullptr) {
    co_return absl::ErrnoToStatus(
        ECONNREFUSED, absl::StrCat("connect to ", address.ToString()));
  }
  co_return endpoint;
}

}  // namespace anvil::internal
