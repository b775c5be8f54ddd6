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
#ifndef ANVIL_RUNTIME_CORE_FRAME_POOL_H_
#define ANVIL_RUNTIME_CORE_FRAME_POOL_H_

#include <cstddef>
#include <cstdint>

namespace anvil::internal {

// Alignment of every pooled block.
inline constexpr size_t kPoolAlignment = 16;
// Blocks up to this size come from the pool.
inline constexpr size_t kMaxPooledSize = 1024;

// Returns at least `size` bytes aligned to kPoolAlignment. Throws
// std::bad_alloc when memory is exhausted.
void* PoolAllocate(size_t size);

// Frees a block from PoolAllocate. REQUIRES: `size` is the size it was
// allocated with.
void PoolFree(void* block, size_t size) noexcept;

// Bytes of 2 MiB chunks the pool has reserved so far, all threads.
int64_t PoolReservedBytes();

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_FRAME_POOL_H_
