// RaftReplica: the kv store's Raft daemon. Drives a RaftCore on the daemon's
// actor: ticks from its timer, peers' RPCs through RaftPeer, replies from
// one sender actor per peer; persists through the node's Storage
// (awaiting its fsync on the storage seam) before it sends or applies
// anything, and applies committed commands to the node's KvStateMachine.
//
//   root.Bind<anvil::kv::RaftDaemon, anvil::kv::RaftReplica>();
//   // KvStore: co_await raft.Submit(command, call), raft.Read(get, call)
//
// Submit and Read are served only by the leader (FAILED_PRECONDITION
// naming the leader elsewhere; KvStore passes the call on). Proposals that
// arrive together are appended, fsync'ed and replicated as one batch. A
// write's outcome: OK once applied; FAILED_PRECONDITION or UNAVAILABLE
// (stopping) before it was appended: it never takes effect; UNKNOWN if
// this node lost its leadership or stopped first (a new leader may still
// commit it); ABORTED if it was overwritten (it never takes effect);
// DEADLINE_EXCEEDED as the caller's deadline says (outcome unknown). A
// storage error is fatal: the daemon stops and its node reports the
// error.
//
// Thread-safety: everything runs on the daemon's actor, which writes the
// storage one call at a time.
#ifndef ANVIL_SERVICES_KV_RAFT_REPLICA_H_
#define ANVIL_SERVICES_KV_RAFT_REPLICA_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/core/async_event.h"
#include "runtime/node/cluster.h"
#include "services/kv/kv.anvil.h"
#include "services/kv/raft_core.h"
#include "services/kv/state_machine.h"
#include "spdlog/logger.h"

namespace anvil::kv {

// Room an AppendEntries needs beyond its commands: its fields and each
// entry's term, index and framing (at most RaftCore's 256 entries).
inline constexpr size_t kAppendOverheadBytes = 64 << 10;

// The largest command Submit accepts on a network whose messages may be
// `max_message_bytes` long: one entry alone must fit in an AppendEntries.
// Batches of entries stay below it too (RaftCore::Options).
constexpr size_t MaxCommandBytes(size_t max_message_bytes) {
  return max_message_bytes > kAppendOverheadBytes
             ? max_message_bytes - kAppendOverheadBytes
             : 0;
}

class RaftReplica final : public RaftDaemon {
 public:
  explicit RaftReplica(const RaftDeps& deps);
  ~RaftReplica() override;

  // Recovers the log and hard state from Storage. INVALID_ARGUMENT if this
  // node is not among KvOptions::members, or the group has other members
  // but the process no anvil::Cluster to reach them.
  Task<absl::Status> Prepare() override;
  Task<absl::Status> Run() override;
  Task<> Stop() override;

  // What the sender actors share with the daemon (internal).
  struct Helpers;

 private:
  // A Submit or Read waiting for its outcome.
  struct Waiter;

  Task<absl::StatusOr<VoteReply>> RequestVote(
      CallContext& call, const VoteRequest& request) override;
  Task<absl::StatusOr<AppendReply>> AppendEntries(
      CallContext& call, const AppendRequest& request) override;
  Task<absl::StatusOr<SubmitReply>> Submit(CallContext& call,
                                           const Command& request) override;
  Task<absl::StatusOr<GetReply>> Read(CallContext& call,
                                      const GetRequest& request) override;
  Task<absl::StatusOr<RaftStatus>> Status(
      CallContext& call, const RaftStatusRequest& request) override;
  // Streams what the state machine applies, from its history, then as it
  // is applied: a task beside the actor's loop that reads the state
  // machine between its writes (runtime/actor/stream.h, "Reentrancy").
  Task<absl::Status> Watch(CallContext& call, const WatchRequest& request,
                           ServerWriter<WatchEvent>& replies) override;
  // Private messages: the clock, a flush of queued proposals, replies.
  Task<> Receive(RaftTick& tick) override;
  Task<> Receive(RaftFlush& flush) override;
  Task<> Receive(VoteOutcome& outcome) override;
  Task<> Receive(AppendOutcome& outcome) override;

  // Until no work is left: persists, sends, applies; then settles waiters.
  Task<absl::Status> Process();
  Task<absl::Status> Persist(RaftCore::Ready& ready);
  void Apply(uint64_t index, const LogEntry& entry);
  // Proposes what Submit queued, and starts queued reads.
  void FlushPending();
  void StartReads();
  void ServeReads();
  void ScheduleFlush();
  // Fails waiters after a change of leadership.
  void SettleLeadership();
  // Logs a change of role, term or known leader (elections, leader
  // changes), one line each.
  void LogTransitions();
  void FailAll(const absl::Status& why);
  // OK if this node may take a Submit or Read now: it leads, and is
  // neither stopping nor failed.
  absl::Status Admit() const;
  Task<absl::Status> Await(std::shared_ptr<Waiter> waiter, CallContext& call);

  const std::string id_;
  spdlog::logger& log_;
  const KvOptions options_;
  Cluster* const cluster_;
  // The network's message limit (4 MiB without a Cluster), set by Prepare.
  size_t max_message_bytes_ = 4 << 20;
  std::unique_ptr<RaftCore> core_;
  KvStateMachine state_machine_;
  uint64_t applied_ = 0;

  std::shared_ptr<Helpers> helpers_;
  std::map<std::string, ActorRef<RaftCore::Message>> senders_;

  // Submits not yet proposed; proposed ones by log index; reads.
  std::deque<std::shared_ptr<Waiter>> unproposed_;
  std::map<uint64_t, std::shared_ptr<Waiter>> proposed_;
  std::vector<std::shared_ptr<Waiter>> reads_;
  // Watches waiting for the next applied entry (notified, then dropped).
  std::vector<std::shared_ptr<AsyncEvent>> watchers_;
  bool flush_scheduled_ = false;
  uint64_t leader_term_ = 0;  // the term this node leads in, or 0
  // What LogTransitions last logged.
  RaftCore::Role logged_role_ = RaftCore::Role::kFollower;
  uint64_t logged_term_ = 0;
  std::string logged_leader_;
  // Whether the last AppendEntries this node answered was refused: only
  // the first of a run of refusals is logged.
  bool refusing_appends_ = false;
  // What stops the node: a storage error, or (from Prepare) a bad tick.
  absl::Status failed_;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_RAFT_REPLICA_H_
