// RunQueue: the FIFO of coroutines ready to run on one worker.
//
// A growable ring buffer of coroutine handles: push and pop are a few
// instructions and allocate only when the queue outgrows its capacity.
//
// Thread-compatible: only the owning worker touches it.
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_RUN_QUEUE_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_RUN_QUEUE_H_

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <memory>

namespace anvil::internal {

class RunQueue {
 public:
  explicit RunQueue(size_t initial_capacity = 256)
      : capacity_(RoundUp(initial_capacity)),
        slots_(new std::coroutine_handle<>[capacity_]) {}

  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }

  void Push(std::coroutine_handle<> handle) {
    if (tail_ - head_ == capacity_) Grow();
    slots_[tail_++ & (capacity_ - 1)] = handle;
  }

  // REQUIRES: !empty().
  std::coroutine_handle<> Pop() {
    assert(!empty());
    return slots_[head_++ & (capacity_ - 1)];
  }

 private:
  static size_t RoundUp(size_t n) {
    size_t capacity = 16;
    while (capacity < n) capacity *= 2;
    return capacity;
  }

  void Grow() {
    const size_t new_capacity = capacity_ * 2;
    auto slots = std::make_unique<std::coroutine_handle<>[]>(new_capacity);
    const size_t n = size();
    for (size_t i = 0; i < n; ++i) {
      slots[i] = slots_[(head_ + i) & (capacity_ - 1)];
    }
    slots_ = std::move(slots);
    capacity_ = new_capacity;
    head_ = 0;
    tail_ = n;
  }

  size_t capacity_;
  std::unique_ptr<std::coroutine_handle<>[]> slots_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_RUN_QUEUE_H_
