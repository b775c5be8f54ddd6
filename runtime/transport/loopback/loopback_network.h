// LoopbackNetwork: an in-process Network. Servers are registered by name;
// a call is serialized, handed to the named server's handler, and its reply
// serialized back, as over a real wire, so that code tested on it sees the
// same bytes and the same errors as over gRPC.
//
// It is also where simulation (testing/sim) puts its network faults. Each
// simulated node sees the network through ForNode(name), so the network
// knows who sends to whom; each message (a request, a reply) then travels
// its link with a latency, may be lost or delivered twice, and partitions
// and machines that are down (SetNodeDown) block links:
//
//   anvil::LoopbackNetwork network(runtime);
//   network.SetRandom(&sim.random());           // latency and loss draws
//   network.SetLinks({.min_latency = absl::Milliseconds(1),
//                     .max_latency = absl::Milliseconds(10), .drop = 0.01});
//   std::shared_ptr<anvil::Network> n1 = network.ForNode("n1");
//   auto server = n1->Serve("n1", StorageRef::Handlers(storage));
//   StorageRef remote(network.ForNode("n2")->Connect("n1"));
//   network.Partition({"n1"}, {"n2", "n3"});     // ... network.Heal();
//
// A lost message is never answered: the caller gets DEADLINE_EXCEEDED at
// its deadline, or UNAVAILABLE after the connection timeout if it has none.
// Random latencies reorder messages. Latency waits are timers on the
// calling worker (virtual time in a simulation). With no links set and no
// faults, a call runs at once on the calling worker.
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_TRANSPORT_LOOPBACK_LOOPBACK_NETWORK_H_
#define ANVIL_RUNTIME_TRANSPORT_LOOPBACK_LOOPBACK_NETWORK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/network.h"

namespace anvil {

// How messages travel from one node to another.
struct LinkOptions {
  // Each message's latency is drawn uniformly from [min, max] ...
  absl::Duration min_latency = absl::ZeroDuration();
  absl::Duration max_latency = absl::ZeroDuration();
  // ... unless this is set: then it draws each latency (any distribution:
  // exponential, a long tail) from the network's generator. Called under
  // the network's lock; must not call into the network.
  std::function<absl::Duration(std::mt19937_64& random)> latency;
  // Probability that a message is lost.
  double drop = 0;
  // Probability that a message is delivered twice, the copy after a
  // latency of its own, as a retransmission would: a duplicated request is
  // served twice (the copy's reply is discarded); of a duplicated reply the
  // caller takes whichever copy arrives first.
  double duplicate = 0;
};

class LoopbackNetwork final : public Network {
 public:
  explicit LoopbackNetwork(Runtime& runtime);
  ~LoopbackNetwork() override;

  absl::string_view name() const override { return "loopback"; }
  // A served call's RemoteCaller proves the calling node's name (the name
  // its view was made for, ForNode), as a certificate would; a caller
  // through Connect() below proves none.
  bool VerifiesCallers() const override { return true; }
  // SetMaxMessageBytes's.
  size_t max_message_bytes() const override;
  // Serves at `address`, as the node named `address`.
  absl::StatusOr<std::unique_ptr<Server>> Serve(
      const std::string& address, MethodHandlers handlers) override;
  // Connects from no node in particular (partitions do not apply).
  std::shared_ptr<Channel> Connect(const std::string& address) override;

  // The network as node `node` sees it: its servers are `node`'s, its
  // channels send from `node`.
  std::shared_ptr<Network> ForNode(const std::string& node);

  // Where latency, loss and duplication are drawn from (the simulation's
  // generator). Without one, latency is each link's minimum and nothing is
  // lost or duplicated. Not owned; must outlive the calls.
  void SetRandom(std::mt19937_64* random);
  // Every link's options, unless SetLink gave one its own.
  void SetLinks(LinkOptions options);
  // The link from `from` to `to` (one direction): a slow or lossy link, a
  // clogged one (a large latency).
  void SetLink(const std::string& from, const std::string& to,
               LinkOptions options);
  // The options the link `from` -> `to` travels with now.
  LinkOptions link(const std::string& from, const std::string& to) const;
  // Removes what SetLink set.
  void ClearLink(const std::string& from, const std::string& to);
  // The largest request or reply a receiver accepts, as gRPC's default
  // receive limit: a larger one fails RESOURCE_EXHAUSTED at the caller.
  // Default 4 MiB.
  void SetMaxMessageBytes(size_t bytes);
  // How long a caller without a deadline waits for a lost message before
  // UNAVAILABLE. Default 1 s.
  void SetConnectionTimeout(absl::Duration timeout);
  // Tells the network that `node`'s clock runs `offset` ahead (negative:
  // behind), so that a call's deadline reaches the server as the same
  // instant on the server's clock, as gRPC achieves by sending the time
  // left. SimCluster::SetClockSkew sets it.
  void SetClockOffset(const std::string& node, absl::Duration offset);

  // Partitions. Messages on a blocked link are lost.
  // Blocks `from` -> `to` only.
  void Block(const std::string& from, const std::string& to);
  // Blocks both ways between every node of `a` and every node of `b`.
  void Partition(const std::vector<std::string>& a,
                 const std::vector<std::string>& b);
  // Blocks every link to and from `node`.
  void Isolate(const std::string& node);
  // Undoes Isolate(node).
  void Reconnect(const std::string& node);
  // Removes every block and isolation (links keep their options). Machines
  // that are down stay down.
  void Heal();

  // `node`'s machine is down (crashed) or up again. While it is down every
  // message to or from it is lost, as is a call to an address it served,
  // whatever partitions say; a message sent to or from it before it went
  // down never reaches it after, and one that arrives after it came back
  // up is refused (UNAVAILABLE: connection reset), as a rebooted kernel
  // resets the connections it does not know. SimCluster::Crash and Restart
  // call these.
  void SetNodeDown(const std::string& node);
  void SetNodeUp(const std::string& node);

  // Event sink for the simulation's trace: ("net.request", digest of method
  // and bytes, digest of the route), ("net.reply", digest of the reply or
  // error, digest of the route). Called on the calling worker, outside the
  // network's lock.
  using Trace = std::function<void(const char* what, uint64_t a, uint64_t b)>;
  void SetTrace(Trace trace);

  struct Stats {
    uint64_t delivered = 0;   // messages that arrived
    uint64_t lost = 0;        // dropped, or on a blocked link
    uint64_t duplicated = 0;  // messages delivered twice
  };
  Stats stats() const;

  // Draws the fate of one message that is not a call (a simulated TCP
  // segment, runtime/io/sim_stream.h) on the link `from` -> `to`: its
  // latency, or nothing if the link loses it. Counted in stats().
  std::optional<absl::Duration> RouteMessage(const std::string& from,
                                             const std::string& to);

  // Shared with servers, channels and node views, which may outlive the
  // network.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_LOOPBACK_LOOPBACK_NETWORK_H_
