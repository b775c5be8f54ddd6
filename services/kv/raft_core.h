// RaftCore: the Raft consensus algorithm (Ongaro and Ousterhout, "In
// Search of an Understandable Consensus Algorithm") as a deterministic
// state machine with no I/O, no clock and no threads: time is Tick(),
// messages come in as calls, and what must happen next (persist, send,
// apply) is handed out by TakeReady(). The Raft daemon (raft_daemon.h)
// drives it; tests drive it by hand (raft_core_test.cc).
//
//   RaftCore core("n1", {"n1", "n2", "n3"}, RaftCore::Options{}, seed);
//   core.Tick();                        // ... until it campaigns
//   RaftCore::Ready ready = core.TakeReady();
//   // 1. persist ready.hard_state and ready.append (before anything else),
//   // 2. send ready.messages, feeding replies to HandleVoteReply /
//   //    HandleAppendReply,
//   // 3. apply ready.committed in order.
//
// Covered: leader election (randomized timeouts, the up-to-date log rule,
// pre-vote: a node that cannot win, such as one cut off from the others,
// does not raise its term, so it does not depose the leader on its return),
// log replication with consistency checks, fast backtracking by term and
// truncation of conflicting suffixes, commit only of entries of the
// current term (a new leader appends a no-op), check-quorum (a leader that
// has not heard from a majority for an election timeout steps down), and
// ReadIndex for linearizable reads without writing the log. Not (yet):
// snapshots and log compaction (the log grows without bound), membership
// changes.
//
// Thread-compatible.
#ifndef ANVIL_SERVICES_KV_RAFT_CORE_H_
#define ANVIL_SERVICES_KV_RAFT_CORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "services/kv/kv.pb.h"
#include "services/kv/log_store.h"

namespace anvil::kv {

class RaftCore {
 public:
  // A pre-candidate asks for pre-votes; with a majority, it becomes a
  // candidate (and only then raises its term).
  enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };

  struct Options {
    // A follower that hears no leader for a random number of ticks in
    // [election_ticks, 2 * election_ticks) campaigns.
    int election_ticks = 10;
    // A leader sends every follower an AppendEntries this often.
    int heartbeat_ticks = 2;
    // Entries per AppendEntries, and bytes of their commands (a single
    // larger entry goes alone). RaftReplica keeps the bytes below the
    // network's message limit, less kAppendOverheadBytes.
    size_t max_append_entries = 256;
    size_t max_append_bytes = 1 << 20;
  };

  // A request for a peer. Its reply goes to HandleVoteReply or
  // HandleAppendReply; a lost one needs nothing: Raft retries.
  struct Message {
    std::string to;
    std::variant<VoteRequest, AppendRequest> request;
  };

  // What the driver must do, in this order.
  struct Ready {
    // Persist these before sending or applying anything.
    std::optional<HardState> hard_state;
    // Replace the log from `append_from` on with `append` (LogStore::Append).
    uint64_t append_from = 0;
    std::vector<LogEntry> append;
    std::vector<Message> messages;
    // Newly committed entries, by index, to apply in order.
    std::vector<std::pair<uint64_t, LogEntry>> committed;

    bool empty() const {
      return !hard_state && append.empty() && append_from == 0 &&
             messages.empty() && committed.empty();
    }
  };

  // A ReadIndex read: serve it once read_round is confirmed (ReadConfirmed)
  // and the state machine has applied `index`.
  struct ReadTicket {
    uint64_t index = 0;
    uint64_t round = 0;
    uint64_t term = 0;
  };

  // `members` includes `id`. `seed` drives the election timeouts.
  RaftCore(std::string id, std::vector<std::string> members, Options options,
           uint64_t seed);

  // Loads what a LogStore recovered. Call before anything else.
  void Restore(const HardState& hard_state, std::vector<LogEntry> log);

  // One unit of time.
  void Tick();

  // A peer's requests: the reply to send back (after persisting Ready).
  VoteReply HandleVote(const VoteRequest& request);
  AppendReply HandleAppend(const AppendRequest& request);
  // Replies to this node's requests.
  void HandleVoteReply(const std::string& from, const VoteReply& reply);
  void HandleAppendReply(const std::string& from, const AppendReply& reply);

  // Leader only: appends `commands` (serialized Commands) and sends them
  // out. The index of the first; FAILED_PRECONDITION if not the leader.
  absl::StatusOr<uint64_t> Propose(const std::vector<std::string>& commands);

  // Leader only: starts a read at the commit index and a read round that
  // the next messages carry (TakeReady). UNAVAILABLE until the leader has
  // committed an entry of its term; FAILED_PRECONDITION if not the leader.
  absl::StatusOr<ReadTicket> BeginRead();
  // Whether a majority acknowledged the ticket's round in its term.
  bool ReadConfirmed(const ReadTicket& ticket) const;

  // Sends every follower what it lacks (or a heartbeat) now.
  void Broadcast();

  Ready TakeReady();

  const std::string& id() const { return id_; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  // The leader of the current term, as far as this node knows; or empty.
  const std::string& leader() const { return leader_; }
  uint64_t last_index() const { return log_.size(); }
  uint64_t commit_index() const { return commit_; }
  // The term of entry `index` (0 for 0 and past the end).
  uint64_t TermAt(uint64_t index) const;
  const std::vector<std::string>& members() const { return members_; }
  // How often, as leader, this node heard a follower say its log ends
  // before what it had acknowledged: it lost entries, and is sent them
  // again.
  uint64_t followers_behind_acknowledged() const {
    return followers_behind_acknowledged_;
  }
  // FAILED_PRECONDITION naming the leader (or saying none is known).
  absl::Status NotLeader() const;

  static const char* RoleName(Role role);

 private:
  struct Progress {
    uint64_t next = 1;   // the next entry to send
    uint64_t match = 0;  // highest entry known replicated
    uint64_t read_round = 0;
    bool heard = false;  // replied since the last quorum check
  };

  size_t quorum() const { return members_.size() / 2 + 1; }
  void BecomeFollower(uint64_t term, const std::string& leader);
  // Asks for pre-votes (a group of one campaigns at once).
  void PreCampaign();
  void Campaign();
  // Asks every peer for its (pre-)vote in `term`.
  void RequestVotes(uint64_t term, bool pre_vote);
  void BecomeLeader();
  void SendAppend(const std::string& peer);
  void MaybeCommit();
  void Append(uint64_t from, std::vector<LogEntry> entries);
  void ResetElectionTimer();
  void MarkHardStateDirty() { hard_state_dirty_ = true; }

  const std::string id_;
  const std::vector<std::string> members_;
  const Options options_;
  std::mt19937_64 random_;

  Role role_ = Role::kFollower;
  uint64_t term_ = 0;
  std::string vote_;
  std::string leader_;
  std::vector<LogEntry> log_;  // log_[i] has index i + 1
  uint64_t commit_ = 0;
  uint64_t handed_out_ = 0;  // committed entries given to TakeReady

  int elapsed_ = 0;  // ticks since the leader or a vote was last heard
  int election_timeout_ = 0;
  int heartbeat_elapsed_ = 0;
  absl::flat_hash_set<std::string> votes_;  // or pre-votes
  // Leader only. Ordered: messages go out in the same order every run (a
  // simulation replays).
  std::map<std::string, Progress> progress_;
  uint64_t read_round_ = 0;
  uint64_t followers_behind_acknowledged_ = 0;

  bool hard_state_dirty_ = false;
  uint64_t unstable_from_ = 0;  // lowest index changed since TakeReady; 0: none
  std::vector<Message> outbox_;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_RAFT_CORE_H_
