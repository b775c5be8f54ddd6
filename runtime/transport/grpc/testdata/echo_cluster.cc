#include "runtime/transport/grpc/testdata/echo_cluster.h"

#include <map>
#include <utility>

#include "runtime/node/cluster.h"
#include "runtime/transport/grpc/grpc_network.h"

namespace anvil::transport::testdata {

EchoCluster::EchoCluster(Runtime& runtime, Flavour flavour)
    : runtime_(runtime), flavour_(flavour) {}

EchoCluster::~EchoCluster() { (void)Stop(); }

absl::Status EchoCluster::Start() {
  root_ = std::make_unique<Factory>(runtime_);
  std::shared_ptr<Network> node_network;
  if (flavour_ == kLoopback) {
    loopback_ = std::make_shared<LoopbackNetwork>(runtime_);
    node_network = loopback_->ForNode("n1");
  } else {
    node_network = std::make_shared<GrpcNetwork>(
        runtime_, GrpcNetworkOptions{.node_name = "n1"});
  }
  // n1 records its own address once serving; n2 is elsewhere.
  root_->Provide<Cluster>(std::make_unique<Cluster>(
      node_network, std::map<std::string, std::string>{{"n2", "127.0.0.1:1"}}));
  if (absl::StatusOr<Cluster*> cluster = root_->Get<Cluster>(); !cluster.ok()) {
    return cluster.status();
  }
  Factory& n1 = root_->Child("n1");
  n1.Bind<EchoDaemon, EchoImpl>();
  n1.Bind<EchoPeerDaemon, EchoPeerImpl>();
  absl::StatusOr<EchoDaemon*> echo = n1.Get<EchoDaemon>();
  if (!echo.ok()) return echo.status();
  echo_ = static_cast<EchoImpl*>(*echo);
  absl::StatusOr<EchoPeerDaemon*> peer = n1.Get<EchoPeerDaemon>();
  if (!peer.ok()) return peer.status();
  peer_ = static_cast<EchoPeerImpl*>(*peer);
  root_node_ = std::make_unique<Node>(*root_);
  if (absl::Status started = root_node_->Start(); !started.ok()) {
    return started;
  }
  node_ = std::make_unique<Node>(
      n1, NodeOptions{
              .listen_address = flavour_ == kLoopback ? "n1" : "127.0.0.1:0",
              .network = node_network});
  return node_->Start();
}

absl::Status EchoCluster::Stop() {
  absl::Status status;
  for (std::unique_ptr<Node>* node : {&node_, &root_node_}) {
    if (*node == nullptr) continue;
    (*node)->RequestStop();
    status.Update((*node)->Wait());
    node->reset();
  }
  return status;
}

std::shared_ptr<Channel> EchoCluster::ChannelAs(const std::string& name,
                                                Runtime* caller) {
  if (loopback_ != nullptr) {
    return name.empty() ? loopback_->Connect("n1")
                        : loopback_->ForNode(name)->Connect("n1");
  }
  auto network =
      std::make_shared<GrpcNetwork>(caller != nullptr ? *caller : runtime_,
                                    GrpcNetworkOptions{.node_name = name});
  networks_.push_back(network);
  return network->Connect(node_->address());
}

}  // namespace anvil::transport::testdata
