// See private_heap.h.
#include "transparent/preload/private_heap.h"

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>

namespace cairn::preload::heap {
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

char* g_base = nullptr;
size_t g_used = 0;  // bytes of the reserve carved so far
FreeBlock* g_free[kMaxClass + 1];
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;

struct Lock {
  Lock() {
    while (g_lock.test_and_set(std::memory_order_acquire)) ::sched_yield();
  }
  ~Lock() { g_lock.clear(std::memory_order_release); }
};

int ClassFor(size_t total) {
  int c = kMinClass;
  while (c <= kMaxClass && (size_t{1} << c) < total) ++c;
  return c;
}

// A block of class c (2^c bytes, aligned to min(2^c, 4096)).
char* TakeBlock(int c) {
  Lock lock;
  if (FreeBlock* b = g_free[c]; b != nullptr) {
    g_free[c] = b->next;
    return reinterpret_cast<char*>(b);
  }
  const size_t size = size_t{1} << c;
  const size_t align = size < 4096 ? size : 4096;
  size_t at = (g_used + align - 1) & ~(align - 1);
  if (g_base == nullptr || at + size > kReserveBytes) return nullptr;
  g_used = at + size;
  return g_base + at;
}

void GiveBlock(char* block, int c) {
  const size_t size = size_t{1} << c;
  if (size >= kReleaseFrom) ::madvise(block, size, MADV_DONTNEED);
  Lock lock;
  auto* b = reinterpret_cast<FreeBlock*>(block);
  b->next = g_free[c];
  g_free[c] = b;
}

Header* HeaderOf(const void* p) {
  return reinterpret_cast<Header*>(const_cast<char*>(static_cast<const char*>(p)) - kHeader);
}

}  // namespace

bool Init() {
  if (g_base != nullptr) return true;
  void* p = ::mmap(nullptr, kReserveBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  g_base = static_cast<char*>(p);
  return true;
}

void* AllocAligned(size_t alignment, size_t n) {
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

void* Alloc(size_t n) { return AllocAligned(kHeader, n); }

void Free(void* p) {
  if (p == nullptr || !Owns(p)) return;
  Header* h = HeaderOf(p);
  if (h->magic != kMagic || h->cls < kMinClass || h->cls > kMaxClass) return;  // not ours
  h->magic = 0;
  GiveBlock(reinterpret_cast<char*>(h) - h->offset, static_cast<int>(h->cls));
}

size_t UsableSize(const void* p) {
  if (p == nullptr || !Owns(p)) return 0;
  const Header* h = HeaderOf(p);
  if (h->magic != kMagic) return 0;
  return (size_t{1} << h->cls) - h->offset - kHeader;
}

void* Realloc(void* p, size_t n) {
  if (p == nullptr) return Alloc(n);
  const size_t have = UsableSize(p);
  if (n <= have) return p;
  void* q = Alloc(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, have);
  Free(p);
  return q;
}

bool Owns(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const auto b = reinterpret_cast<uintptr_t>(g_base);
  return g_base != nullptr && a >= b && a < b + kReserveBytes;
}

uintptr_t Base() { return reinterpret_cast<uintptr_t>(g_base); }
size_t Size() { return g_base == nullptr ? 0 : kReserveBytes; }

void ResetAfterRestart() {
  g_lock.clear();
  g_used = 0;
  for (auto& f : g_free) f = nullptr;
}

}  // namespace cairn::preload::heap
