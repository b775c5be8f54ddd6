// Simulated TCP: what TcpListener and TcpStream run on between simulated
// nodes, in the simulation build while a Simulation runs (testing/sim).
// Internal to runtime/io; users keep writing TcpListener::Bind and
// TcpStream::Connect.
//
//   // The simulator, once:
//   internal::SimHosts hosts(route);           // route: the faulty links
//   hosts.AddHost("n1", "10.0.0.1");
//   // ... and while it runs a worker that belongs to node n1:
//   internal::current_sim_host = &n1_host;     // SimHost{&hosts, "n1"}
//
// The model, per connection and direction:
//   - Bytes travel in segments; each takes the link's latency (drawn by the
//     route: the loopback network's latency, loss and partitions). A lost
//     segment is sent again after kRetransmitTimeout, as TCP retransmits,
//     for as long as the connection lives: a partition stalls a stream (the
//     reader sees its deadline pass) and healing resumes it, with nothing
//     lost or reordered. Segments reach the reader in the order sent.
//   - A window (kWindowBytes of data sent but not yet read) gives write
//     back-pressure: a writer to a reader that does not read waits.
//   - A host that crashes (SetDown) loses every segment while down, and its
//     connections with it: what they still send is dropped, and what
//     reaches them once the host is up again is answered with a reset.
//   - Connect sends a SYN (retransmitted if lost) and waits for the answer
//     from the other way: a listener's SYN-ACK, or "Connection refused".
//   - Close or destruction sends FIN: the peer reads what was sent, then
//     end of stream (closing with unread data sends a reset instead). Data
//     that reaches a closed endpoint is dropped and answered with a reset;
//     once the reset arrives, the peer's reads fail with ECONNRESET and its
//     writes with EPIPE. A crashed node's sockets are closed with its
//     actors; its FIN and resets travel like any segment, so they reach
//     peers once the network lets them through (a peer that only reads
//     meanwhile waits for its deadline, as with a dead machine).
// Hosts are found by address: a node's IPv4 address (SimHosts::AddHost), or
// 127.0.0.1 / 0.0.0.0 for the node itself.
//
// Not modelled: UDP and Unix sockets (they stay real, so they do not work
// in a simulation), and the kernel's retransmission limit (a stream
// partitioned for good stalls until its reader's deadline).
//
// Threading: the simulation drives every worker from one thread, so these
// objects take no locks. Each wait resumes on the worker that awaited.
#ifndef ANVIL_RUNTIME_IO_SIM_STREAM_H_
#define ANVIL_RUNTIME_IO_SIM_STREAM_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/core/internal/timer_heap.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/task.h"
#include "runtime/io/deadline.h"
#include "runtime/io/socket_address.h"

namespace anvil::internal {

class SimHosts;
class SimConnection;
class SimListener;

// Which simulated node the running worker belongs to.
struct SimHost {
  SimHosts* hosts = nullptr;
  std::string node;
  SocketAddress ip;  // port 0
};

// Set by the simulator while it runs a node's worker; null otherwise (then
// sockets are real).
inline thread_local const SimHost* current_sim_host = nullptr;

// A segment's latency from `from` to `to` in nanoseconds, or nullopt if the
// link loses it.
using SimRoute = std::function<std::optional<int64_t>(const std::string& from,
                                                      const std::string& to)>;

inline constexpr int64_t kRetransmitTimeout = 200'000'000;  // 200 ms
inline constexpr size_t kWindowBytes = 64 * 1024;
inline constexpr size_t kSegmentBytes = 16 * 1024;

// One coroutine waiting on a simulated socket, until Wake() or its deadline.
class SimWait {
 public:
  class [[nodiscard]] Awaiter;
  // co_await: true if woken, false if the deadline passed first.
  Awaiter Wait(Deadline deadline);
  // Resumes the waiting coroutine, if any, on its worker.
  void Wake();
  bool waiting() const { return state_ != nullptr; }

 private:
  struct State;
  State* state_ = nullptr;
};

struct SimWait::State : TimerNode {
  SimWait* owner = nullptr;
  std::coroutine_handle<> handle;
  Worker* worker = nullptr;
  bool woken = false;
};

class SimWait::Awaiter {
 public:
  Awaiter(SimWait& wait, Deadline deadline)
      : wait_(wait), deadline_(deadline) {}
  ~Awaiter();
  bool await_ready() const { return false; }
  bool await_suspend(std::coroutine_handle<> handle);
  bool await_resume();

 private:
  static void Fire(TimerNode* node);
  SimWait& wait_;
  Deadline deadline_;
  State state_;
};

inline SimWait::Awaiter SimWait::Wait(Deadline deadline) {
  return Awaiter(*this, deadline);
}

// One end of a simulated connection; TcpStream holds it.
class SimEndpoint {
 public:
  SimEndpoint(std::shared_ptr<SimConnection> connection, int side);
  ~SimEndpoint();  // Close()

  Task<absl::StatusOr<size_t>> Read(absl::Span<char> buffer, Deadline deadline);
  Task<absl::Status> Write(absl::string_view data, Deadline deadline);
  // Bytes arrived and not yet read.
  size_t BytesReadable() const;
  // Sends what fits the window now, without waiting; returns how much.
  size_t WriteNow(absl::string_view data);
  absl::Status ShutdownWrite();
  void Cancel();
  void Close();
  bool is_open() const { return !closed_; }
  SocketAddress local_address() const;
  SocketAddress peer_address() const;

 private:
  std::shared_ptr<SimConnection> connection_;
  const int side_;
  bool closed_ = false;
  bool cancelled_ = false;
};

// A listening socket; TcpListener holds it.
class SimListener {
 public:
  SimListener(SimHosts* hosts, std::string node, SocketAddress address);
  ~SimListener();  // Close()

  Task<absl::StatusOr<std::unique_ptr<SimEndpoint>>> Accept(Deadline deadline);
  void Cancel();
  void Close();
  const SocketAddress& address() const { return address_; }

 private:
  friend class SimHosts;
  SimHosts* const hosts_;
  const std::string node_;
  const SocketAddress address_;
  std::deque<std::shared_ptr<SimConnection>> backlog_;
  SimWait accept_wait_;
  bool closed_ = false;
  bool cancelled_ = false;
};

// The simulated hosts and their listeners: one per Simulation.
class SimHosts {
 public:
  explicit SimHosts(SimRoute route) : route_(std::move(route)) {}
  ~SimHosts();

  // Node `node` answers at `ip` (an IPv4 address, no port).
  void AddHost(const std::string& node, const SocketAddress& ip);
  // The address of `node` (port 0), or unset.
  SocketAddress AddressOf(const std::string& node) const;

  // Binds a listener for `host` (127.0.0.1, 0.0.0.0 or its own address; port
  // 0 picks one).
  absl::StatusOr<std::unique_ptr<SimListener>> Listen(
      const SimHost& host, const SocketAddress& address);
  // Connects from `host` to `address`.
  Task<absl::StatusOr<std::unique_ptr<SimEndpoint>>> Connect(
      const SimHost& host, SocketAddress address, Deadline deadline);

  // A crashed host: while down, every segment to or from it is lost; its
  // connections end with it (what they still send is dropped, and what
  // reaches them after it is up again is answered with a reset, since the
  // rebooted host does not know them). SetUp(node) brings it back.
  void SetDown(const std::string& node);
  void SetUp(const std::string& node);
  // Increments when `node` goes down: a connection made before belongs to
  // an earlier life of the host.
  uint64_t Epoch(const std::string& node) const;

  // The latency of one message from `from` to `to`, or nullopt if it is
  // lost (the link's draw, or a host down).
  std::optional<int64_t> Route(const std::string& from, const std::string& to);

 private:
  friend class SimListener;
  uint16_t NextPort(const std::string& node);

  SimRoute route_;
  std::map<std::string, SocketAddress> ips_;  // node -> address
  std::map<std::string, uint64_t> epochs_;    // node -> times it went down
  std::map<std::string, bool> down_;
  std::map<std::pair<std::string, uint16_t>, SimListener*> listeners_;
  std::map<std::string, uint16_t> next_port_;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_IO_SIM_STREAM_H_
