#include "services/kv/raft_replica.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/actor/internal/concurrent_calls.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/async_event.h"
#include "runtime/core/buggify.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/core/with_deadline.h"
#include "services/kv/kv_config.h"

namespace anvil::kv {

struct RaftReplica::Waiter {
  AsyncEvent done;
  absl::Status status;  // set before `done`
  // Submit: the serialized command until proposed, the term it was
  // proposed in, and the outcome.
  std::string command;
  uint64_t term = 0;
  CommandResult result;
  // Read: the key, the ReadIndex ticket once started, and the value.
  std::string key;
  bool started = false;
  RaftCore::ReadTicket ticket;
  GetReply value;

  void Complete(absl::Status why) {
    status = std::move(why);
    done.Notify();
  }
};

struct RaftReplica::Helpers {
  std::atomic<bool> stopping{false};
};

namespace {

// Sends one request to `peer` and hands the reply back to Raft; a failure
// is dropped (Raft resends).
Task<> SendOne(ActorRef<RaftMessage> raft, RaftPeerRef to, std::string peer,
               RaftCore::Message message, absl::Duration timeout,
               int* in_flight) {
  if (auto* vote = std::get_if<VoteRequest>(&message.request)) {
    absl::StatusOr<VoteReply> reply =
        co_await to.RequestVote(std::move(*vote), timeout);
    if (reply.ok()) {
      (void)raft.TrySend(VoteOutcome{.from = peer, .reply = *std::move(reply)});
    }
  } else {
    absl::StatusOr<AppendReply> reply = co_await to.AppendEntries(
        std::get<AppendRequest>(std::move(message.request)), timeout);
    if (reply.ok()) {
      (void)raft.TrySend(
          AppendOutcome{.from = peer, .reply = *std::move(reply)});
    }
  }
  --*in_flight;
}

// Requests to one peer in flight at once; more are dropped, as on a
// congested link (a slow or dead peer must not hold up the others).
constexpr int kMaxInFlight = 16;

// Sends `peer` the requests Raft queues, without waiting for one reply
// before sending the next (a lost message costs a timeout, which must not
// delay the requests behind it).
Task<> Sender(ActorContext<RaftCore::Message>& self, ActorRef<RaftMessage> raft,
              Cluster* cluster, std::string peer, absl::Duration timeout,
              std::shared_ptr<RaftReplica::Helpers> helpers) {
  internal::ConcurrentCalls calls;
  int in_flight = 0;
  while (std::optional<RaftCore::Message> message = co_await self.Receive()) {
    if (helpers->stopping.load(std::memory_order_acquire)) continue;
    if (in_flight >= kMaxInFlight) continue;
    absl::StatusOr<RaftPeerRef> to = cluster->peers().RefTo<RaftPeerRef>(peer);
    if (!to.ok()) continue;  // not up yet, or down
    ++in_flight;
    calls.Start(SendOne(raft, *std::move(to), peer, *std::move(message),
                        timeout, &in_flight));
  }
  co_await calls.Drain();
}

// Sender queue depth per peer: beyond it requests are dropped, as on a
// congested link.
constexpr uint32_t kSenderCapacity = 64;

}  // namespace

RaftReplica::RaftReplica(const RaftDeps& deps)
    : RaftDaemon(deps),
      id_(deps.context.factory().name()),
      log_(deps.context.log()),
      options_(deps.cluster_config.options()),
      cluster_(Cluster::Find(deps.context.factory())),
      helpers_(std::make_shared<Helpers>()) {
  // Bad options (a tick out of bounds: zero divided by it) fail Prepare
  // before any timer starts.
  failed_ = ValidateKvOptions(options_);
  if (failed_.ok()) failed_ = Every(options_.tick, RaftTick{});
  if (cluster_ == nullptr) return;
  const std::string name =
      absl::StrCat(deps.context.factory().path(), "/anvil.kv.Raft");
  for (const std::string& peer : options_.members) {
    if (peer == id_) continue;
    senders_[peer] = deps.context.runtime().Spawn(
        Sender, actor(), cluster_, peer, options_.peer_timeout, helpers_,
        ActorOptions{.name = absl::StrCat(name, "/to-", peer),
                     .mailbox_capacity = kSenderCapacity});
  }
}

RaftReplica::~RaftReplica() {
  helpers_->stopping.store(true, std::memory_order_release);
  for (auto& [peer, sender] : senders_) sender.RequestStop();
}

Task<absl::Status> RaftReplica::Prepare() {
  if (!failed_.ok()) co_return failed_;
  const std::vector<std::string>& members = options_.members;
  if (std::find(members.begin(), members.end(), id_) == members.end()) {
    co_return absl::InvalidArgumentError(
        absl::StrCat("node '", id_, "' is not a member of the group (",
                     absl::StrJoin(members, ", "), ")"));
  }
  if (members.size() > 1 && cluster_ == nullptr) {
    co_return absl::InvalidArgumentError(absl::StrCat(
        "the group has ", members.size(),
        " members but this process has no anvil::Cluster daemon to reach "
        "them; bind one in the root factory"));
  }
  if (cluster_ != nullptr) {
    max_message_bytes_ = cluster_->peers().network().max_message_bytes();
  }
  constexpr size_t kSmallestMessageLimit = 2 * kAppendOverheadBytes;
  if (max_message_bytes_ < kSmallestMessageLimit) {
    co_return absl::InvalidArgumentError(absl::StrCat(
        "the network's message limit of ", max_message_bytes_,
        " bytes leaves no room for Raft's AppendEntries; it must be at least ",
        kSmallestMessageLimit));
  }
  core_ = std::make_unique<RaftCore>(
      id_, members,
      RaftCore::Options{.election_ticks = options_.election_ticks,
                        .heartbeat_ticks = options_.heartbeat_ticks,
                        .max_append_bytes = std::min<size_t>(
                            1 << 20, MaxCommandBytes(max_message_bytes_))},
      cluster_config().NextSeed(id_));
  LogStore& store = storage().store();
  absl::StatusOr<std::vector<LogEntry>> log =
      store.Read(1, static_cast<size_t>(store.last_index()));
  if (!log.ok()) co_return log.status();
  core_->Restore(store.hard_state(), *std::move(log));
  co_return absl::OkStatus();
}

Task<absl::Status> RaftReplica::Run() {
  absl::Status served = co_await RaftDaemon::Run();
  helpers_->stopping.store(true, std::memory_order_release);
  for (auto& [peer, sender] : senders_) {
    sender.RequestStop();
    (void)co_await sender.Join();
  }
  co_return failed_.ok() ? served : failed_;
}

Task<> RaftReplica::Stop() {
  helpers_->stopping.store(true, std::memory_order_release);
  // Queued before the mailbox closes, so that the actor itself fails the
  // waiting calls (the mailbox drains only once they end).
  (void)actor().TrySend(RaftTick{});
  co_await RaftDaemon::Stop();
}

absl::Status RaftReplica::Admit() const {
  if (!failed_.ok()) return failed_;
  if (helpers_->stopping.load(std::memory_order_acquire)) {
    return absl::UnavailableError(absl::StrCat(id_, " is stopping"));
  }
  return core_->role() == RaftCore::Role::kLeader ? absl::OkStatus()
                                                  : core_->NotLeader();
}

Task<absl::Status> RaftReplica::Await(std::shared_ptr<Waiter> waiter,
                                      CallContext& call) {
  auto wait = [](std::shared_ptr<Waiter> w) -> Task<> {
    co_await w->done.Wait();
  };
  if (call.has_deadline()) {
    absl::Status waited = co_await WithDeadline(call.remaining(), wait(waiter));
    if (!waited.ok()) co_return waited;
  } else {
    co_await wait(waiter);
  }
  co_return waiter->status;
}

Task<absl::StatusOr<VoteReply>> RaftReplica::RequestVote(
    CallContext&, const VoteRequest& request) {
  if (!failed_.ok()) co_return failed_;
  VoteReply reply = core_->HandleVote(request);
  // The vote is persisted before it is granted.
  if (absl::Status processed = co_await Process(); !processed.ok()) {
    co_return processed;
  }
  co_return reply;
}

Task<absl::StatusOr<AppendReply>> RaftReplica::AppendEntries(
    CallContext&, const AppendRequest& request) {
  if (!failed_.ok()) co_return failed_;
  AppendReply reply = core_->HandleAppend(request);
  if (!reply.success() && !refusing_appends_) {
    log_.info(
        "refused AppendEntries from {} (term {}, after entry {} of term {}): "
        "{}",
        request.leader(), request.term(), request.prev_index(),
        request.prev_term(),
        request.term() < reply.term()
            ? absl::StrCat("its term is behind this node's ", reply.term())
            : absl::StrCat("the logs differ; retry after entry ",
                           reply.match_index()));
  }
  refusing_appends_ = !reply.success();
  if (absl::Status processed = co_await Process(); !processed.ok()) {
    co_return processed;
  }
  co_return reply;
}

Task<absl::StatusOr<SubmitReply>> RaftReplica::Submit(CallContext& call,
                                                      const Command& request) {
  if (absl::Status admitted = Admit(); !admitted.ok()) co_return admitted;
  auto waiter = std::make_shared<Waiter>();
  request.SerializeToString(&waiter->command);
  if (const size_t limit = MaxCommandBytes(max_message_bytes_);
      waiter->command.size() > limit) {
    // It could never reach a follower: one entry alone would be an
    // AppendEntries over the network's message limit.
    co_return absl::InvalidArgumentError(absl::StrCat(
        "a command of ", waiter->command.size(),
        " bytes is larger than the limit of ", limit, " (the network's ",
        max_message_bytes_,
        "-byte message limit, less room for the rest of an AppendEntries)"));
  }
  unproposed_.push_back(waiter);
  ScheduleFlush();
  if (absl::Status done = co_await Await(waiter, call); !done.ok()) {
    co_return done;
  }
  SubmitReply reply;
  *reply.mutable_result() = std::move(waiter->result);
  co_return reply;
}

Task<absl::StatusOr<GetReply>> RaftReplica::Read(CallContext& call,
                                                 const GetRequest& request) {
  if (absl::Status admitted = Admit(); !admitted.ok()) co_return admitted;
  auto waiter = std::make_shared<Waiter>();
  waiter->key = request.key();
  reads_.push_back(waiter);
  ScheduleFlush();
  if (absl::Status done = co_await Await(waiter, call); !done.ok()) {
    co_return done;
  }
  co_return std::move(waiter->value);
}

Task<absl::StatusOr<RaftStatus>> RaftReplica::Status(CallContext&,
                                                     const RaftStatusRequest&) {
  RaftStatus status;
  status.set_node(id_);
  if (core_ != nullptr) {
    status.set_role(RaftCore::RoleName(core_->role()));
    status.set_term(core_->term());
    status.set_leader(core_->leader());
    status.set_last_index(core_->last_index());
    status.set_commit_index(core_->commit_index());
  }
  status.set_applied_index(applied_);
  status.set_keys(state_machine_.size());
  for (const std::string& member : options_.members) {
    status.add_members(member);
  }
  co_return status;
}

Task<> RaftReplica::Receive(RaftTick&) {
  if (!failed_.ok()) co_return;
  if (helpers_->stopping.load(std::memory_order_acquire)) {
    FailAll(absl::UnknownError(absl::StrCat(
        id_, " stopped; a write in flight may or may not take effect")));
    co_return;
  }
  core_->Tick();
  FlushPending();
  (void)co_await Process();
}

Task<> RaftReplica::Receive(RaftFlush&) {
  flush_scheduled_ = false;
  if (!failed_.ok()) co_return;
  FlushPending();
  (void)co_await Process();
}

Task<> RaftReplica::Receive(VoteOutcome& outcome) {
  if (!failed_.ok()) co_return;
  core_->HandleVoteReply(outcome.from, outcome.reply);
  (void)co_await Process();
}

Task<> RaftReplica::Receive(AppendOutcome& outcome) {
  if (!failed_.ok()) co_return;
  core_->HandleAppendReply(outcome.from, outcome.reply);
  (void)co_await Process();
}

void RaftReplica::ScheduleFlush() {
  if (flush_scheduled_) return;
  // Proposals wait for the next Tick (up to one tick longer).
  if (ANVIL_BUGGIFY("kv.delayed_flush")) return;
  // If the mailbox is full the next Tick flushes instead.
  flush_scheduled_ = actor().TrySend(RaftFlush{}).ok();
}

void RaftReplica::FlushPending() {
  if (unproposed_.empty()) return;
  std::vector<std::string> commands;
  commands.reserve(unproposed_.size());
  for (const auto& waiter : unproposed_) commands.push_back(waiter->command);
  absl::StatusOr<uint64_t> first = core_->Propose(commands);
  if (!first.ok()) {
    // Never appended: safe to retry on the leader.
    for (const auto& waiter : unproposed_) waiter->Complete(first.status());
  } else {
    uint64_t index = *first;
    for (auto& waiter : unproposed_) {
      waiter->term = core_->term();
      waiter->command.clear();
      proposed_[index++] = std::move(waiter);
    }
  }
  unproposed_.clear();
}

void RaftReplica::StartReads() {
  const bool unstarted = std::any_of(reads_.begin(), reads_.end(),
                                     [](const auto& w) { return !w->started; });
  if (!unstarted) return;
  absl::StatusOr<RaftCore::ReadTicket> ticket = core_->BeginRead();
  if (absl::IsUnavailable(ticket.status())) {
    return;  // elected, but nothing committed in its term yet: wait
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if ((*it)->started) {
      ++it;
    } else if (!ticket.ok()) {
      (*it)->Complete(ticket.status());
      it = reads_.erase(it);
    } else {
      (*it)->started = true;
      (*it)->ticket = *ticket;
      ++it;
    }
  }
  // One round confirms every read started here.
  if (ticket.ok()) core_->Broadcast();
}

void RaftReplica::ServeReads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    Waiter& read = **it;
    if (read.started && applied_ >= read.ticket.index &&
        core_->ReadConfirmed(read.ticket)) {
      read.value = state_machine_.Get(read.key);
      read.Complete(absl::OkStatus());
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
}

Task<absl::Status> RaftReplica::Process() {
  while (true) {
    StartReads();
    RaftCore::Ready ready = core_->TakeReady();
    if (ready.empty()) break;
    if (ready.hard_state || !ready.append.empty()) {
      if (absl::Status persisted = co_await Persist(ready); !persisted.ok()) {
        failed_ = persisted;
        log_.error("storage failed, stopping: {}", persisted.ToString());
        FailAll(absl::UnknownError(absl::StrCat(
            id_, " failed (a write in flight may or may not take effect): ",
            persisted.ToString())));
        actor().RequestStop();
        co_return persisted;
      }
    }
    for (RaftCore::Message& message : ready.messages) {
      auto sender = senders_.find(message.to);
      if (sender != senders_.end()) {
        // A full queue drops it, as a congested link would.
        (void)sender->second.TrySend(std::move(message));
      }
    }
    for (const auto& [index, entry] : ready.committed) Apply(index, entry);
    SettleLeadership();
    LogTransitions();
  }
  ServeReads();
  co_return absl::OkStatus();
}

Task<absl::Status> RaftReplica::Persist(RaftCore::Ready& ready) {
  LogStore& store = storage().store();
  if (!ready.append.empty()) {
    ANVIL_CO_RETURN_IF_ERROR(
        co_await store.Append(ready.append_from, ready.append));
  }
  if (ready.hard_state) {
    ANVIL_CO_RETURN_IF_ERROR(co_await store.SetHardState(*ready.hard_state));
  }
  co_return absl::OkStatus();
}

void RaftReplica::Apply(uint64_t index, const LogEntry& entry) {
  applied_ = index;
  for (const std::shared_ptr<AsyncEvent>& watcher : watchers_) {
    watcher->Notify();  // it runs once this batch is applied
  }
  watchers_.clear();
  absl::StatusOr<CommandResult> result = CommandResult();
  if (!entry.command.empty()) {  // empty: a new leader's no-op
    Command command;
    if (!command.ParseFromString(entry.command)) {
      result = absl::DataLossError(
          absl::StrCat("log entry ", index, " does not parse as a Command"));
      log_.error("{}", result.status().ToString());
    } else {
      result = state_machine_.Apply(index, command);
    }
  }
  auto it = proposed_.find(index);
  if (it == proposed_.end()) return;
  std::shared_ptr<Waiter> waiter = std::move(it->second);
  proposed_.erase(it);
  if (waiter->term != entry.term) {
    waiter->Complete(absl::AbortedError(absl::StrCat(
        "entry ", index, " was overwritten by a new leader; not applied")));
  } else if (!result.ok()) {
    waiter->Complete(result.status());
  } else {
    waiter->result = *std::move(result);
    waiter->Complete(absl::OkStatus());
  }
}

Task<absl::Status> RaftReplica::Watch(CallContext& call,
                                      const WatchRequest& request,
                                      ServerWriter<WatchEvent>& replies) {
  constexpr size_t kBatch = 256;
  uint64_t next =
      request.from_revision() == 0 ? applied_ + 1 : request.from_revision();
  while (!call.cancelled()) {
    // Revisions through `scanned` are all in `events` (or not watched),
    // unless the batch is full.
    const uint64_t scanned = applied_;
    ANVIL_CO_ASSIGN_OR_RETURN(
        std::vector<WatchEvent> events,
        state_machine_.EventsFrom(next, request.prefix(), kBatch));
    const bool caught_up = events.size() < kBatch;
    for (WatchEvent& event : events) {
      next = event.revision() + 1;
      ANVIL_CO_RETURN_IF_ERROR(co_await replies.Write(std::move(event)));
    }
    if (!caught_up) continue;
    next = std::max(next, scanned + 1);
    if (applied_ > scanned) continue;  // applied while it wrote
    auto applied = std::make_shared<AsyncEvent>();
    watchers_.push_back(applied);
    call.cancellation()->OnCancel(
        [applied](const absl::Status&) { applied->Notify(); });
    co_await applied->Wait();
    call.cancellation()->OnCancel(nullptr);
  }
  co_return absl::CancelledError("the watch was cancelled");
}

void RaftReplica::SettleLeadership() {
  const uint64_t leading =
      core_->role() == RaftCore::Role::kLeader ? core_->term() : 0;
  if (leading == leader_term_) return;
  if (leader_term_ != 0) {
    FailAll(absl::UnknownError(
        absl::StrCat(id_, " lost its leadership of term ", leader_term_,
                     "; a write in flight may or may not take effect")));
  }
  leader_term_ = leading;
}

void RaftReplica::LogTransitions() {
  const RaftCore::Role role = core_->role();
  const uint64_t term = core_->term();
  const std::string& leader = core_->leader();
  if (role == logged_role_ && term == logged_term_ &&
      leader == logged_leader_) {
    return;
  }
  switch (role) {
    case RaftCore::Role::kLeader:
      log_.info("term {}: elected leader", term);
      break;
    case RaftCore::Role::kCandidate:
      log_.info("term {}: no leader heard from; standing for election", term);
      break;
    case RaftCore::Role::kPreCandidate:
      if (logged_role_ != RaftCore::Role::kPreCandidate) {
        log_.info("term {}: no leader heard from; polling for a pre-vote",
                  term);
      }
      break;
    case RaftCore::Role::kFollower:
      if (leader.empty()) {
        log_.info("term {}: follower, no leader known", term);
      } else {
        log_.info("term {}: following leader {}", term, leader);
      }
      break;
  }
  logged_role_ = role;
  logged_term_ = term;
  logged_leader_ = leader;
}

void RaftReplica::FailAll(const absl::Status& why) {
  for (auto& waiter : unproposed_) waiter->Complete(why);
  unproposed_.clear();
  for (auto& [index, waiter] : proposed_) waiter->Complete(why);
  proposed_.clear();
  for (auto& waiter : reads_) waiter->Complete(why);
  reads_.clear();
}

}  // namespace anvil::kv
