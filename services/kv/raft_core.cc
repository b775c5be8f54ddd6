#include "services/kv/raft_core.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/buggify.h"

namespace anvil::kv {
namespace {

// What an entry adds to an AppendEntries message besides its command: its
// term and the protobuf framing, at most.
constexpr size_t kEntryOverheadBytes = 16;

}  // namespace

RaftCore::RaftCore(std::string id, std::vector<std::string> members,
                   Options options, uint64_t seed)
    : id_(std::move(id)),
      members_(std::move(members)),
      options_(options),
      random_(seed) {
  ResetElectionTimer();
}

const char* RaftCore::RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

void RaftCore::Restore(const HardState& hard_state, std::vector<LogEntry> log) {
  term_ = hard_state.term;
  vote_ = hard_state.vote;
  log_ = std::move(log);
  // The commit index is not persisted: the leader tells it again, and the
  // state machine is rebuilt by applying the log from the start.
}

uint64_t RaftCore::TermAt(uint64_t index) const {
  if (index == 0 || index > log_.size()) return 0;
  return log_[index - 1].term;
}

void RaftCore::ResetElectionTimer() {
  elapsed_ = 0;
  election_timeout_ =
      options_.election_ticks +
      static_cast<int>(random_() % static_cast<uint64_t>(
                                       std::max(1, options_.election_ticks)));
  // A follower that gives up on its leader far too soon.
  if (ANVIL_BUGGIFY("kv.early_election")) {
    election_timeout_ = std::max(2, options_.election_ticks / 3);
  }
}

void RaftCore::Tick() {
  if (role_ == Role::kLeader) {
    if (++heartbeat_elapsed_ >= options_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      Broadcast();
    }
    // Check-quorum: step down if a majority went quiet for a whole
    // election timeout, so that a leader cut off from the others stops
    // believing it leads.
    if (++elapsed_ >= options_.election_ticks) {
      size_t heard = 1;
      for (auto& [peer, progress] : progress_) {
        if (progress.heard) ++heard;
        progress.heard = false;
      }
      elapsed_ = 0;
      if (heard < quorum()) BecomeFollower(term_, "");
    }
    return;
  }
  if (++elapsed_ >= election_timeout_) PreCampaign();
}

void RaftCore::BecomeFollower(uint64_t term, const std::string& leader) {
  if (term > term_) {
    term_ = term;
    vote_.clear();
    MarkHardStateDirty();
  }
  role_ = Role::kFollower;
  leader_ = leader;
  votes_.clear();
  progress_.clear();
  ResetElectionTimer();
}

void RaftCore::RequestVotes(uint64_t term, bool pre_vote) {
  VoteRequest request;
  request.set_term(term);
  request.set_candidate(id_);
  request.set_last_log_index(last_index());
  request.set_last_log_term(TermAt(last_index()));
  request.set_pre_vote(pre_vote);
  for (const std::string& peer : members_) {
    if (peer != id_) outbox_.push_back({peer, request});
  }
}

void RaftCore::PreCampaign() {
  if (members_.size() == 1) {
    Campaign();
    return;
  }
  role_ = Role::kPreCandidate;
  leader_.clear();
  votes_ = {id_};
  ResetElectionTimer();
  RequestVotes(term_ + 1, /*pre_vote=*/true);
}

void RaftCore::Campaign() {
  ++term_;
  role_ = Role::kCandidate;
  vote_ = id_;
  leader_.clear();
  MarkHardStateDirty();
  votes_ = {id_};
  ResetElectionTimer();
  if (votes_.size() >= quorum()) {
    BecomeLeader();
    return;
  }
  RequestVotes(term_, /*pre_vote=*/false);
}

void RaftCore::BecomeLeader() {
  role_ = Role::kLeader;
  leader_ = id_;
  votes_.clear();
  progress_.clear();
  for (const std::string& peer : members_) {
    if (peer != id_) progress_[peer] = Progress{.next = last_index() + 1};
  }
  elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  // A no-op of this term: committing it commits everything before it
  // (Raft commits earlier terms' entries only indirectly), and lets reads
  // start.
  Append(last_index() + 1, {LogEntry{.term = term_}});
  MaybeCommit();  // a cluster of one
  Broadcast();
}

VoteReply RaftCore::HandleVote(const VoteRequest& request) {
  const uint64_t my_last_term = TermAt(last_index());
  const bool up_to_date = request.last_log_term() > my_last_term ||
                          (request.last_log_term() == my_last_term &&
                           request.last_log_index() >= last_index());
  VoteReply reply;
  if (request.pre_vote()) {
    // Changes nothing here. Granted only to a log at least as complete,
    // for a later term, by a node that has not heard from a leader for an
    // election timeout (so one node cut off cannot depose a live leader).
    const bool leader_alive =
        role_ == Role::kLeader ||
        (!leader_.empty() && elapsed_ < options_.election_ticks);
    reply.set_pre_vote(true);
    reply.set_term(term_);
    reply.set_granted(request.term() > term_ && up_to_date && !leader_alive);
    return reply;
  }
  if (request.term() > term_) BecomeFollower(request.term(), "");
  if (request.term() == term_ && role_ == Role::kFollower &&
      (vote_.empty() || vote_ == request.candidate()) && up_to_date) {
    vote_ = request.candidate();
    MarkHardStateDirty();
    ResetElectionTimer();
    reply.set_granted(true);
  }
  reply.set_term(term_);
  return reply;
}

void RaftCore::HandleVoteReply(const std::string& from,
                               const VoteReply& reply) {
  if (reply.term() > term_) {
    BecomeFollower(reply.term(), "");
    return;
  }
  if (!reply.granted()) return;
  if (reply.pre_vote()) {
    if (role_ != Role::kPreCandidate) return;
    votes_.insert(from);
    if (votes_.size() >= quorum()) Campaign();
    return;
  }
  if (role_ != Role::kCandidate || reply.term() != term_) return;
  votes_.insert(from);
  if (votes_.size() >= quorum()) BecomeLeader();
}

AppendReply RaftCore::HandleAppend(const AppendRequest& request) {
  AppendReply reply;
  reply.set_read_round(request.read_round());
  if (request.term() < term_) {
    reply.set_term(term_);
    return reply;  // a stale leader: it steps down on seeing our term
  }
  if (request.term() > term_ || role_ != Role::kFollower ||
      leader_ != request.leader()) {
    BecomeFollower(request.term(), request.leader());
  }
  ResetElectionTimer();
  reply.set_term(term_);

  const uint64_t prev = request.prev_index();
  if (prev > last_index()) {
    reply.set_match_index(last_index());
    return reply;
  }
  if (TermAt(prev) != request.prev_term()) {
    // Skip back over the whole conflicting term at once.
    const uint64_t conflict_term = TermAt(prev);
    uint64_t first = prev;
    while (first > 1 && TermAt(first - 1) == conflict_term) --first;
    reply.set_match_index(first - 1);
    return reply;
  }
  // Skip what we hold already; the first entry that differs truncates our
  // log from there.
  uint64_t index = prev;
  int i = 0;
  for (; i < request.entries_size(); ++i) {
    ++index;
    if (index > last_index() || TermAt(index) != request.entries(i).term()) {
      break;
    }
  }
  if (i < request.entries_size()) {
    std::vector<LogEntry> entries;
    entries.reserve(request.entries_size() - i);
    for (; i < request.entries_size(); ++i) {
      entries.push_back(LogEntry{.term = request.entries(i).term(),
                                 .command = request.entries(i).command()});
    }
    Append(index, std::move(entries));
  }
  const uint64_t match = prev + request.entries_size();
  const uint64_t commit = std::min(request.leader_commit(), match);
  if (commit > commit_) commit_ = commit;
  reply.set_success(true);
  reply.set_match_index(match);
  return reply;
}

void RaftCore::HandleAppendReply(const std::string& from,
                                 const AppendReply& reply) {
  if (reply.term() > term_) {
    BecomeFollower(reply.term(), "");
    return;
  }
  if (role_ != Role::kLeader || reply.term() != term_) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.heard = true;
  progress.read_round = std::max(progress.read_round, reply.read_round());
  if (reply.success()) {
    if (reply.match_index() > progress.match) {
      progress.match = reply.match_index();
      MaybeCommit();
    }
    progress.next = std::max(progress.next, progress.match + 1);
    if (progress.next <= last_index()) SendAppend(from);
    return;
  }
  // Rejected: retry after the point the follower says its log matches. If
  // that is before what it acknowledged, it lost entries (its log's tail
  // was cut, or its disk wiped): believe it, or it never catches up. (A
  // late reply can also say so; resending is then all it costs. Lowering
  // `match` never commits anything.)
  if (reply.match_index() < progress.match) {
    progress.match = reply.match_index();
    ++followers_behind_acknowledged_;
  }
  const uint64_t retry = reply.match_index() + 1;
  if (retry < progress.next) {
    progress.next = retry;
    SendAppend(from);
  }
}

void RaftCore::Append(uint64_t from, std::vector<LogEntry> entries) {
  log_.resize(from - 1);
  for (LogEntry& entry : entries) log_.push_back(std::move(entry));
  if (unstable_from_ == 0 || from < unstable_from_) unstable_from_ = from;
}

absl::Status RaftCore::NotLeader() const {
  return absl::FailedPreconditionError(
      absl::StrCat(id_, " is not the leader; the leader is ",
                   leader_.empty() ? "unknown" : leader_));
}

absl::StatusOr<uint64_t> RaftCore::Propose(
    const std::vector<std::string>& commands) {
  if (role_ != Role::kLeader) return NotLeader();
  const uint64_t first = last_index() + 1;
  std::vector<LogEntry> entries;
  entries.reserve(commands.size());
  for (const std::string& command : commands) {
    entries.push_back(LogEntry{.term = term_, .command = command});
  }
  Append(first, std::move(entries));
  MaybeCommit();  // a cluster of one
  for (auto& [peer, progress] : progress_) SendAppend(peer);
  return first;
}

absl::StatusOr<RaftCore::ReadTicket> RaftCore::BeginRead() {
  if (role_ != Role::kLeader) return NotLeader();
  if (TermAt(commit_) != term_) {
    return absl::UnavailableError(absl::StrCat(
        id_, " was just elected and has not committed in term ", term_));
  }
  return ReadTicket{.index = commit_, .round = ++read_round_, .term = term_};
}

bool RaftCore::ReadConfirmed(const ReadTicket& ticket) const {
  if (role_ != Role::kLeader || term_ != ticket.term) return false;
  size_t confirmed = 1;
  for (const auto& [peer, progress] : progress_) {
    if (progress.read_round >= ticket.round) ++confirmed;
  }
  return confirmed >= quorum();
}

void RaftCore::Broadcast() {
  if (role_ != Role::kLeader) return;
  for (auto& [peer, progress] : progress_) {
    // Resend from the last acknowledged entry: what was sent since and
    // lost goes again.
    progress.next = progress.match + 1;
    SendAppend(peer);
  }
}

void RaftCore::SendAppend(const std::string& peer) {
  Progress& progress = progress_[peer];
  AppendRequest request;
  request.set_term(term_);
  request.set_leader(id_);
  const uint64_t prev = progress.next - 1;
  request.set_prev_index(prev);
  request.set_prev_term(TermAt(prev));
  // At most max_append_entries entries and max_append_bytes of commands,
  // but at least one entry: the message must stay below the transport's
  // limit (gRPC's 4 MiB), or the follower never catches up.
  // One entry at a time: catch-up the slow way.
  const size_t max_entries =
      ANVIL_BUGGIFY("kv.tiny_append_batches") ? 1 : options_.max_append_entries;
  const uint64_t last = std::min<uint64_t>(last_index(), prev + max_entries);
  uint64_t end = prev;
  size_t bytes = 0;
  while (end < last) {
    const size_t size = log_[end].command.size() + kEntryOverheadBytes;
    if (end > prev && bytes + size > options_.max_append_bytes) break;
    bytes += size;
    RaftEntry* entry = request.add_entries();
    entry->set_term(log_[end].term);
    entry->set_command(log_[end].command);
    ++end;
  }
  request.set_leader_commit(commit_);
  request.set_read_round(read_round_);
  progress.next = end + 1;  // optimistic; Broadcast rewinds
  outbox_.push_back({peer, std::move(request)});
}

void RaftCore::MaybeCommit() {
  std::vector<uint64_t> matches = {last_index()};
  for (const auto& [peer, progress] : progress_) {
    matches.push_back(progress.match);
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const uint64_t majority = matches[quorum() - 1];
  // Only an entry of the current term commits by counting (Raft §5.4.2).
  if (majority > commit_ && TermAt(majority) == term_) commit_ = majority;
}

RaftCore::Ready RaftCore::TakeReady() {
  Ready ready;
  if (hard_state_dirty_) {
    ready.hard_state = HardState{.term = term_, .vote = vote_};
    hard_state_dirty_ = false;
  }
  if (unstable_from_ != 0) {
    ready.append_from = unstable_from_;
    ready.append.assign(log_.begin() + (unstable_from_ - 1), log_.end());
    unstable_from_ = 0;
  }
  ready.messages = std::move(outbox_);
  outbox_.clear();
  // A leader's commit index covers only what it persisted (this Ready's
  // append is persisted before `committed` is applied).
  for (uint64_t index = handed_out_ + 1; index <= commit_; ++index) {
    ready.committed.emplace_back(index, log_[index - 1]);
  }
  handed_out_ = commit_;
  return ready;
}

}  // namespace anvil::kv
