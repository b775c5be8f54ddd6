// Mailbox<M>: an actor's queue of messages, a bounded lock-free MPSC queue of
// its messages (runtime/core/internal/mpsc_queue.h) in the actor's own
// allocation.
//
// Capacity comes from ActorOptions::mailbox_capacity (rounded up to a power of
// two). How a consumer parks on it without losing a wake-up is described in
// actor_cell.h.
#ifndef ANVIL_RUNTIME_ACTOR_INTERNAL_MAILBOX_H_
#define ANVIL_RUNTIME_ACTOR_INTERNAL_MAILBOX_H_

#include "runtime/core/internal/mpsc_queue.h"

namespace anvil::internal {

template <typename M>
using Mailbox = MpscQueue<M>;

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_ACTOR_INTERNAL_MAILBOX_H_
