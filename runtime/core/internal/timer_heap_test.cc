#include "runtime/core/internal/timer_heap.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace anvil::internal {
namespace {

struct Recorder : TimerNode {
  std::vector<int>* log = nullptr;
  int id = 0;
};

void Record(TimerNode* node) {
  auto* r = static_cast<Recorder*>(node);
  r->log->push_back(r->id);
}

TEST(TimerHeap, FiresInDeadlineOrderThenInsertionOrder) {
  std::vector<int> log;
  std::vector<Recorder> nodes(5);
  const int64_t deadlines[] = {30, 10, 20, 10, 40};
  TimerHeap heap;
  for (int i = 0; i < 5; ++i) {
    nodes[i].log = &log;
    nodes[i].id = i;
    nodes[i].deadline = deadlines[i];
    nodes[i].fire = &Record;
    heap.Add(&nodes[i]);
  }
  EXPECT_EQ(heap.NextDeadline(), 10);
  EXPECT_EQ(heap.FireExpired(25), 3u);
  EXPECT_EQ(log, (std::vector<int>{1, 3, 2}));
  EXPECT_EQ(heap.NextDeadline(), 30);
  EXPECT_EQ(heap.FireExpired(100), 2u);
  EXPECT_EQ(log, (std::vector<int>{1, 3, 2, 0, 4}));
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.NextDeadline(), INT64_MAX);
}

TEST(TimerHeap, CancelRemovesOnlyThatTimer) {
  std::vector<int> log;
  std::vector<Recorder> nodes(3);
  TimerHeap heap;
  for (int i = 0; i < 3; ++i) {
    nodes[i].log = &log;
    nodes[i].id = i;
    nodes[i].deadline = i;
    nodes[i].fire = &Record;
    heap.Add(&nodes[i]);
  }
  heap.Cancel(&nodes[1]);
  EXPECT_FALSE(nodes[1].queued());
  heap.Cancel(&nodes[1]);  // a second cancel is a no-op
  heap.FireExpired(10);
  EXPECT_EQ(log, (std::vector<int>{0, 2}));
}

// Random adds and cancels keep the heap property: what fires is exactly the
// surviving deadlines, sorted.
TEST(TimerHeap, RandomAddCancelMatchesSortedModel) {
  std::mt19937_64 rng(42);
  std::vector<Recorder> nodes(2000);
  std::vector<int> log;
  TimerHeap heap;
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].log = &log;
    nodes[i].id = static_cast<int>(i);
    nodes[i].deadline = static_cast<int64_t>(rng() % 500);
    nodes[i].fire = &Record;
    heap.Add(&nodes[i]);
  }
  std::vector<std::pair<int64_t, int>> expected;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (rng() % 3 == 0) {
      heap.Cancel(&nodes[i]);
    } else {
      expected.push_back({nodes[i].deadline, nodes[i].id});
    }
  }
  std::sort(expected.begin(), expected.end());  // ids break ties: insertion
  heap.FireExpired(INT64_MAX);
  ASSERT_EQ(log.size(), expected.size());
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i], expected[i].second);
}

TEST(TimerHeap, FireMayRearmTheSameNode) {
  struct Repeating : TimerNode {
    TimerHeap* heap;
    int remaining;
  };
  Repeating node;
  TimerHeap heap;
  node.heap = &heap;
  node.remaining = 3;
  node.deadline = 1;
  node.fire = [](TimerNode* n) {
    auto* r = static_cast<Repeating*>(n);
    if (--r->remaining > 0) {
      r->deadline += 1;
      r->heap->Add(r);
    }
  };
  heap.Add(&node);
  EXPECT_EQ(heap.FireExpired(1), 1u);
  EXPECT_EQ(heap.FireExpired(10), 2u);
  EXPECT_EQ(node.remaining, 0);
}

}  // namespace
}  // namespace anvil::internal
