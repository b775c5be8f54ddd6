// ActorOptions: how an actor is named, sized, supervised and placed.
//
//   runtime.Spawn(Counter, 0, anvil::ActorOptions{
//       .name = "counter",
//       .mailbox_capacity = 1024,
//       .supervisor = anvil::RestartSupervisor(),
//       .placement = anvil::Placement::kAnyWorker,
//   });
#ifndef ANVIL_RUNTIME_ACTOR_ACTOR_OPTIONS_H_
#define ANVIL_RUNTIME_ACTOR_ACTOR_OPTIONS_H_

#include <cstdint>
#include <string>

#include "runtime/actor/supervisor.h"

namespace anvil {

// Where an actor's body runs.
enum class Placement : uint8_t {
  // Thread-local (the default, as in heph): the actor runs on one worker for
  // its whole life, so it may keep thread-affine state. The worker is
  // ActorOptions::worker, or else the spawning worker, or else (spawned from
  // a thread that is not a worker) the next in round-robin order.
  kWorker,
  // Thread-safe: the actor resumes on whichever worker wakes it (the
  // sender's), so it follows its traffic. Its state must not be tied to a
  // thread; it still runs one step at a time.
  kAnyWorker,
};

struct ActorOptions {
  // Behaviour.

  // Name used in logs and errors. Default: "actor-<id>".
  std::string name;
  // Capacity of the mailbox in messages, rounded up to a power of two.
  // 0 means RuntimeOptions::default_mailbox_capacity. A full mailbox makes
  // TrySend fail with RESOURCE_EXHAUSTED and Send wait.
  uint32_t mailbox_capacity = 0;
  // What happens when the body returns an error or throws. Default: stop.
  Supervisor supervisor;

  // Placement.

  Placement placement = Placement::kWorker;
  // Worker index for the actor (modulo the worker count), or -1 to choose as
  // described for Placement::kWorker.
  int worker = -1;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_ACTOR_OPTIONS_H_
