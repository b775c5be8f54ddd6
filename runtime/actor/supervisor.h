// Supervisor: decides what happens to an actor whose body returned an error
// or threw: restart it, or stop it for good.
//
//   runtime.Spawn(Worker, ActorOptions{
//       .name = "worker",
//       .supervisor = anvil::RestartSupervisor(/*max_restarts=*/5,
//                                              /*within=*/absl::Seconds(5)),
//   });
//
//   // Or any policy:
//   anvil::Supervisor custom([](const absl::Status& error) {
//     return absl::IsUnavailable(error) ? SupervisorDecision::kRestart
//                                       : SupervisorDecision::kStop;
//   });
//
// What a failure costs: the message being handled when the body failed is
// lost (if it was a request, its caller gets CANCELLED); messages still in
// the mailbox stay there for the restarted body, which is called again with
// the same arguments (copies of those given to Spawn). When the actor stops,
// the messages left in its mailbox are dropped, their callers get CANCELLED,
// later sends get UNAVAILABLE, and the count is logged.
//
// Each actor gets its own copy of the Supervisor given in its options, so a
// policy that counts restarts counts them per actor. Failures and restarts
// are logged with the actor's name. Called on the actor's worker.
//
// Example: examples/actors/word_count_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_SUPERVISOR_H_
#define ANVIL_RUNTIME_ACTOR_SUPERVISOR_H_

#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace anvil {

enum class SupervisorDecision {
  // Call the actor's function again, with the same mailbox and arguments.
  kRestart,
  // Finish the actor with the error; Join() returns it.
  kStop,
};

class Supervisor {
 public:
  using Policy = std::function<SupervisorDecision(const absl::Status& error)>;

  // Stops the actor on its first error (the default).
  Supervisor() = default;
  explicit Supervisor(Policy policy) : policy_(std::move(policy)) {}

  // What to do after `error` (never OK). Not thread-safe: one actor's copy
  // is called from that actor only.
  SupervisorDecision Decide(const absl::Status& error) {
    return policy_ ? policy_(error) : SupervisorDecision::kStop;
  }

  // True for the default policy: stop on the first error.
  bool is_default() const { return !policy_; }

 private:
  Policy policy_;
};

// Restarts an actor after an error unless it has already been restarted
// `max_restarts` times within the last `within`; then stops it. heph's
// default is 5 restarts within 5 seconds.
Supervisor RestartSupervisor(int max_restarts = 5,
                             absl::Duration within = absl::Seconds(5));

// Stops an actor on its first error.
inline Supervisor StopSupervisor() { return Supervisor(); }

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_SUPERVISOR_H_
