// RaftCore driven by hand: a few cores wired by a synchronous "network"
// that delivers every message at once unless its link is cut.
#include "services/kv/raft_core.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace anvil::kv {
namespace {

using ::anvil::testing::IsOk;
using ::testing::HasSubstr;
using Role = RaftCore::Role;

class Group {
 public:
  explicit Group(std::vector<std::string> names) {
    for (size_t i = 0; i < names.size(); ++i) {
      nodes_[names[i]] = std::make_unique<RaftCore>(
          names[i], names, RaftCore::Options{}, /*seed=*/i + 1);
    }
  }

  RaftCore& operator[](const std::string& name) { return *nodes_.at(name); }

  // Restarts `name` from a disk that kept only its hard state and its
  // first `keep` entries (a cut WAL, a wiped disk).
  void RestartWithLogCut(const std::string& name, size_t keep) {
    RaftCore& old = *nodes_.at(name);
    std::vector<LogEntry> log;
    for (uint64_t index = 1; index <= keep; ++index) {
      log.push_back({.term = old.TermAt(index)});
    }
    auto fresh = std::make_unique<RaftCore>(name, old.members(),
                                            RaftCore::Options{}, /*seed=*/99);
    fresh->Restore({.term = old.term()}, std::move(log));
    nodes_[name] = std::move(fresh);
    committed_[name].resize(std::min(committed_[name].size(), keep));
  }

  // Cuts `name` off from every other node (both ways).
  void Isolate(const std::string& name) { isolated_.insert(name); }
  void Heal() { isolated_.clear(); }

  // Ticks every node `ticks` times, delivering messages after each.
  void Tick(int ticks) {
    for (int i = 0; i < ticks; ++i) {
      for (auto& [name, node] : nodes_) node->Tick();
      Deliver();
    }
  }

  // Delivers messages (and their replies, and what they cause) until
  // every node is quiet. Records what each node commits.
  void Deliver() {
    bool progress = true;
    while (progress) {
      progress = false;
      for (auto& [name, node] : nodes_) {
        RaftCore::Ready ready = node->TakeReady();
        if (ready.empty()) continue;
        progress = true;
        for (auto& [index, entry] : ready.committed) {
          committed_[name].push_back(entry);
          EXPECT_EQ(committed_[name].size(), index);
        }
        for (RaftCore::Message& message : ready.messages) {
          if (isolated_.contains(name) || isolated_.contains(message.to)) {
            continue;
          }
          RaftCore& to = *nodes_.at(message.to);
          if (auto* vote = std::get_if<VoteRequest>(&message.request)) {
            node->HandleVoteReply(message.to, to.HandleVote(*vote));
          } else {
            node->HandleAppendReply(
                message.to,
                to.HandleAppend(std::get<AppendRequest>(message.request)));
          }
        }
      }
    }
  }

  // The leaders of the highest term any node is in.
  std::vector<std::string> Leaders() const {
    std::vector<std::string> leaders;
    for (const auto& [name, node] : nodes_) {
      if (node->role() == Role::kLeader) leaders.push_back(name);
    }
    return leaders;
  }

  // Ticks until exactly one reachable node leads; fails the test after
  // 200 ticks.
  std::string ElectLeader() {
    for (int i = 0; i < 200; ++i) {
      Tick(1);
      std::vector<std::string> leaders;
      for (const std::string& leader : Leaders()) {
        if (!isolated_.contains(leader)) leaders.push_back(leader);
      }
      if (leaders.size() == 1) return leaders[0];
    }
    ADD_FAILURE() << "no leader after 200 ticks";
    return "";
  }

  const std::vector<LogEntry>& committed(const std::string& name) {
    return committed_[name];
  }

 private:
  std::map<std::string, std::unique_ptr<RaftCore>> nodes_;
  std::set<std::string> isolated_;
  std::map<std::string, std::vector<LogEntry>> committed_;
};

std::vector<std::string> Commands(const std::vector<LogEntry>& entries) {
  std::vector<std::string> commands;
  for (const LogEntry& entry : entries) {
    if (!entry.command.empty()) commands.push_back(entry.command);
  }
  return commands;
}

// Ticks `core` until it asks for pre-votes, then grants it `voter`'s
// pre-vote and vote: with three members, that makes it the leader.
void ElectWithVoteOf(RaftCore& core, const std::string& voter) {
  for (int i = 0; i < 100 && core.role() != Role::kPreCandidate; ++i) {
    core.Tick();
  }
  ASSERT_EQ(core.role(), Role::kPreCandidate);
  const uint64_t term = core.term();
  VoteReply pre;
  pre.set_term(term);
  pre.set_granted(true);
  pre.set_pre_vote(true);
  core.HandleVoteReply(voter, pre);
  ASSERT_EQ(core.role(), Role::kCandidate);
  ASSERT_EQ(core.term(), term + 1);  // raised only now
  VoteReply yes;
  yes.set_term(core.term());
  yes.set_granted(true);
  core.HandleVoteReply(voter, yes);
}

TEST(RaftCoreTest, ElectsOneLeaderThatOthersFollow) {
  Group group({"a", "b", "c"});
  const std::string leader = group.ElectLeader();
  ASSERT_FALSE(leader.empty());
  group.Tick(5);
  EXPECT_EQ(group.Leaders(), std::vector<std::string>{leader});
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(group[name].leader(), leader) << name;
    EXPECT_EQ(group[name].term(), group[leader].term()) << name;
  }
}

TEST(RaftCoreTest, ASingleNodeLeadsAndCommitsAlone) {
  Group group({"solo"});
  ASSERT_EQ(group.ElectLeader(), "solo");
  ASSERT_THAT(group["solo"].Propose({"x"}), IsOk());
  group.Deliver();
  EXPECT_EQ(Commands(group.committed("solo")), std::vector<std::string>{"x"});
}

TEST(RaftCoreTest, ProposalsCommitEverywhereInOrder) {
  Group group({"a", "b", "c"});
  const std::string leader = group.ElectLeader();
  absl::StatusOr<uint64_t> first = group[leader].Propose({"1", "2"});
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(*first, 2u);  // after the leader's no-op
  ASSERT_THAT(group[leader].Propose({"3"}), IsOk());
  group.Deliver();
  group.Tick(2);  // a heartbeat carries the commit index to followers
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(Commands(group.committed(name)),
              (std::vector<std::string>{"1", "2", "3"}))
        << name;
  }
}

TEST(RaftCoreTest, FollowersRefuseProposalsAndNameTheLeader) {
  Group group({"a", "b", "c"});
  const std::string leader = group.ElectLeader();
  const std::string follower = leader == "a" ? "b" : "a";
  absl::StatusOr<uint64_t> refused = group[follower].Propose({"x"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("the leader is " + leader));
}

TEST(RaftCoreTest, AnIsolatedLeaderStepsDownAndItsUncommittedEntriesGo) {
  Group group({"a", "b", "c"});
  const std::string old_leader = group.ElectLeader();
  ASSERT_THAT(group[old_leader].Propose({"kept"}), IsOk());
  group.Deliver();
  group.Isolate(old_leader);
  // Cannot commit: no majority.
  ASSERT_THAT(group[old_leader].Propose({"lost"}), IsOk());
  const std::string new_leader = group.ElectLeader();
  ASSERT_NE(new_leader, old_leader);
  ASSERT_THAT(group[new_leader].Propose({"new"}), IsOk());
  group.Tick(30);  // check-quorum: the old leader hears nobody
  EXPECT_NE(group[old_leader].role(), Role::kLeader);

  group.Heal();
  group.Tick(10);
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(Commands(group.committed(name)),
              (std::vector<std::string>{"kept", "new"}))
        << name;
  }
  // The old leader's log was truncated to the new leader's.
  EXPECT_EQ(group[old_leader].last_index(), group[new_leader].last_index());
}

TEST(RaftCoreTest, ACutOffNodeNeitherRaisesItsTermNorDeposesTheLeader) {
  Group group({"a", "b", "c"});
  const std::string leader = group.ElectLeader();
  const uint64_t term = group[leader].term();
  const std::string loner = leader == "a" ? "b" : "a";
  group.Isolate(loner);
  group.Tick(200);  // many election timeouts: it asks for pre-votes only
  EXPECT_EQ(group[loner].term(), term);
  EXPECT_EQ(group[loner].role(), Role::kPreCandidate);
  group.Heal();
  group.Tick(10);
  EXPECT_EQ(group[leader].role(), Role::kLeader);
  EXPECT_EQ(group[leader].term(), term);
  EXPECT_EQ(group[loner].leader(), leader);
}

TEST(RaftCoreTest, PreVotesAreRefusedWhileALeaderIsHeardAndChangeNothing) {
  RaftCore voter("v", {"v", "x", "y"}, RaftCore::Options{}, 1);
  AppendRequest heartbeat;
  heartbeat.set_term(3);
  heartbeat.set_leader("y");
  ASSERT_TRUE(voter.HandleAppend(heartbeat).success());
  (void)voter.TakeReady();  // term 3, persisted
  VoteRequest pre;
  pre.set_term(4);
  pre.set_candidate("x");
  pre.set_pre_vote(true);
  VoteReply refused = voter.HandleVote(pre);
  EXPECT_TRUE(refused.pre_vote());
  EXPECT_FALSE(refused.granted());            // y was heard from just now
  for (int i = 0; i < 10; ++i) voter.Tick();  // an election timeout of silence
  VoteReply granted = voter.HandleVote(pre);
  EXPECT_TRUE(granted.granted());
  EXPECT_EQ(voter.term(), 3u);  // a pre-vote changes no term...
  RaftCore::Ready ready = voter.TakeReady();
  EXPECT_FALSE(ready.hard_state.has_value());  // ...and records no vote
}

TEST(RaftCoreTest, VotesGoOnlyToCandidatesWithUpToDateLogs) {
  RaftCore voter("v", {"v", "x", "y"}, RaftCore::Options{}, 1);
  voter.Restore({.term = 3}, {{.term = 1}, {.term = 3, .command = "c"}});
  VoteRequest stale;
  stale.set_term(4);
  stale.set_candidate("x");
  stale.set_last_log_index(5);
  stale.set_last_log_term(2);  // longer, but an older last term
  EXPECT_FALSE(voter.HandleVote(stale).granted());
  EXPECT_EQ(voter.term(), 4u);  // the higher term is adopted anyway

  VoteRequest current = stale;
  current.set_candidate("y");
  current.set_last_log_index(2);
  current.set_last_log_term(3);
  EXPECT_TRUE(voter.HandleVote(current).granted());
  // One vote per term.
  current.set_candidate("x");
  EXPECT_FALSE(voter.HandleVote(current).granted());
  RaftCore::Ready ready = voter.TakeReady();
  ASSERT_TRUE(ready.hard_state.has_value());
  EXPECT_EQ(ready.hard_state->vote, "y");
  EXPECT_EQ(ready.hard_state->term, 4u);
}

TEST(RaftCoreTest, AppendRejectsAGapAndPointsBackToTheConflict) {
  RaftCore follower("f", {"f", "l"}, RaftCore::Options{}, 1);
  follower.Restore({.term = 2}, {{.term = 1}, {.term = 2}, {.term = 2}});
  AppendRequest request;
  request.set_term(3);
  request.set_leader("l");
  request.set_prev_index(7);
  request.set_prev_term(3);
  AppendReply gap = follower.HandleAppend(request);
  EXPECT_FALSE(gap.success());
  EXPECT_EQ(gap.match_index(), 3u);  // "I have 3 entries"

  request.set_prev_index(3);
  AppendReply conflict = follower.HandleAppend(request);
  EXPECT_FALSE(conflict.success());
  EXPECT_EQ(conflict.match_index(), 1u);  // skips all of term 2

  request.set_prev_index(1);
  request.set_prev_term(1);
  request.add_entries()->set_term(3);
  request.set_leader_commit(5);
  AppendReply ok = follower.HandleAppend(request);
  EXPECT_TRUE(ok.success());
  EXPECT_EQ(ok.match_index(), 2u);
  EXPECT_EQ(follower.last_index(), 2u);    // the term-2 suffix is gone
  EXPECT_EQ(follower.commit_index(), 2u);  // no further than it holds
  RaftCore::Ready ready = follower.TakeReady();
  EXPECT_EQ(ready.append_from, 2u);
  EXPECT_EQ(ready.append, (std::vector<LogEntry>{{.term = 3}}));
}

TEST(RaftCoreTest, AFollowerThatLostAcknowledgedEntriesCatchesUp) {
  Group group({"n1", "n2", "n3"});
  const std::string leader = group.ElectLeader();
  ASSERT_THAT(group[leader].Propose({"a", "b", "c", "d"}), IsOk());
  group.Deliver();
  const uint64_t acknowledged = group[leader].last_index();
  std::vector<std::string> followers;
  for (const char* name : {"n1", "n2", "n3"}) {
    if (name != leader) followers.push_back(name);
  }
  // One follower comes back with an empty log; the other goes away. The
  // leader's writes now need the first to catch up from nothing.
  group.RestartWithLogCut(followers[0], 0);
  group.Isolate(followers[1]);
  ASSERT_THAT(group[leader].Propose({"e"}), IsOk());
  group.Tick(10);
  EXPECT_EQ(group[leader].role(), Role::kLeader);
  EXPECT_EQ(group[followers[0]].last_index(), acknowledged + 1);
  EXPECT_EQ(group[leader].commit_index(), acknowledged + 1)
      << "the write never committed: the follower never caught up";
  EXPECT_GE(group[leader].followers_behind_acknowledged(), 1u);
  EXPECT_THAT(Commands(group.committed(followers[0])),
              ::testing::ElementsAre("a", "b", "c", "d", "e"));
}

TEST(RaftCoreTest, AppendEntriesStayBelowTheByteBound) {
  RaftCore::Options options;
  options.max_append_bytes = 1 << 20;
  RaftCore leader("l", {"l", "f"}, options, 1);
  ElectWithVoteOf(leader, "f");
  ASSERT_EQ(leader.role(), Role::kLeader);
  (void)leader.TakeReady();
  // Five 600 KB values, one 3 MB one: at most one of the first per
  // message, the big one alone.
  std::vector<std::string> values(5, std::string(600'000, 'v'));
  values.push_back(std::string(3'000'000, 'B'));
  ASSERT_THAT(leader.Propose(values), IsOk());
  uint64_t delivered = 0;
  for (int round = 0; round < 20 && delivered < leader.last_index(); ++round) {
    RaftCore::Ready ready = leader.TakeReady();
    for (RaftCore::Message& message : ready.messages) {
      auto& append = std::get<AppendRequest>(message.request);
      size_t bytes = 0;
      for (const RaftEntry& entry : append.entries()) {
        bytes += entry.command().size();
      }
      EXPECT_TRUE(bytes <= options.max_append_bytes ||
                  append.entries_size() == 1)
          << append.entries_size() << " entries, " << bytes << " bytes";
      AppendReply reply;
      reply.set_term(leader.term());
      reply.set_success(true);
      reply.set_match_index(append.prev_index() + append.entries_size());
      delivered = std::max<uint64_t>(delivered, reply.match_index());
      leader.HandleAppendReply("f", reply);
    }
  }
  EXPECT_EQ(delivered, leader.last_index());
}

TEST(RaftCoreTest, ReadsWaitForTheLeadersFirstCommitAndAMajority) {
  Group group({"a", "b", "c"});
  const std::string leader = group.ElectLeader();
  ASSERT_THAT(group[leader].Propose({"w"}), IsOk());
  group.Deliver();

  absl::StatusOr<RaftCore::ReadTicket> ticket = group[leader].BeginRead();
  ASSERT_THAT(ticket, IsOk());
  EXPECT_EQ(ticket->index, group[leader].commit_index());
  EXPECT_FALSE(group[leader].ReadConfirmed(*ticket));  // nobody asked yet
  group[leader].Broadcast();
  group.Deliver();
  EXPECT_TRUE(group[leader].ReadConfirmed(*ticket));

  // Cut off, the leader cannot confirm a new read.
  group.Isolate(leader);
  absl::StatusOr<RaftCore::ReadTicket> cut = group[leader].BeginRead();
  ASSERT_THAT(cut, IsOk());
  group[leader].Broadcast();
  group.Deliver();
  EXPECT_FALSE(group[leader].ReadConfirmed(*cut));

  const std::string follower = leader == "a" ? "b" : "a";
  EXPECT_EQ(group[follower].BeginRead().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RaftCoreTest, ANewLeaderServesNoReadBeforeCommittingInItsTerm) {
  RaftCore core("a", {"a", "b", "c"}, RaftCore::Options{}, 1);
  core.Restore({.term = 1}, {{.term = 1, .command = "old"}});
  ElectWithVoteOf(core, "b");
  ASSERT_EQ(core.role(), Role::kLeader);
  EXPECT_EQ(core.BeginRead().status().code(), absl::StatusCode::kUnavailable);
  // The no-op of its term commits once b acknowledges it.
  AppendReply ack;
  ack.set_term(core.term());
  ack.set_success(true);
  ack.set_match_index(2);
  core.HandleAppendReply("b", ack);
  EXPECT_EQ(core.commit_index(), 2u);
  EXPECT_THAT(core.BeginRead(), IsOk());
}

TEST(RaftCoreTest, EntriesOfEarlierTermsDoNotCommitByCounting) {
  // Raft's figure 8: a leader must not count replicas of an old-term entry.
  RaftCore core("a", {"a", "b", "c"}, RaftCore::Options{}, 1);
  core.Restore({.term = 2}, {{.term = 2, .command = "old"}});
  ElectWithVoteOf(core, "b");
  ASSERT_EQ(core.role(), Role::kLeader);
  AppendReply old_only;
  old_only.set_term(core.term());
  old_only.set_success(true);
  old_only.set_match_index(1);  // b holds the old entry, not the no-op
  core.HandleAppendReply("b", old_only);
  EXPECT_EQ(core.commit_index(), 0u);
}

}  // namespace
}  // namespace anvil::kv
