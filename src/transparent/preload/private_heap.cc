// See private_heap.h.
#include "transparent/preload/private_heap.h"

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>

namespace cairn::preload::heap {

namespace detail {
uintptr_t g_base = 0;
size_t g_size = 0;  // 0 before Init(): nothing is owned
}  // namespace detail

namespace {

constexpr uint32_t kMagic = 0x50484541;  // "PHEA"
constexpr int kMinClass = 4;             // 16 bytes
constexpr int kMaxClass = 29;            // 512 MiB
constexpr size_t kHeader = 16;
constexpr size_t kReleaseFrom = size_t{1} << 20;

struct Header {
  uint32_t magic;
  uint32_t cls;
  uint64_t offset;  // from the block's start to this header (aligned allocations)
};
static_assert(sizeof(Header) == kHeader);

struct FreeBlock {
  FreeBlock* next;
};

struct Lock {
  explicit Lock(std::atomic_flag* f) : f_(f) {
    while (f_->test_and_set(std::memory_order_acquire)) ::sched_yield();
  }
  ~Lock() { f_->clear(std::memory_order_release); }
  std::atomic_flag* f_;
};

int ClassFor(size_t total) {
  if (total <= (size_t{1} << kMinClass)) return kMinClass;
  return 64 - __builtin_clzll(static_cast<unsigned long long>(total - 1));  // > kMaxClass: too big
}

// Per-thread free lists of small blocks, so that the allocations an MPI library makes on every
// call take no lock: at most kCacheDepth blocks of each class up to kCacheMaxClass, for one
// arena (the first the thread frees into) and one epoch of it (Reset() makes them stale).
constexpr int kCacheMaxClass = 12;  // 4 KiB
constexpr int kCacheDepth = 8;
struct ThreadCache {
  const Arena* arena;
  uint64_t epoch;
  FreeBlock* head[kCacheMaxClass + 1];
  uint8_t count[kCacheMaxClass + 1];
};
__thread ThreadCache tl_cache __attribute__((tls_model("initial-exec")));

Header* HeaderOf(const void* p) {
  return reinterpret_cast<Header*>(const_cast<char*>(static_cast<const char*>(p)) - kHeader);
}

Arena g_private;
// Epochs are unique over every arena of the process, so that a thread cache never mistakes a
// new arena at a dead one's address, or a Reset() arena, for the one it holds blocks of.
std::atomic<uint64_t> g_next_epoch{1};
// Threads running that share another thread's TLS, hence its thread cache (see the header).
std::atomic<int> g_shared_tls{0};
bool CacheUsable() { return g_shared_tls.load(std::memory_order_acquire) == 0; }

}  // namespace

// A block of class c (2^c bytes, aligned to min(2^c, 4096)).
char* Arena::TakeBlock(int c) {
  if (c <= kCacheMaxClass && thread_cache_ && CacheUsable()) {
    ThreadCache& tc = tl_cache;
    if (tc.arena == this && tc.epoch == epoch_ && tc.head[c] != nullptr) {
      FreeBlock* b = tc.head[c];
      tc.head[c] = b->next;
      --tc.count[c];
      return reinterpret_cast<char*>(b);
    }
  }
  Lock lock(&lock_);
  if (void* b = free_[c]; b != nullptr) {
    free_[c] = static_cast<FreeBlock*>(b)->next;
    return static_cast<char*>(b);
  }
  const size_t size = size_t{1} << c;
  const size_t align = size < 4096 ? size : 4096;
  size_t at = (used_ + align - 1) & ~(align - 1);
  if (base_ == nullptr || at + size > reserve_) return nullptr;
  used_ = at + size;
  return base_ + at;
}

void Arena::GiveBlock(char* block, int c) {
  if (c <= kCacheMaxClass && thread_cache_ && CacheUsable()) {
    ThreadCache& tc = tl_cache;
    if (tc.arena != this || tc.epoch != epoch_) {
      // Rebind the cache to this arena when it holds nothing of value: never used, of an
      // older epoch of this arena, or empty.
      bool drop = tc.arena == nullptr || tc.arena == this;
      if (!drop) {
        drop = true;
        for (int k = 0; drop && k <= kCacheMaxClass; ++k) drop = tc.count[k] == 0;
      }
      if (drop) {
        std::memset(&tc, 0, sizeof tc);
        tc.arena = this;
        tc.epoch = epoch_;
      }
    }
    if (tc.arena == this && tc.epoch == epoch_ && tc.count[c] < kCacheDepth) {
      auto* b = reinterpret_cast<FreeBlock*>(block);
      b->next = tc.head[c];
      tc.head[c] = b;
      ++tc.count[c];
      return;
    }
  }
  const size_t size = size_t{1} << c;
  if (size >= kReleaseFrom) ::madvise(block, size, MADV_DONTNEED);
  Lock lock(&lock_);
  auto* b = reinterpret_cast<FreeBlock*>(block);
  b->next = static_cast<FreeBlock*>(free_[c]);
  free_[c] = b;
}

bool Arena::Init(size_t reserve) {
  if (base_ != nullptr) return true;
  void* p = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  base_ = static_cast<char*>(p);
  reserve_ = reserve;
  epoch_ = g_next_epoch.fetch_add(1);
  return true;
}

void* Arena::AllocAligned(size_t alignment, size_t n) {
  if (alignment < kHeader) alignment = kHeader;
  if ((alignment & (alignment - 1)) != 0 || n > (size_t{1} << kMaxClass)) return nullptr;
  const size_t total = n + kHeader + (alignment > kHeader ? alignment : 0);
  const int c = ClassFor(total);
  if (c > kMaxClass) return nullptr;
  char* block = TakeBlock(c);
  if (block == nullptr) return nullptr;
  uintptr_t user = reinterpret_cast<uintptr_t>(block) + kHeader;
  user = (user + alignment - 1) & ~(uintptr_t{alignment} - 1);
  Header* h = HeaderOf(reinterpret_cast<void*>(user));
  h->magic = kMagic;
  h->cls = static_cast<uint32_t>(c);
  h->offset = reinterpret_cast<uintptr_t>(h) - reinterpret_cast<uintptr_t>(block);
  return reinterpret_cast<void*>(user);
}

void* Arena::Alloc(size_t n) { return AllocAligned(kHeader, n); }

void Arena::Free(void* p) {
  if (p == nullptr || !Owns(p)) return;
  Header* h = HeaderOf(p);
  if (h->magic != kMagic || h->cls < kMinClass || h->cls > kMaxClass) return;  // not ours
  h->magic = 0;
  GiveBlock(reinterpret_cast<char*>(h) - h->offset, static_cast<int>(h->cls));
}

size_t Arena::UsableSize(const void* p) const {
  if (p == nullptr || !Owns(p)) return 0;
  const Header* h = HeaderOf(p);
  if (h->magic != kMagic) return 0;
  return (size_t{1} << h->cls) - h->offset - kHeader;
}

void* Arena::Realloc(void* p, size_t n) {
  if (p == nullptr) return Alloc(n);
  const size_t have = UsableSize(p);
  if (n <= have) return p;
  void* q = Alloc(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, have);
  Free(p);
  return q;
}

bool Arena::Owns(const void* p) const {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const auto b = reinterpret_cast<uintptr_t>(base_);
  return base_ != nullptr && a >= b && a < b + reserve_;
}

void Arena::FlushThreadCache() {
  ThreadCache& tc = tl_cache;
  if (tc.arena != this) return;
  if (tc.epoch == epoch_) {
    Lock lock(&lock_);
    for (int c = 0; c <= kCacheMaxClass; ++c) {
      while (FreeBlock* b = tc.head[c]) {
        tc.head[c] = b->next;
        b->next = static_cast<FreeBlock*>(free_[c]);
        free_[c] = b;
      }
    }
  }
  std::memset(&tc, 0, sizeof tc);
}

void Arena::Reset() {
  epoch_ = g_next_epoch.fetch_add(1);  // every thread's cached blocks are stale
  lock_.clear();
  used_ = 0;
  for (auto& f : free_) f = nullptr;
}

void SharedTlsThreads(int delta) { g_shared_tls.fetch_add(delta, std::memory_order_acq_rel); }

bool Init() {
  g_private.EnableThreadCache();  // the lower half's allocations on every MPI call
  if (!g_private.Init(kReserveBytes)) return false;
  detail::g_base = g_private.Base();
  detail::g_size = g_private.Size();
  return true;
}
void* AllocAligned(size_t alignment, size_t n) { return g_private.AllocAligned(alignment, n); }
void* Alloc(size_t n) { return g_private.Alloc(n); }
void Free(void* p) { g_private.Free(p); }
size_t UsableSize(const void* p) { return g_private.UsableSize(p); }
void* Realloc(void* p, size_t n) { return g_private.Realloc(p, n); }
uintptr_t Base() { return g_private.Base(); }
size_t Size() { return g_private.Size(); }
void ResetAfterRestart() { g_private.Reset(); }
void FlushThreadCache() { g_private.FlushThreadCache(); }

}  // namespace cairn::preload::heap
