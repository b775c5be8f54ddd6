#include "runtime/actor/internal/mailbox.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace anvil::internal {
namespace {

// A mailbox with its storage right after it in one allocation, as in an
// actor's control block.
template <typename M>
class OwnedMailbox {
 public:
  explicit OwnedMailbox(uint32_t capacity)
      : memory_(new std::max_align_t[Words(capacity)]) {
    auto* base = reinterpret_cast<std::byte*>(memory_.get());
    mailbox_ = new (base) Mailbox<M>(capacity, base + kStorageOffset);
  }
  ~OwnedMailbox() { mailbox_->~Mailbox<M>(); }
  Mailbox<M>* operator->() { return mailbox_; }

 private:
  static constexpr size_t kStorageOffset =
      (sizeof(Mailbox<M>) + alignof(std::max_align_t) - 1) /
      alignof(std::max_align_t) * alignof(std::max_align_t);
  static size_t Words(uint32_t capacity) {
    return (kStorageOffset + Mailbox<M>::StorageBytes(capacity)) /
               sizeof(std::max_align_t) +
           1;
  }

  std::unique_ptr<std::max_align_t[]> memory_;
  Mailbox<M>* mailbox_;
};

TEST(Mailbox, RoundsCapacityUpToAPowerOfTwo) {
  EXPECT_EQ(Mailbox<int>::RoundCapacity(0), 1u);
  EXPECT_EQ(Mailbox<int>::RoundCapacity(1), 1u);
  EXPECT_EQ(Mailbox<int>::RoundCapacity(5), 8u);
  EXPECT_EQ(Mailbox<int>::RoundCapacity(64), 64u);
  OwnedMailbox<int> mailbox(3);
  EXPECT_EQ(mailbox->capacity(), 4u);
}

TEST(Mailbox, IsFifo) {
  OwnedMailbox<int> mailbox(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(mailbox->TryPush(i));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(mailbox->TryPop(), i);
  EXPECT_EQ(mailbox->TryPop(), std::nullopt);
}

TEST(Mailbox, FullMailboxLeavesTheMessageUntouched) {
  OwnedMailbox<std::unique_ptr<int>> mailbox(2);
  auto a = std::make_unique<int>(1);
  auto b = std::make_unique<int>(2);
  auto c = std::make_unique<int>(3);
  ASSERT_TRUE(mailbox->TryPush(a));
  ASSERT_TRUE(mailbox->TryPush(b));
  EXPECT_FALSE(mailbox->TryPush(c));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*c, 3);
  EXPECT_EQ(**mailbox->TryPop(), 1);
  EXPECT_TRUE(mailbox->TryPush(c));  // room again
  EXPECT_EQ(**mailbox->TryPop(), 2);
  EXPECT_EQ(**mailbox->TryPop(), 3);
}

TEST(Mailbox, WrapsAroundManyTimes) {
  OwnedMailbox<int> mailbox(4);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(mailbox->TryPush(i));
    ASSERT_TRUE(mailbox->Ready());
    ASSERT_EQ(mailbox->TryPop(), i);
    ASSERT_FALSE(mailbox->Ready());
  }
}

TEST(Mailbox, DestructorDestroysQueuedMessages) {
  auto tracker = std::make_shared<int>(0);
  {
    OwnedMailbox<std::shared_ptr<int>> mailbox(4);
    for (int i = 0; i < 3; ++i) {
      auto copy = tracker;
      ASSERT_TRUE(mailbox->TryPush(copy));
    }
    EXPECT_EQ(tracker.use_count(), 4);
  }
  EXPECT_EQ(tracker.use_count(), 1);
}

// Several producer threads and one consumer: every message arrives once,
// and each producer's messages arrive in the order it sent them.
TEST(Mailbox, ManyProducersOneConsumer) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20'000;
  OwnedMailbox<uint64_t> mailbox(16);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&mailbox, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) {
        uint64_t message = (uint64_t{static_cast<uint64_t>(p)} << 32) | i;
        while (!mailbox->TryPush(message)) std::this_thread::yield();
      }
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  for (int received = 0; received < kProducers * kPerProducer;) {
    std::optional<uint64_t> message = mailbox->TryPop();
    if (!message) {
      std::this_thread::yield();
      continue;
    }
    const int producer = static_cast<int>(*message >> 32);
    ASSERT_EQ(*message & 0xffffffff, next[producer]) << "producer " << producer;
    ++next[producer];
    ++received;
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(mailbox->TryPop(), std::nullopt);
}

}  // namespace
}  // namespace anvil::internal
