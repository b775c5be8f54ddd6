// TimerHeap: the timers of one worker, as an intrusive binary min-heap
// ordered by monotonic deadline.
//
// O(log n) to add or cancel, O(1) to find the next deadline, no allocation
// per timer (nodes live in the awaiting coroutine frame). A hierarchical
// wheel would make adding O(1) but needs a fixed tick; deadlines here are
// exact to the nanosecond, which the simulator's virtual clock relies on.
//
//   TimerNode node;
//   node.deadline = Clock::DeadlineAfter(absl::Milliseconds(5));
//   node.fire = [](TimerNode* n) { ... };
//   heap.Add(&node);
//   ...
//   heap.FireExpired(Clock::MonotonicNanos());  // calls node.fire once due
//
// Thread-compatible: only the owning worker touches its heap.
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_TIMER_HEAP_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_TIMER_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace anvil::internal {

struct TimerNode {
  static constexpr size_t kNotQueued = static_cast<size_t>(-1);

  // Monotonic nanoseconds at which `fire` runs.
  int64_t deadline = 0;
  // Called once by FireExpired, after the node left the heap. May add timers
  // (this node too) to the heap.
  void (*fire)(TimerNode* node) = nullptr;
  // Position in the heap, or kNotQueued.
  size_t index = kNotQueued;
  // Ties between equal deadlines are broken by insertion order.
  uint64_t sequence = 0;

  bool queued() const { return index != kNotQueued; }
};

class TimerHeap {
 public:
  TimerHeap() = default;
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;

  // REQUIRES: !node->queued(); node outlives its time in the heap.
  void Add(TimerNode* node);

  // Removes `node` if it is queued; a no-op otherwise.
  void Cancel(TimerNode* node);

  // Runs `fire` of every node whose deadline is <= now, earliest first.
  // Returns how many fired.
  size_t FireExpired(int64_t now);

  // Deadline of the earliest timer, or INT64_MAX if there is none.
  int64_t NextDeadline() const {
    return heap_.empty() ? INT64_MAX : heap_.front()->deadline;
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }

 private:
  static bool Earlier(const TimerNode* a, const TimerNode* b) {
    return a->deadline != b->deadline ? a->deadline < b->deadline
                                      : a->sequence < b->sequence;
  }
  void Place(TimerNode* node, size_t index) {
    heap_[index] = node;
    node->index = index;
  }
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  void RemoveAt(size_t index);

  std::vector<TimerNode*> heap_;
  uint64_t next_sequence_ = 0;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_TIMER_HEAP_H_
