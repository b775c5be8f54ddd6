// Peers: how a node reaches other nodes: by address, or by node name through
// a directory of addresses, over one shared Channel per address (gRPC
// multiplexes every call to a peer on one connection).
//
//   anvil::Peers peers(network);
//   peers.SetAddress("n2", "127.0.0.1:5002");
//   absl::StatusOr<KvStoreRef> n2 = peers.RefTo<KvStoreRef>("n2");
//   KvStoreRef direct(peers.ConnectAddress("10.0.0.7:5000"));
//
// The directory is filled by whoever knows the cluster: the Cluster daemon
// (runtime/node/cluster.h) from flags and from the nodes of this process.
// Thread-safe.
#ifndef ANVIL_RUNTIME_TRANSPORT_PEERS_H_
#define ANVIL_RUNTIME_TRANSPORT_PEERS_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/core/mutex.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/network.h"

namespace anvil {

class Peers {
 public:
  explicit Peers(std::shared_ptr<Network> network)
      : network_(std::move(network)), directory_(this) {}
  // A view of `directory`: its addresses (read and written through to it),
  // reached over `network` with channels of its own. For a simulated node,
  // whose calls must leave from its own view of the network. `directory`
  // must outlive it.
  Peers(std::shared_ptr<Network> network, Peers& directory)
      : network_(std::move(network)), directory_(&directory) {}

  // Records where `node` is served; replaces an earlier address (a node
  // that restarted on another port). Calls already made keep their
  // channel.
  void SetAddress(const std::string& node, const std::string& address);
  // Forgets `node`.
  void RemoveAddress(const std::string& node);

  // The address of `node`; NOT_FOUND naming the known nodes.
  absl::StatusOr<std::string> AddressOf(const std::string& node) const;
  // Known node names and addresses, by name.
  std::map<std::string, std::string> Addresses() const;

  // The shared channel to `address` (made on first use; connects lazily).
  std::shared_ptr<Channel> ConnectAddress(const std::string& address);
  // The shared channel to `node`'s address; NOT_FOUND if unknown.
  absl::StatusOr<std::shared_ptr<Channel>> Connect(const std::string& node);

  // A generated client (SRef) for the daemon on `node`.
  template <typename SRef>
  absl::StatusOr<SRef> RefTo(const std::string& node) {
    absl::StatusOr<std::shared_ptr<Channel>> channel = Connect(node);
    if (!channel.ok()) return channel.status();
    return SRef(*std::move(channel));
  }

  Network& network() const { return *network_; }

 private:
  const std::shared_ptr<Network> network_;
  Peers* const directory_;  // holds the addresses: this, or another
  mutable Mutex mu_;
  // Only in the directory.
  absl::flat_hash_map<std::string, std::string> addresses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<Channel>> channels_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_PEERS_H_
