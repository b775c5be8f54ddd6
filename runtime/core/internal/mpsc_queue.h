// MpscQueue<T>: a bounded, lock-free, multi-producer single-consumer queue.
// Behind every actor's mailbox (runtime/actor/internal/mailbox.h) and every
// worker's inbox of work from other threads.
//
//   struct Owner {
//     MpscQueue<Msg> queue{8, storage};
//     alignas(Msg) std::byte storage[MpscQueue<Msg>::StorageBytes(8)];
//   };
//   Msg m = ...;
//   if (!owner.queue.TryPush(m)) { /* full: m is untouched */ }
//   std::optional<Msg> next = owner.queue.TryPop();   // consumer only
//
// Layout: the capacity rounded up to a power of two, items in one array and
// one ready byte per slot after it, in storage the owner provides after the
// queue itself (an actor keeps it in the same allocation as its control
// block).
//
// Producers reserve a slot with one sequentially consistent CAS on the tail
// (which the parking protocols of actors and workers rely on: a consumer
// that announces it sleeps and then sees the tail unmoved is sure to be
// seen by the next producer),
// construct the message in place and publish it with a release store of
// its ready byte. The consumer moves the message out, clears the byte and
// advances the head. PERFORMANCE: a push is one atomic read-modify-write, a
// pop is plain loads and stores; nothing allocates.
//
// NOTE: a producer that is preempted between reserving and publishing holds
// up the messages behind it (the queue is FIFO) until it resumes, as in
// Vyukov's bounded queue.
//
// Thread-safety: TryPush from any thread; TryPop, Ready and the destructor
// only from the single consumer.
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_MPSC_QUEUE_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_MPSC_QUEUE_H_

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace anvil::internal {

template <typename M>
class MpscQueue {
 public:
  static_assert(std::is_nothrow_move_constructible_v<M>,
                "queued items (actor messages) must be nothrow move "
                "constructible");

  // Largest capacity a mailbox may have.
  static constexpr uint32_t kMaxCapacity = uint32_t{1} << 30;
  static constexpr size_t kStorageAlignment = alignof(M);

  // The capacity a request for `capacity` slots gets: the next power of two,
  // at least 1 and at most kMaxCapacity.
  static constexpr uint32_t RoundCapacity(uint32_t capacity) {
    uint32_t rounded = 1;
    while (rounded < capacity && rounded < kMaxCapacity) rounded <<= 1;
    return rounded;
  }

  // Bytes of storage a mailbox of `capacity` (after rounding) needs.
  static constexpr size_t StorageBytes(uint32_t capacity) {
    const size_t n = RoundCapacity(capacity);
    return n * sizeof(M) + n;
  }

  // `storage` must hold StorageBytes(capacity) bytes aligned to
  // kStorageAlignment and outlive the mailbox.
  // NOTE: the storage is addressed relative to the mailbox (a 32-bit
  // offset instead of two pointers keeps an actor small), so it must lie
  // within 4 GiB after it: in practice, in the same allocation.
  MpscQueue(uint32_t capacity, void* storage)
      : mask_(RoundCapacity(capacity) - 1),
        storage_offset_(
            static_cast<uint32_t>(static_cast<std::byte*>(storage) -
                                  reinterpret_cast<std::byte*>(this))) {
    assert(static_cast<std::byte*>(storage) >
           reinterpret_cast<std::byte*>(this));
    for (uint32_t i = 0; i <= mask_; ++i) {
      new (&ready()[i]) std::atomic<uint8_t>(0);
    }
  }
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  // Destroys the messages still queued. REQUIRES: no producer is running.
  ~MpscQueue() {
    while (TryPop().has_value()) {
    }
  }

  uint32_t capacity() const { return mask_ + 1; }

  // Moves `message` into the mailbox unless it is full. On failure `message`
  // is left as it was. On success `*position` (if given) is the message's
  // position: the head() the consumer has while the message is queued.
  // Thread-safe.
  bool TryPush(M& message, uint32_t* position = nullptr) {
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    do {
      const uint32_t head = head_.load(std::memory_order_acquire);
      if (tail - head > mask_) return false;
    } while (!tail_.compare_exchange_weak(
        tail, tail + 1, std::memory_order_seq_cst, std::memory_order_relaxed));
    const uint32_t index = tail & mask_;
    new (&items()[index]) M(std::move(message));
    ready()[index].store(1, std::memory_order_release);
    if (position != nullptr) *position = tail;
    return true;
  }

  // The oldest published message, or nothing. Consumer only.
  std::optional<M> TryPop() {
    const uint32_t head = head_.load(std::memory_order_relaxed);
    const uint32_t index = head & mask_;
    if (ready()[index].load(std::memory_order_acquire) == 0)
      return std::nullopt;
    std::optional<M> message(std::move(items()[index]));
    items()[index].~M();
    ready()[index].store(0, std::memory_order_relaxed);
    head_.store(head + 1, std::memory_order_release);
    return message;
  }

  // Position of the next message to pop. Consumer only.
  uint32_t head() const { return head_.load(std::memory_order_relaxed); }

  // True if the next message is published (TryPop would succeed).
  // Consumer only.
  bool Ready() const {
    return ready()[head_.load(std::memory_order_relaxed) & mask_].load(
               std::memory_order_acquire) != 0;
  }

  // True if a producer has reserved a slot the consumer has not emptied:
  // a message is queued or being written. Sequentially consistent: see the
  // parking protocol in actor_cell.h. Consumer only.
  bool NonEmpty() const {
    return tail_.load(std::memory_order_seq_cst) !=
           head_.load(std::memory_order_relaxed);
  }

  // The next message, waiting for one that is being written (a producer
  // between its reservation and its publication: nanoseconds, unless the
  // OS preempted it). Nothing if no slot is reserved. Consumer only.
  std::optional<M> PopWaiting() {
    if (Ready()) return TryPop();
    if (tail_.load(std::memory_order_acquire) ==
        head_.load(std::memory_order_relaxed)) {
      return std::nullopt;
    }
    for (int spins = 0; !Ready(); ++spins) {
      if (spins < 1000) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
    return TryPop();
  }

  // True if a push would find no room now. Any thread; a hint only.
  bool FullApprox() const {
    return tail_.load(std::memory_order_seq_cst) -
               head_.load(std::memory_order_seq_cst) >
           mask_;
  }

 private:
  M* items() const { return items_base(); }
  std::atomic<uint8_t>* ready() const {
    return reinterpret_cast<std::atomic<uint8_t>*>(items_base() + mask_ + 1);
  }
  M* items_base() const {
    return reinterpret_cast<M*>(
        const_cast<std::byte*>(reinterpret_cast<const std::byte*>(this)) +
        storage_offset_);
  }

  const uint32_t mask_;
  std::atomic<uint32_t> head_{0};  // written by the consumer only
  std::atomic<uint32_t> tail_{0};  // advanced by producers
  const uint32_t storage_offset_;  // from `this` to the message slots
};

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_MPSC_QUEUE_H_
