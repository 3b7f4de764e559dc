// transparent/preload/private_heap.h: the arena's per-thread cache of small blocks (reuse
// without the lock, a bounded depth, FlushThreadCache, staleness after Reset, one arena per
// cache) and its contract (Owns, sizes, alignment).
#include "transparent/preload/private_heap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <thread>
#include <vector>

namespace cairn::preload::heap {
namespace {

TEST(PrivateHeap, AThreadReusesWhatItFreedAndOthersGetOnlyTheOverflow) {
  Arena a;
  a.EnableThreadCache();
  ASSERT_TRUE(a.Init(size_t{1} << 20));
  std::vector<void*> blocks;
  for (int i = 0; i < 9; ++i) blocks.push_back(a.Alloc(100));
  for (void* p : blocks) ASSERT_TRUE(a.Owns(p));
  void* last = blocks.back();
  a.Free(blocks[0]);
  EXPECT_EQ(a.Alloc(100), blocks[0]);  // the same thread: from its cache
  for (void* p : blocks) a.Free(p);    // 8 go to this thread's cache, the 9th (last) is shared
  void* other = nullptr;
  std::thread([&] { other = a.Alloc(100); }).join();
  EXPECT_EQ(other, last);
  std::set<void*> mine;
  for (int i = 0; i < 8; ++i) mine.insert(a.Alloc(100));
  EXPECT_EQ(mine, std::set<void*>(blocks.begin(), blocks.end() - 1));
  for (void* p : mine) a.Free(p);
  a.FlushThreadCache();  // now another thread finds them
  std::set<void*> theirs;
  std::thread([&] {
    for (int i = 0; i < 8; ++i) theirs.insert(a.Alloc(100));
  }).join();
  EXPECT_EQ(theirs, mine);
}

TEST(PrivateHeap, ResetMakesCachedBlocksStale) {
  Arena a;
  a.EnableThreadCache();
  ASSERT_TRUE(a.Init(size_t{1} << 20));
  void* first = a.Alloc(50);
  void* second = a.Alloc(50);
  a.Free(second);  // in this thread's cache
  a.Reset();
  EXPECT_EQ(a.Alloc(50), first);  // carved anew from the start, not the stale cached block
  EXPECT_EQ(a.Alloc(50), second);
}

TEST(PrivateHeap, ACacheServesOneArena) {
  Arena a, b;
  a.EnableThreadCache();
  b.EnableThreadCache();
  ASSERT_TRUE(a.Init(size_t{1} << 20));
  ASSERT_TRUE(b.Init(size_t{1} << 20));
  void* pa = a.Alloc(64);
  a.Free(pa);  // the cache now belongs to a, and holds pa
  void* pb = b.Alloc(64);
  ASSERT_TRUE(b.Owns(pb));
  b.Free(pb);  // to b's shared list
  void* again = b.Alloc(64);
  EXPECT_TRUE(b.Owns(again));
  EXPECT_EQ(again, pb);
  EXPECT_EQ(a.Alloc(64), pa);
}

TEST(PrivateHeap, WithoutTheCacheEveryBlockIsShared) {
  Arena a;
  ASSERT_TRUE(a.Init(size_t{1} << 20));
  void* p = a.Alloc(100);
  a.Free(p);
  void* other = nullptr;
  std::thread([&] { other = a.Alloc(100); }).join();
  EXPECT_EQ(other, p);
}

TEST(PrivateHeap, SizesAlignmentAndForeignPointers) {
  Arena a;
  ASSERT_TRUE(a.Init(size_t{1} << 24));
  for (size_t n : {size_t{1}, size_t{16}, size_t{4000}, size_t{5000}, size_t{1} << 20}) {
    char* p = static_cast<char*>(a.Alloc(n));
    ASSERT_NE(p, nullptr) << n;
    EXPECT_GE(a.UsableSize(p), n);
    p[0] = 1;
    p[n - 1] = 2;
    a.Free(p);
  }
  void* q = a.AllocAligned(4096, 10);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 4096, 0u);
  a.Free(q);
  int local = 0;
  EXPECT_FALSE(a.Owns(&local));
  a.Free(&local);                                // not ours: ignored
  EXPECT_EQ(a.AllocAligned(48, 10), nullptr);    // not a power of two
  EXPECT_EQ(a.Alloc(size_t{1} << 40), nullptr);  // beyond the largest class
  EXPECT_EQ(a.Alloc(size_t{1} << 25), nullptr);  // larger than the reserve
}

}  // namespace
}  // namespace cairn::preload::heap
