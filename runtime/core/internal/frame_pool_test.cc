#include "runtime/core/internal/frame_pool.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace anvil::internal {
namespace {

TEST(FramePool, BlocksAreAlignedDistinctAndWritable) {
  std::vector<void*> blocks;
  std::set<void*> distinct;
  for (size_t size : {1, 16, 17, 48, 100, 256, 1000, 1024, 4096}) {
    for (int i = 0; i < 100; ++i) {
      void* p = PoolAllocate(size);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % kPoolAlignment, 0u);
      std::memset(p, 0xab, size);
      EXPECT_TRUE(distinct.insert(p).second);
      blocks.push_back(p);
    }
  }
  size_t i = 0;
  for (size_t size : {1, 16, 17, 48, 100, 256, 1000, 1024, 4096}) {
    for (int j = 0; j < 100; ++j) PoolFree(blocks[i++], size);
  }
}

TEST(FramePool, FreedBlocksAreReused) {
  void* a = PoolAllocate(64);
  PoolFree(a, 64);
  void* b = PoolAllocate(64);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !(defined(__has_feature) &&                                        \
      (__has_feature(address_sanitizer) || __has_feature(thread_sanitizer)))
  EXPECT_EQ(a, b);
#endif
  PoolFree(b, 64);
}

// Threads that come and go hand their memory on: a thousand short-lived
// threads, each allocating a little, reserve only a few chunks in all.
TEST(FramePool, ExitedThreadsMemoryIsAdopted) {
  const int64_t before = PoolReservedBytes();
  for (int t = 0; t < 1000; ++t) {
    std::thread([] {
      std::vector<void*> blocks;
      for (int i = 0; i < 64; ++i) blocks.push_back(PoolAllocate(128));
      for (void* p : blocks) PoolFree(p, 128);
    }).join();
  }
  // Without adoption each thread would reserve its own 2 MiB chunk.
  EXPECT_LE(PoolReservedBytes() - before, int64_t{4} << 20);
}

}  // namespace
}  // namespace anvil::internal
