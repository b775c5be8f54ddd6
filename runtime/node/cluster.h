// Cluster: the process-wide daemon that knows the cluster's nodes and where
// each serves its exposed daemons, so that code reaches a daemon on another
// node by the node's name.
//
//   anvil::Factory root(runtime);
//   root.Bind<anvil::Cluster, anvil::Cluster>();      // peers from flags
//   anvil::Cluster& cluster = **root.Get<anvil::Cluster>();
//   anvil::Node n1(root.Child("n1")), n2(root.Child("n2"));
//   ... n1.Start(); n2.Start();       // each node records its address here
//   absl::StatusOr<KvStoreRef> kv = cluster.peers().RefTo<KvStoreRef>("n2");
//
// Addresses come from --anvil_peers ("n1=10.0.0.1:5000,n2=10.0.0.2:5000")
// for nodes in other processes, and from every Node of this process under
// this daemon's factory, which records its own address once serving (under
// its factory's name) and removes it when it stops. Calls go over the
// network the flags ask for (or the one given), one shared channel per
// peer.
//
// Thread-safe.
//
// Example: services/kv/kvd_main.cc (through NodeMain).
#ifndef ANVIL_RUNTIME_NODE_CLUSTER_H_
#define ANVIL_RUNTIME_NODE_CLUSTER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "runtime/daemon/daemon.h"
#include "runtime/daemon/factory.h"
#include "runtime/daemon/serves_until_stopped.h"
#include "runtime/transport/network.h"
#include "runtime/transport/peers.h"

ABSL_DECLARE_FLAG(std::string, anvil_peers);

namespace anvil {

class Cluster : public ServesUntilStopped<Daemon> {
 public:
  static DaemonInfo Info() {
    return {.name = "anvil.Cluster", .scope = DaemonScope::kProcess};
  }

  // Peers from --anvil_peers, over NetworkFromFlags() (so over TLS when
  // the --anvil_tls_* flags say so). A malformed flag fails Prepare().
  explicit Cluster(DaemonContext& context);
  // `addresses` by node name, over `network`.
  Cluster(std::shared_ptr<Network> network,
          const std::map<std::string, std::string>& addresses);
  // A node's view of `directory` (see Peers): the same addresses, reached
  // over the node's own `network`. Provided to a node's factory, its
  // daemons' calls leave from that node (a simulated node, whose links can
  // fail on their own). `directory` must outlive it.
  Cluster(std::shared_ptr<Network> network, Cluster& directory);

  Peers& peers() { return peers_; }

  Task<absl::Status> Prepare() override;

  // Parses "n1=host:port,n2=host:port" (empty: no peers). INVALID_ARGUMENT
  // naming the bad entry.
  static absl::StatusOr<std::map<std::string, std::string>> ParsePeers(
      const std::string& text);

  // The Cluster built by `factory` or its nearest ancestor that built one,
  // or null. Builds nothing.
  static Cluster* Find(const Factory& factory);

 private:
  absl::Status flag_status_;
  Peers peers_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_NODE_CLUSTER_H_
