// EchoCluster: a test's one served node, n1, of a cluster {n1, n2}: n1
// serves Echo (PUBLIC) and EchoPeer (CLUSTER) over the loopback network or
// plaintext gRPC, and hands out channels to it from callers that are (or
// say they are) a given node.
//
//   EchoCluster cluster(runtime, EchoCluster::kGrpc);
//   ASSERT_THAT(cluster.Start(), IsOk());
//   EchoPeerRef(cluster.ChannelAs("n2")).Who(...);     // a member
//   EchoPeerRef(cluster.ChannelAs("mallory")).Who(...);  // refused
//   cluster.Stop();
//
// Thread-safety: one test thread.
#ifndef ANVIL_RUNTIME_TRANSPORT_GRPC_TESTDATA_ECHO_CLUSTER_H_
#define ANVIL_RUNTIME_TRANSPORT_GRPC_TESTDATA_ECHO_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "runtime/transport/network.h"

namespace anvil::transport::testdata {

class EchoCluster {
 public:
  enum Flavour { kLoopback, kGrpc };

  // Serves on `runtime`, which outlives this.
  EchoCluster(Runtime& runtime, Flavour flavour);
  ~EchoCluster();  // stops the nodes if Stop() was not called

  // Builds and starts the root node (the Cluster) and n1.
  absl::Status Start();
  // Stops n1, then the root; the first error.
  absl::Status Stop();

  // A channel to n1 from a caller that is node `name` ("" for one naming
  // nobody), whose calls run on `caller` (default: the cluster's runtime).
  std::shared_ptr<Channel> ChannelAs(const std::string& name,
                                     Runtime* caller = nullptr);

  EchoImpl& echo() { return *echo_; }
  EchoPeerImpl& peer() { return *peer_; }

 private:
  Runtime& runtime_;
  const Flavour flavour_;
  std::shared_ptr<LoopbackNetwork> loopback_;  // null over gRPC
  std::vector<std::shared_ptr<Network>> networks_;
  std::unique_ptr<Factory> root_;
  std::unique_ptr<Node> root_node_;
  std::unique_ptr<Node> node_;
  EchoImpl* echo_ = nullptr;
  EchoPeerImpl* peer_ = nullptr;
};

}  // namespace anvil::transport::testdata

#endif  // ANVIL_RUNTIME_TRANSPORT_GRPC_TESTDATA_ECHO_CLUSTER_H_
