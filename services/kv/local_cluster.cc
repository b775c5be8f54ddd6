#include "services/kv/local_cluster.h"

#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/core/sleep.h"
#include "runtime/core/thread_event.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "services/kv/kv_node.h"

namespace anvil::kv {

LocalCluster::LocalCluster(Runtime& runtime, KvOptions options)
    : runtime_(runtime), options_(std::move(options)), root_(runtime) {}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    Runtime& runtime, KvOptions options) {
  std::unique_ptr<LocalCluster> local(
      new LocalCluster(runtime, std::move(options)));
  Factory& root = local->root_;
  // Real gRPC, whatever the build's default network (a demo and a
  // benchmark of the real thing, also in a --config=sim build).
  local->network_ = std::make_shared<GrpcNetwork>(runtime);
  root.Provide<Cluster>(std::make_unique<Cluster>(
      local->network_, std::map<std::string, std::string>{}));
  BindKv(root, local->options_);
  absl::StatusOr<Cluster*> cluster = root.Get<Cluster>();
  if (!cluster.ok()) return cluster.status();
  local->cluster_ = *cluster;
  local->root_node_ = std::make_unique<Node>(root);
  if (absl::Status started = local->root_node_->Start(); !started.ok()) {
    return started;
  }
  for (const std::string& node : local->options_.members) {
    if (absl::Status started = local->StartNode(node); !started.ok()) {
      return absl::Status(started.code(),
                          absl::StrCat(node, ": ", started.message()));
    }
  }
  return local;
}

LocalCluster::~LocalCluster() {
  for (auto& [name, node] : nodes_) (void)Kill(name);
  if (root_node_ != nullptr) {
    root_node_->RequestStop();
    (void)root_node_->Wait();
  }
}

absl::Status LocalCluster::StartNode(const std::string& name) {
  Factory& factory = root_.Child(name);
  // The node's own view of the cluster: its calls name it (the anvil-peer
  // header), so that its peers' CLUSTER services (RaftPeer) admit them.
  auto network = std::make_shared<GrpcNetwork>(
      runtime_, GrpcNetworkOptions{.node_name = name});
  factory.Provide<Cluster>(std::make_unique<Cluster>(network, *cluster_));
  absl::Status built = factory.Get<Cluster>().status();
  if (built.ok()) built = BuildKvNode(factory);
  if (!built.ok()) {
    (void)root_.DestroyChild(name);
    return built;
  }
  auto node = std::make_unique<Node>(
      factory, NodeOptions{.listen_address = "127.0.0.1:0",
                           .network = std::move(network),
                           .grace = absl::ZeroDuration()});
  if (absl::Status started = node->Start(); !started.ok()) {
    (void)node->Wait();
    node.reset();
    (void)root_.DestroyChild(name);
    return started;
  }
  nodes_[name] = std::move(node);
  return absl::OkStatus();
}

absl::Status LocalCluster::Kill(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end() || it->second == nullptr) {
    return absl::NotFoundError(absl::StrCat(name, " is not running"));
  }
  it->second->RequestStop();
  (void)it->second->Wait();
  it->second.reset();
  return root_.DestroyChild(name);
}

absl::Status LocalCluster::Restart(const std::string& name) {
  auto it = nodes_.find(name);
  if (it != nodes_.end() && it->second != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(name, " is running"));
  }
  return StartNode(name);
}

std::string LocalCluster::address(const std::string& name) const {
  auto it = nodes_.find(name);
  if (it == nodes_.end() || it->second == nullptr) return "down";
  return it->second->address();
}

namespace {

struct LeaderSearch {
  ThreadEvent done;
  std::string leader;  // written before `done`
};

Task<> FindLeader(ActorContext<int>&, LocalCluster* local,
                  std::vector<std::string> members, absl::Duration timeout,
                  std::shared_ptr<LeaderSearch> search) {
  const absl::Time give_up = absl::Now() + timeout;
  while (search->leader.empty() && absl::Now() < give_up) {
    for (const std::string& member : members) {
      absl::StatusOr<KvStoreRef> kv = local->Client(member);
      if (!kv.ok()) continue;
      absl::StatusOr<RaftStatus> status =
          co_await kv->Status(RaftStatusRequest(), absl::Milliseconds(200));
      if (status.ok() && status->role() == "leader") {
        search->leader = status->node();
        break;
      }
    }
    if (search->leader.empty()) co_await Sleep(absl::Milliseconds(20));
  }
  search->done.Notify();
}

}  // namespace

absl::StatusOr<std::string> LocalCluster::WaitForLeader(
    absl::Duration timeout) {
  auto search = std::make_shared<LeaderSearch>();
  runtime_.Spawn(FindLeader, this, options_.members, timeout, search);
  search->done.Wait();
  if (search->leader.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat("no leader after ", absl::FormatDuration(timeout)));
  }
  return search->leader;
}

}  // namespace anvil::kv
