// FramePool: the allocator for coroutine frames and actor control blocks.
//
// Per-thread free lists in 16-byte size classes up to 1 KiB, carved from
// 2 MiB chunks that ask for transparent huge pages. Compared with malloc:
// no per-block header (an idle actor is smaller), no lock, and about one
// page fault per 2 MiB instead of per 4 KiB when millions of actors are
// spawned at once. Larger blocks go to ::operator new.
//
//   void* p = anvil::internal::PoolAllocate(sizeof(Frame));
//   ...
//   anvil::internal::PoolFree(p, sizeof(Frame));   // same size
//
// A block freed on another thread joins that thread's free list; when a
// thread exits, its free blocks and the rest of its chunk go to a shared
// list that other threads adopt before reserving more. Chunks are never
// returned to the OS: memory a burst of actors used stays ready for the next
// burst. Under AddressSanitizer and ThreadSanitizer every call
// goes to ::operator new and delete, so the sanitizers see each block.
//
// Thread-safe (each thread uses its own lists).
#ifndef ANVIL_RUNTIME_CORE_INTERNAL_FRAME_POOL_H_
#define ANVIL_RUNTIME_CORE_INTERNAL_FRAME_POOL_H_

#include <cstddef>
#include <cstdint>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ANVIL_FRAME_POOL_DISABLED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ANVIL_FRAME_POOL_DISABLED 1
#endif

namespace anvil::internal {

// Alignment of every pooled block.
inline constexpr size_t kPoolAlignment = 16;
// Blocks up to this size come from the pool.
inline constexpr size_t kMaxPooledSize = 1024;

// A free block of the pool: the link of its size class's free list.
struct PoolFreeBlock {
  PoolFreeBlock* next;
};

// This thread's free lists, indexed by size class ((size + 15) / 16, 1 to
// kMaxPooledSize / 16); null until the thread's first slow-path call and
// again once the thread's pool is destroyed. For the inline fast path only.
extern thread_local constinit PoolFreeBlock** pool_free_lists;

// The out-of-line paths: the free list of the size class is empty, the
// size is not pooled, or the thread has no pool (yet, or any more).
void* PoolAllocateSlow(size_t size);
void PoolFreeSlow(void* block, size_t size) noexcept;

// Returns at least `size` bytes aligned to kPoolAlignment. Throws
// std::bad_alloc when memory is exhausted.
inline void* PoolAllocate(size_t size) {
#ifndef ANVIL_FRAME_POOL_DISABLED
  // Inline, since every coroutine call allocates a frame: a pop from the
  // thread's free list when it has a block.
  PoolFreeBlock** lists = pool_free_lists;
  if (lists != nullptr && size - 1 < kMaxPooledSize) {
    PoolFreeBlock*& head = lists[(size + kPoolAlignment - 1) / kPoolAlignment];
    if (PoolFreeBlock* block = head) {
      head = block->next;
      return block;
    }
  }
#endif
  return PoolAllocateSlow(size);
}

// Frees a block from PoolAllocate. REQUIRES: `size` is the size it was
// allocated with.
inline void PoolFree(void* block, size_t size) noexcept {
#ifndef ANVIL_FRAME_POOL_DISABLED
  PoolFreeBlock** lists = pool_free_lists;
  if (lists != nullptr && size - 1 < kMaxPooledSize) {
    PoolFreeBlock*& head = lists[(size + kPoolAlignment - 1) / kPoolAlignment];
    auto* freed = static_cast<PoolFreeBlock*>(block);
    freed->next = head;
    head = freed;
    return;
  }
#endif
  PoolFreeSlow(block, size);
}

// Bytes of 2 MiB chunks the pool has reserved so far, all threads.
int64_t PoolReservedBytes();

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_INTERNAL_FRAME_POOL_H_
