// The kv store's node: the KvStore and RaftPeer daemons, and the one call
// that binds every kv daemon in a root factory.
//
//   anvil::Factory root(runtime);
//   root.Bind<anvil::Cluster, anvil::Cluster>();       // how nodes meet
//   anvil::kv::BindKv(root, {.members = {"n1", "n2", "n3"},
//                            .data_dir = "/var/lib/kv"});
//   anvil::Factory& n1 = root.Child("n1");
//   ANVIL_RETURN_IF_ERROR(anvil::kv::BuildKvNode(n1));
//   anvil::Node node(n1);   // serves KvStore and RaftPeer when started
//
// KvStore serves clients on every node: a node that is not the leader
// passes the call to the leader's KvStore (found through the Cluster
// daemon), within the caller's deadline. A client sees: the reply;
// UNAVAILABLE when no leader is known (retry later; nothing was written);
// UNKNOWN when the leader lost its leadership or stopped during the call;
// DEADLINE_EXCEEDED. After UNKNOWN or DEADLINE_EXCEEDED, and after
// UNAVAILABLE from the transport (a reply lost on the way), a write may or
// may not have taken effect.
#ifndef ANVIL_SERVICES_KV_KV_NODE_H_
#define ANVIL_SERVICES_KV_KV_NODE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/cluster.h"
#include "services/kv/kv.anvil.h"
#include "services/kv/kv_config.h"

namespace anvil::kv {

// Passes peers' RPCs to the node's Raft daemon.
class RaftPeerServer final : public RaftPeerDaemon {
 public:
  using RaftPeerDaemon::RaftPeerDaemon;

 private:
  Task<absl::StatusOr<VoteReply>> RequestVote(
      CallContext& call, const VoteRequest& request) override;
  Task<absl::StatusOr<AppendReply>> AppendEntries(
      CallContext& call, const AppendRequest& request) override;
};

// The client API on Raft (see the file comment).
class KvFrontend final : public KvStoreDaemon {
 public:
  explicit KvFrontend(const KvStoreDeps& deps);

 private:
  Task<absl::StatusOr<GetReply>> Get(CallContext& call,
                                     const GetRequest& request) override;
  Task<absl::StatusOr<PutReply>> Put(CallContext& call,
                                     const PutRequest& request) override;
  Task<absl::StatusOr<DeleteReply>> Delete(
      CallContext& call, const DeleteRequest& request) override;
  Task<absl::StatusOr<CompareAndSetReply>> CompareAndSet(
      CallContext& call, const CompareAndSetRequest& request) override;
  Task<absl::StatusOr<RaftStatus>> Status(
      CallContext& call, const RaftStatusRequest& request) override;
  // This node's Raft.Watch, passed on.
  Task<absl::Status> Watch(CallContext& call, const WatchRequest& request,
                           ServerWriter<WatchEvent>& replies) override;

  // Submits `command` to the local Raft and replies with
  // `extract(result)`; or, when this node is not the leader, passes the
  // call to the leader's KvStore: `forward(leader)` is that call.
  template <typename Reply, typename Forward, typename Extract>
  Task<absl::StatusOr<Reply>> Write(CallContext& call, Command command,
                                    Forward forward, Extract extract);
  // The leader's KvStore, for a call this node's Raft refused with
  // `not_leader`.
  Task<absl::StatusOr<KvStoreRef>> Leader(CallContext& call,
                                          absl::Status not_leader);

  Cluster* const cluster_;
  const std::string self_;
};

// Provides KvConfig(options) and binds Storage, Raft, RaftPeer and
// KvStore in `root`, for every node under it.
void BindKv(Factory& root, KvOptions options);

// Builds a node's kv daemons in `node` (a child of the root BindKv
// bound): KvStore and RaftPeer, and so Raft and Storage; and the Cluster
// daemon, if one is bound and none is built yet.
absl::Status BuildKvNode(Factory& node);

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_KV_NODE_H_
