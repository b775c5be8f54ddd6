#include "runtime/core/internal/frame_pool.h"

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "runtime/core/mutex.h"

namespace anvil::internal {

thread_local constinit PoolFreeBlock** pool_free_lists = nullptr;

namespace {

constexpr size_t kChunkSize = size_t{2} << 20;
constexpr size_t kClasses = kMaxPooledSize / kPoolAlignment;

std::atomic<int64_t> reserved_bytes{0};

using FreeBlock = PoolFreeBlock;

// A 2 MiB-aligned chunk, so that the kernel can back it with one huge page.
char* NewChunk() {
  void* raw = mmap(nullptr, 2 * kChunkSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kChunkSize - 1) & ~(kChunkSize - 1);
  // Give back the unaligned head and tail.
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + 2 * kChunkSize;
  if (end > aligned + kChunkSize) {
    munmap(reinterpret_cast<void*>(aligned + kChunkSize),
           end - aligned - kChunkSize);
  }
  madvise(reinterpret_cast<void*>(aligned), kChunkSize, MADV_HUGEPAGE);
  reserved_bytes.fetch_add(kChunkSize, std::memory_order_relaxed);
  return reinterpret_cast<char*>(aligned);
}

// What exited threads left behind: their free blocks and the unused rest of
// their current chunk, adopted by threads that run out. Without this, a
// process that starts and stops runtimes (and so threads) would strand
// memory with every thread.
struct Orphans {
  anvil::Mutex mu;
  FreeBlock* free[kClasses + 1] ABSL_GUARDED_BY(mu) = {};
  std::vector<std::pair<char*, char*>> bump_ranges ABSL_GUARDED_BY(mu);
};

Orphans& TheOrphans() {
  static Orphans* const orphans = new Orphans;
  return *orphans;
}

struct ThreadPool {
  FreeBlock* free[kClasses + 1] = {};
  char* bump = nullptr;
  char* bump_end = nullptr;

  ~ThreadPool() {
    Orphans& orphans = TheOrphans();
    anvil::MutexLock lock(orphans.mu);
    for (size_t c = 1; c <= kClasses; ++c) {
      if (free[c] == nullptr) continue;
      FreeBlock* last = free[c];
      while (last->next != nullptr) last = last->next;
      last->next = orphans.free[c];
      orphans.free[c] = free[c];
    }
    if (bump != nullptr &&
        bump_end - bump >= static_cast<ptrdiff_t>(kPoolAlignment)) {
      orphans.bump_ranges.emplace_back(bump, bump_end);
    }
  }

  void* Allocate(size_t size_class) {
    if (FreeBlock* block = free[size_class]) {
      free[size_class] = block->next;
      return block;
    }
    const size_t bytes = size_class * kPoolAlignment;
    if (bump == nullptr || static_cast<size_t>(bump_end - bump) < bytes) {
      if (!Adopt(size_class, bytes)) {
        // The rest of the old chunk is left unused (less than one block).
        bump = NewChunk();
        bump_end = bump + kChunkSize;
      }
      if (FreeBlock* block = free[size_class]) {
        free[size_class] = block->next;
        return block;
      }
    }
    void* block = bump;
    bump += bytes;
    return block;
  }

  // Takes over what exited threads left: their free blocks of this class,
  // or a leftover range big enough. Returns false if there was neither.
  bool Adopt(size_t size_class, size_t bytes) {
    Orphans& orphans = TheOrphans();
    anvil::MutexLock lock(orphans.mu);
    if (orphans.free[size_class] != nullptr) {
      free[size_class] = orphans.free[size_class];
      orphans.free[size_class] = nullptr;
      return true;
    }
    for (auto it = orphans.bump_ranges.begin(); it != orphans.bump_ranges.end();
         ++it) {
      if (static_cast<size_t>(it->second - it->first) >= bytes) {
        bump = it->first;
        bump_end = it->second;
        orphans.bump_ranges.erase(it);
        return true;
      }
    }
    return false;
  }

  void Free(void* block, size_t size_class) {
    auto* b = static_cast<FreeBlock*>(block);
    b->next = free[size_class];
    free[size_class] = b;
  }
};

// Destroyed at thread exit, giving its memory to the orphans. After that
// (other thread-local destructors of the same thread, static destructors of
// the main thread), `pool_destroyed` sends calls to the orphans directly.
thread_local bool pool_destroyed = false;
// The hot paths read plain pointers (fast_pool here, pool_free_lists in
// the header): a thread_local with a destructor is reached through a
// wrapper call and an initialization check each time.
thread_local ThreadPool* fast_pool = nullptr;
struct PoolHolder {
  ThreadPool pool;
  ~PoolHolder() {
    fast_pool = nullptr;
    pool_free_lists = nullptr;
    pool_destroyed = true;
  }
};
thread_local PoolHolder holder;

ThreadPool* SlowPool() {
  if (pool_destroyed) return nullptr;
  fast_pool = &holder.pool;
  pool_free_lists = holder.pool.free;
  return fast_pool;
}

void* AllocateAfterExit(size_t size_class) {
  // Rare: correctness over speed. A fresh single block from the heap.
  return ::operator new (size_class* kPoolAlignment,
                         std::align_val_t{kPoolAlignment});
}

void FreeAfterExit(void* block, size_t size_class) {
  Orphans& orphans = TheOrphans();
  anvil::MutexLock lock(orphans.mu);
  auto* b = static_cast<FreeBlock*>(block);
  b->next = orphans.free[size_class];
  orphans.free[size_class] = b;
}

size_t SizeClass(size_t size) {
  return (size + kPoolAlignment - 1) / kPoolAlignment;
}

}  // namespace

void* PoolAllocateSlow(size_t size) {
#ifdef ANVIL_FRAME_POOL_DISABLED
  return ::operator new (size, std::align_val_t{kPoolAlignment});
#else
  if (size > kMaxPooledSize || size == 0) {
    return ::operator new (size, std::align_val_t{kPoolAlignment});
  }
  ThreadPool* pool = fast_pool;
  if (pool == nullptr && (pool = SlowPool()) == nullptr) {
    return AllocateAfterExit(SizeClass(size));
  }
  return pool->Allocate(SizeClass(size));
#endif
}

void PoolFreeSlow(void* block, size_t size) noexcept {
#ifdef ANVIL_FRAME_POOL_DISABLED
  ::operator delete (block, std::align_val_t{kPoolAlignment});
#else
  if (size > kMaxPooledSize || size == 0) {
    ::operator delete (block, std::align_val_t{kPoolAlignment});
    return;
  }
  ThreadPool* pool = fast_pool;
  if (pool == nullptr && (pool = SlowPool()) == nullptr) {
    FreeAfterExit(block, SizeClass(size));
    return;
  }
  pool->Free(block, SizeClass(size));
#endif
}

int64_t PoolReservedBytes() {
  return reserved_bytes.load(std::memory_order_relaxed);
}

}  // namespace anvil::internal
