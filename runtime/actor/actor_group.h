// ActorGroup<M>: several actors of one message type addressed together:
// send to one of them (round robin) or to all, and join them all.
//
//   anvil::ActorGroup<Job> workers;
//   for (int i = 0; i < 4; ++i) workers.Add(runtime.Spawn(JobWorker));
//   absl::Status s = workers.TrySendToOne(Job{...});   // next in turn
//   absl::Status all = workers.TrySendToAll(Job{...}); // needs copyable M
//   co_await workers.JoinAll();
//
// TrySendToOne tries each member once, starting at the next in turn, and
// returns OK at the first that accepts; if none does, the last error
// (RESOURCE_EXHAUSTED if any mailbox was merely full). TrySendToAll sends a
// copy to every member and returns OK only if all accepted.
//
// Thread-compatible for Add; the send methods are thread-safe once the group
// is built.
#ifndef ANVIL_RUNTIME_ACTOR_ACTOR_GROUP_H_
#define ANVIL_RUNTIME_ACTOR_ACTOR_GROUP_H_

#include <atomic>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/core/task.h"

namespace anvil {

template <typename M>
class ActorGroup {
 public:
  ActorGroup() = default;
  explicit ActorGroup(std::vector<ActorRef<M>> members)
      : members_(std::move(members)) {}
  ActorGroup(const ActorGroup& other)
      : members_(other.members_), next_(other.next_.load()) {}
  ActorGroup& operator=(const ActorGroup& other) {
    members_ = other.members_;
    next_.store(other.next_.load());
    return *this;
  }

  void Add(ActorRef<M> member) { members_.push_back(std::move(member)); }
  size_t size() const { return members_.size(); }
  const std::vector<ActorRef<M>>& members() const { return members_; }

  // Sends to one member, round robin; see the file comment. On error
  // `message` is left untouched. FAILED_PRECONDITION for an empty group.
  absl::Status TrySendToOne(M&& message) {
    if (members_.empty()) {
      return absl::FailedPreconditionError("ActorGroup is empty");
    }
    const size_t start = next_.fetch_add(1, std::memory_order_relaxed);
    absl::Status last;
    bool any_full = false;
    for (size_t i = 0; i < members_.size(); ++i) {
      const ActorRef<M>& member = members_[(start + i) % members_.size()];
      absl::Status status = member.TrySend(std::move(message));
      if (status.ok()) return status;
      any_full |= absl::IsResourceExhausted(status);
      last = std::move(status);
    }
    if (any_full && !absl::IsResourceExhausted(last)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("every mailbox of the group of ", members_.size(),
                       " is full or closed; last error: ", last.message()));
    }
    return last;
  }

  // Sends a copy of `message` to every member. Returns the first error, if
  // any, after trying them all.
  absl::Status TrySendToAll(
      const M& message) requires std::is_copy_constructible_v<M> {
    absl::Status first;
    for (const ActorRef<M>& member : members_) {
      absl::Status status = member.TrySend(M(message));
      if (!status.ok() && first.ok()) first = std::move(status);
    }
    return first;
  }

  // co_await: waits until every member has finished. Returns the first
  // non-OK final status, or OK.
  Task<absl::Status> JoinAll() const {
    absl::Status first;
    for (const ActorRef<M>& member : members_) {
      absl::Status status = co_await member.Join();
      if (!status.ok() && first.ok()) first = std::move(status);
    }
    co_return first;
  }

 private:
  std::vector<ActorRef<M>> members_;
  std::atomic<size_t> next_{0};
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_ACTOR_GROUP_H_
