#include "testing/sim/sim_cluster.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace anvil::sim {
namespace {

// A node's whole stop, in virtual time: a few simulated minutes at most.
constexpr absl::Duration kStopBudget = absl::Minutes(10);

}  // namespace

SimCluster::SimCluster(Simulation& sim,
                       std::function<void(Factory& root)> bind_root)
    : sim_(sim), root_(std::make_unique<Factory>(sim.runtime())) {
  // The cluster's own address book; each node's calls go through its own
  // view of the network (see Peers in the nodes' builds).
  root_->Provide<Cluster>(std::make_unique<Cluster>(
      sim.network().ForNode("root"), std::map<std::string, std::string>{}));
  if (bind_root) bind_root(*root_);
  cluster_ = *root_->Get<Cluster>();
  root_node_ = std::make_unique<Node>(*root_);
  root_node_->StartAsync();
  absl::Status ran = sim_.RunUntil([&] { return root_node_->start_done(); });
  if (!ran.ok() || !root_node_->start_status().ok()) {
    std::fprintf(stderr, "SimCluster: root failed to start: %s %s\n",
                 ran.ToString().c_str(),
                 root_node_->start_status().ToString().c_str());
    std::abort();
  }
}

SimCluster::~SimCluster() {
  for (auto& [name, member] : members_) {
    if (member.node != nullptr) (void)Down(name, /*crash=*/false);
  }
  root_node_->RequestStop();
  (void)sim_.RunUntil([&] { return root_node_->stopped(); });
  if (!root_node_->stopped()) {
    // The simulation cannot move; leave the node to the runtime's shutdown
    // rather than block in ~Node.
    (void)root_node_.release();
  }
}

absl::Status SimCluster::AddNode(const std::string& name, Build build) {
  Member& member = members_[name];
  if (member.node != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("node ", name, " is already running"));
  }
  member.build = std::move(build);
  return Start(name, member);
}

absl::Status SimCluster::Restart(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) {
    return absl::NotFoundError(absl::StrCat("no node ", name));
  }
  if (it->second.node != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("node ", name, " is already running"));
  }
  return Start(name, it->second);
}

absl::Status SimCluster::Start(const std::string& name, Member& member) {
  Factory& factory = root_->Child(name);
  if (absl::Status built = member.build(factory); !built.ok()) {
    (void)root_->DestroyChild(name);
    return built;
  }
  member.node = std::make_unique<Node>(
      factory, NodeOptions{.listen_address = name,
                           .network = sim_.network().ForNode(name),
                           .grace = absl::Seconds(1)});
  Node& node = *member.node;
  node.StartAsync();
  absl::Status ran = sim_.RunUntil([&] { return node.start_done(); });
  if (ran.ok()) ran = node.start_status();
  if (!ran.ok()) {
    (void)sim_.RunUntil([&] { return node.stopped(); });
    member.node.reset();
    (void)root_->DestroyChild(name);
  }
  return ran;
}

absl::Status SimCluster::Stop(const std::string& name) {
  return Down(name, /*crash=*/false);
}

absl::Status SimCluster::Crash(const std::string& name) {
  return Down(name, /*crash=*/true);
}

absl::Status SimCluster::Down(const std::string& name, bool crash) {
  auto it = members_.find(name);
  if (it == members_.end() || it->second.node == nullptr) {
    return absl::NotFoundError(absl::StrCat("node ", name, " is not running"));
  }
  Node& node = *it->second.node;
  // A crash: the network loses the node at once, so nothing reaches it, or
  // comes from it, while its daemons stop.
  if (crash) sim_.network().Isolate(name);
  node.RequestStop();
  const absl::Duration deadline = sim_.elapsed() + kStopBudget;
  absl::Status ran = sim_.RunUntil(
      [&] { return node.stopped() || sim_.elapsed() > deadline; });
  if (crash) sim_.network().Reconnect(name);
  if (!ran.ok()) return ran;
  if (!node.stopped()) {
    return absl::DeadlineExceededError(
        absl::StrCat("node ", name, " did not stop within ",
                     absl::FormatDuration(kStopBudget), " of virtual time"));
  }
  const absl::Status final_status = node.final_status();
  it->second.node.reset();
  if (absl::Status destroyed = root_->DestroyChild(name); !destroyed.ok()) {
    return destroyed;
  }
  return crash ? absl::OkStatus() : final_status;
}

bool SimCluster::running(const std::string& name) const {
  auto it = members_.find(name);
  return it != members_.end() && it->second.node != nullptr;
}

Node* SimCluster::node(const std::string& name) {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : it->second.node.get();
}

}  // namespace anvil::sim
