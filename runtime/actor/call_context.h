// CallContext: what the code serving a call knows about it: the caller's
// deadline. Generated services pass one to every method, and generated
// clients take one, so that a call made while serving another inherits its
// deadline (the earlier of the two wins).
//
//   Task<absl::StatusOr<GetReply>> Get(anvil::CallContext& call,
//                                      const GetRequest& request) override {
//     if (call.expired()) co_return absl::DeadlineExceededError("late");
//     ANVIL_CO_ASSIGN_OR_RETURN(ReadReply r,
//                               co_await storage_.Read(read, call));
//     ...
//   }
//
// Deadlines are monotonic-clock nanoseconds (anvil::Clock). Cheap to copy;
// not thread-safe (it belongs to the call).
#ifndef ANVIL_RUNTIME_ACTOR_CALL_CONTEXT_H_
#define ANVIL_RUNTIME_ACTOR_CALL_CONTEXT_H_

#include <algorithm>
#include <cstdint>

#include "absl/time/time.h"
#include "runtime/core/clock.h"

namespace anvil {

class CallContext {
 public:
  // A call without a deadline.
  CallContext() = default;
  // A call that the caller gives up on at `deadline` (Clock::MonotonicNanos
  // time; INT64_MAX for none).
  explicit CallContext(int64_t deadline) : deadline_(deadline) {}

  int64_t deadline() const { return deadline_; }
  bool has_deadline() const { return deadline_ != INT64_MAX; }

  // Time left before the deadline (negative once passed; infinite if none).
  absl::Duration remaining() const {
    if (!has_deadline()) return absl::InfiniteDuration();
    return absl::Nanoseconds(deadline_ - Clock::MonotonicNanos());
  }
  // True once the deadline passed: the caller has its DEADLINE_EXCEEDED
  // and will not see a reply.
  bool expired() const {
    return has_deadline() && Clock::MonotonicNanos() >= deadline_;
  }

  // The deadline of a call made within this one with its own `timeout`:
  // whichever comes first.
  int64_t DeadlineWithin(absl::Duration timeout) const {
    return std::min(deadline_, Clock::DeadlineAfter(timeout));
  }

 private:
  int64_t deadline_ = INT64_MAX;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_CALL_CONTEXT_H_
