#include "runtime/core/frame_pool.h"

#include <sys/mman.h>

#include <atomic>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ANVIL_FRAME_POOL_DISABLED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ANVIL_FRAME_POOL_DISABLED 1
#endif

namespace anvil::internal {
namespace {

constexpr size_t kChunkSize = size_t{2} << 20;
constexpr size_t kClasses = kMaxPooledSize / kPoolAlignment;

std::atomic<int64_t> reserved_bytes{0};

struct FreeBlock {
  FreeBlock* next;
};

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

struct ThreadPool {
  FreeBlock* free[kClasses + 1] = {};
  char* bump = nullptr;
  char* bump_end = nullptr;

  void* Allocate(size_t size_class) {
    if (FreeBlock* block = free[size_class]) {
      free[size_class] = block->next;
      return block;
    }
    const size_t bytes = size_class * kPoolAlignment;
    if (bump == nullptr || static_cast<size_t>(bump_end - bump) < bytes) {
      // The rest of the old chunk is left unused (less than one block).
      bump = NewChunk();
      bump_end = bump + kChunkSize;
    }
    void* block = bump;
    bump += bytes;
    return block;
  }

  void Free(void* block, size_t size_class) {
    auto* b = static_cast<FreeBlock*>(block);
    b->next = free[size_class];
    free[size_class] = b;
  }
};

// Not destroyed at thread exit: blocks of an exited thread's lists stay in
// their chunks (reachable, so not reported as leaks).
thread_local ThreadPool* pool = nullptr;

ThreadPool& Pool() {
  if (pool == nullptr) pool = new ThreadPool;
  return *pool;
}

size_t SizeClass(size_t size) {
  return (size + kPoolAlignment - 1) / kPoolAlignment;
}

}  // namespace

void* PoolAllocate(size_t size) {
#ifdef ANVIL_FRAME_POOL_DISABLED
  return ::operator new (size, std::align_val_t{kPoolAlignment});
#else
  if (size > kMaxPooledSize || size == 0) {
    return ::operator new (size, std::align_val_t{kPoolAlignment});
  }
  return Pool().Allocate(SizeClass(size));
#endif
}

void PoolFree(void* block, size_t size) noexcept {
#ifdef ANVIL_FRAME_POOL_DISABLED
  ::operator delete (block, std::align_val_t{kPoolAlignment});
#else
  if (size > kMaxPooledSize || size == 0) {
    ::operator delete (block, std::align_val_t{kPoolAlignment});
    return;
  }
  Pool().Free(block, SizeClass(size));
#endif
}

int64_t PoolReservedBytes() {
  return reserved_bytes.load(std::memory_order_relaxed);
}

}  // namespace anvil::internal
