// SyncContext<M>: the context of a sync actor, an actor whose body is a
// plain blocking function on a thread of its own.
//
// For work that blocks (a legacy client library, a blocking file API) and
// must not stall a worker. It has the same mailbox, refs, supervision and
// shutdown as any actor; only Receive() blocks the thread instead of
// suspending a coroutine.
//
//   absl::Status Logger(anvil::SyncContext<std::string>& ctx, FILE* out) {
//     while (std::optional<std::string> line = ctx.Receive()) {
//       std::fputs(line->c_str(), out);   // may block: fine here
//     }
//     return absl::OkStatus();
//   }
//   anvil::ActorRef<std::string> log = runtime.SpawnSync(Logger, stdout);
//
// PERFORMANCE: one OS thread per sync actor; a wake-up is a futex wake.
// Thread-safety: only the actor's own thread uses its SyncContext.
#ifndef ANVIL_RUNTIME_ACTOR_SYNC_CONTEXT_H_
#define ANVIL_RUNTIME_ACTOR_SYNC_CONTEXT_H_

#include <optional>
#include <string>

#include "runtime/actor/actor_context.h"
#include "runtime/actor/actor_ref.h"

namespace anvil {

template <typename M>
class SyncContext {
 public:
  explicit SyncContext(ActorContext<M>& context) : context_(context) {}
  SyncContext(const SyncContext&) = delete;
  SyncContext& operator=(const SyncContext&) = delete;

  // Blocks for the next message; nothing at the end, as ActorContext::Receive.
  std::optional<M> Receive() {
    while (true) {
      if (std::optional<M> message = context_.ReceiveQueued()) return message;
      if (context_.EndRequested()) return context_.ReceiveQueued();
      context_.BeginPark(nullptr, context_.mailbox_.head());
      if (context_.mailbox_.NonEmpty() || context_.EndRequested()) {
        context_.CancelPark();
        continue;
      }
      if (context_.FinishPark()) context_.WaitWhileParked();
    }
  }

  std::optional<M> TryReceive() { return context_.TryReceive(); }
  ActorRef<M> Self() { return context_.Self(); }
  Runtime& runtime() const { return context_.runtime(); }
  bool stop_requested() const { return context_.stop_requested(); }
  std::string name() const { return context_.name(); }

 private:
  ActorContext<M>& context_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_SYNC_CONTEXT_H_
