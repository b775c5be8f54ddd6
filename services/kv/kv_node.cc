#include "services/kv/kv_node.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status_macros.h"
#include "services/kv/kv_storage.h"
#include "services/kv/raft_replica.h"

namespace anvil::kv {
namespace {

// Every call names a key; the empty string is not one.
absl::Status CheckKey(const std::string& key) {
  if (key.empty()) return absl::InvalidArgumentError("the key is empty");
  return absl::OkStatus();
}

}  // namespace

Task<absl::StatusOr<VoteReply>> RaftPeerServer::RequestVote(
    CallContext& call, const VoteRequest& request) {
  co_return co_await raft().RequestVote(request, call);
}

Task<absl::StatusOr<AppendReply>> RaftPeerServer::AppendEntries(
    CallContext& call, const AppendRequest& request) {
  co_return co_await raft().AppendEntries(request, call);
}

KvFrontend::KvFrontend(const KvStoreDeps& deps)
    : KvStoreDaemon(deps),
      cluster_(Cluster::Find(deps.context.factory())),
      self_(deps.context.factory().name()) {}

Task<absl::StatusOr<KvStoreRef>> KvFrontend::Leader(CallContext& call,
                                                    absl::Status not_leader) {
  ANVIL_CO_ASSIGN_OR_RETURN(RaftStatus status,
                            co_await raft().Status(RaftStatusRequest(), call));
  if (status.leader().empty() || status.leader() == self_) {
    co_return absl::UnavailableError(absl::StrCat(
        "no leader is known to ", self_, " (term ", status.term(), "); retry"));
  }
  if (cluster_ == nullptr) co_return not_leader;
  co_return cluster_->peers().RefTo<KvStoreRef>(status.leader());
}

Task<absl::Status> KvFrontend::Watch(CallContext& call,
                                     const WatchRequest& request,
                                     ServerWriter<WatchEvent>& replies) {
  ClientReader<WatchEvent> applied = raft().Watch(request, call);
  // A client that goes away while no change comes ends the watch now. The
  // hook refers to `applied`: unhooked before it goes, however the frame
  // ends (a hard crash destroys it where it stands).
  call.cancellation()->OnCancel(
      [&applied](const absl::Status& why) { applied.Cancel(why); });
  struct Unhook {
    CallCancellation* cancellation;
    ~Unhook() { cancellation->OnCancel(nullptr); }
  } unhook{call.cancellation()};
  absl::Status written;
  while (std::optional<WatchEvent> event = co_await applied.Read()) {
    written = co_await replies.Write(*std::move(event));
    if (!written.ok()) break;
  }
  if (!written.ok()) co_return written;
  co_return co_await applied.Finish();
}

template <typename Reply, typename Forward, typename Extract>
Task<absl::StatusOr<Reply>> KvFrontend::Write(CallContext& call,
                                              Command command, Forward forward,
                                              Extract extract) {
  absl::StatusOr<SubmitReply> submitted =
      co_await raft().Submit(std::move(command), call);
  if (absl::IsFailedPrecondition(submitted.status())) {
    ANVIL_CO_ASSIGN_OR_RETURN(KvStoreRef leader,
                              co_await Leader(call, submitted.status()));
    co_return co_await forward(leader);
  }
  ANVIL_CO_RETURN_IF_ERROR(submitted.status());
  co_return extract(submitted->result());
}

Task<absl::StatusOr<GetReply>> KvFrontend::Get(CallContext& call,
                                               const GetRequest& request) {
  ANVIL_CO_RETURN_IF_ERROR(CheckKey(request.key()));
  absl::StatusOr<GetReply> read = co_await raft().Read(request, call);
  if (absl::IsFailedPrecondition(read.status())) {
    ANVIL_CO_ASSIGN_OR_RETURN(KvStoreRef leader,
                              co_await Leader(call, read.status()));
    co_return co_await leader.Get(request, call);
  }
  co_return read;
}

Task<absl::StatusOr<PutReply>> KvFrontend::Put(CallContext& call,
                                               const PutRequest& request) {
  ANVIL_CO_RETURN_IF_ERROR(CheckKey(request.key()));
  Command command;
  *command.mutable_put() = request;
  co_return co_await Write<PutReply>(
      call, std::move(command),
      [&](KvStoreRef& leader) { return leader.Put(request, call); },
      [](const CommandResult& result) { return result.put(); });
}

Task<absl::StatusOr<DeleteReply>> KvFrontend::Delete(
    CallContext& call, const DeleteRequest& request) {
  ANVIL_CO_RETURN_IF_ERROR(CheckKey(request.key()));
  Command command;
  *command.mutable_delete_() = request;
  co_return co_await Write<DeleteReply>(
      call, std::move(command),
      [&](KvStoreRef& leader) { return leader.Delete(request, call); },
      [](const CommandResult& result) { return result.delete_(); });
}

Task<absl::StatusOr<CompareAndSetReply>> KvFrontend::CompareAndSet(
    CallContext& call, const CompareAndSetRequest& request) {
  ANVIL_CO_RETURN_IF_ERROR(CheckKey(request.key()));
  Command command;
  *command.mutable_compare_and_set() = request;
  co_return co_await Write<CompareAndSetReply>(
      call, std::move(command),
      [&](KvStoreRef& leader) { return leader.CompareAndSet(request, call); },
      [](const CommandResult& result) { return result.compare_and_set(); });
}

Task<absl::StatusOr<RaftStatus>> KvFrontend::Status(
    CallContext& call, const RaftStatusRequest& request) {
  co_return co_await raft().Status(request, call);
}

void BindKv(Factory& root, KvOptions options) {
  root.Provide<ClusterConfigDaemon>(
      std::make_unique<KvConfig>(std::move(options)));
  root.Bind<StorageDaemon, KvStorage>();
  root.Bind<RaftDaemon, RaftReplica>();
  root.Bind<RaftPeerDaemon, RaftPeerServer>();
  root.Bind<KvStoreDaemon, KvFrontend>();
}

absl::Status BuildKvNode(Factory& node) {
  // Raft and KvStore reach other nodes through the Cluster daemon, which
  // they find (Cluster::Find) but do not depend on: build it first if it
  // is bound and not built yet. (Unbound: fine for a group of one; Raft's
  // Prepare says so otherwise.)
  if (Cluster::Find(node) == nullptr) {
    absl::StatusOr<Cluster*> cluster = node.Get<Cluster>();
    if (!cluster.ok() && !absl::IsNotFound(cluster.status())) {
      return cluster.status();
    }
  }
  if (absl::Status built = node.Get<RaftPeerDaemon>().status(); !built.ok()) {
    return built;
  }
  return node.Get<KvStoreDaemon>().status();
}

}  // namespace anvil::kv
