#include "runtime/core/internal/timer_heap.h"

#include <cassert>

namespace anvil::internal {

void TimerHeap::Add(TimerNode* node) {
  assert(!node->queued());
  node->sequence = next_sequence_++;
  heap_.push_back(node);
  node->index = heap_.size() - 1;
  SiftUp(node->index);
}

void TimerHeap::Cancel(TimerNode* node) {
  if (!node->queued()) return;
  assert(node->index < heap_.size() && heap_[node->index] == node);
  RemoveAt(node->index);
}

size_t TimerHeap::FireExpired(int64_t now) {
  size_t fired = 0;
  while (!heap_.empty() && heap_.front()->deadline <= now) {
    TimerNode* node = heap_.front();
    RemoveAt(0);
    ++fired;
    node->fire(node);
  }
  return fired;
}

void TimerHeap::RemoveAt(size_t index) {
  TimerNode* removed = heap_[index];
  TimerNode* last = heap_.back();
  heap_.pop_back();
  removed->index = TimerNode::kNotQueued;
  if (last == removed) return;
  Place(last, index);
  SiftUp(index);
  SiftDown(last->index);
}

void TimerHeap::SiftUp(size_t index) {
  TimerNode* node = heap_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Earlier(node, heap_[parent])) break;
    Place(heap_[parent], index);
    index = parent;
  }
  Place(node, index);
}

void TimerHeap::SiftDown(size_t index) {
  TimerNode* node = heap_[index];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= n) break;
    if (child + 1 < n && Earlier(heap_[child + 1], heap_[child])) ++child;
    if (!Earlier(heap_[child], node)) break;
    Place(heap_[child], index);
    index = child;
  }
  Place(node, index);
}

}  // namespace anvil::internal
