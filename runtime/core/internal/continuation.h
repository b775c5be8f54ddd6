// Continuation: runtime work that is not a plain coroutine resumption.
//
// A worker's run queue holds coroutine handles and, tagged, Continuations:
// the runtime's own steps that must run on the worker before (or instead
// of) resuming a coroutine, such as an actor looking at its mailbox again
// after it yielded. A Task started at top level tells its Continuation when
// it finishes, instead of resuming an awaiter. One interface for both keeps
// an actor's control block to one vtable pointer.
//
// Internal. Implementations must be at least 2-byte aligned (the tag bit).
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_CONTINUATION_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_CONTINUATION_H_

#include <coroutine>

namespace anvil::internal {

class Continuation {
 public:
  // Called by the worker for an entry queued with Worker::ScheduleLocal.
  virtual void Run() = 0;

  // Called when a top-level Task observed by this (SetObserver) finishes,
  // on the thread that ran its last step, while the task is suspended at
  // its final point. May destroy the task's frame.
  virtual void OnTaskDone(std::coroutine_handle<> task) noexcept = 0;

 protected:
  ~Continuation() = default;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_CONTINUATION_H_
