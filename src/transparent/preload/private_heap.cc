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

struct Lock {
  explicit Lock(std::atomic_flag* f) : f_(f) {
    while (f_->test_and_set(std::memory_order_acquire)) ::sched_yield();
  }
  ~Lock() { f_->clear(std::memory_order_release); }
  std::atomic_flag* f_;
};

int ClassFor(size_t total) {
  int c = kMinClass;
  while (c <= kMaxClass && (size_t{1} << c) < total) ++c;
  return c;
}

Header* HeaderOf(const void* p) {
  return reinterpret_cast<Header*>(const_cast<char*>(static_cast<const char*>(p)) - kHeader);
}

Arena g_private;

}  // namespace

// A block of class c (2^c bytes, aligned to min(2^c, 4096)).
char* Arena::TakeBlock(int c) {
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

void Arena::Reset() {
  lock_.clear();
  used_ = 0;
  for (auto& f : free_) f = nullptr;
}

bool Init() { return g_private.Init(kReserveBytes); }
void* AllocAligned(size_t alignment, size_t n) { return g_private.AllocAligned(alignment, n); }
void* Alloc(size_t n) { return g_private.Alloc(n); }
void Free(void* p) { g_private.Free(p); }
size_t UsableSize(const void* p) { return g_private.UsableSize(p); }
void* Realloc(void* p, size_t n) { return g_private.Realloc(p, n); }
bool Owns(const void* p) { return g_private.Owns(p); }
uintptr_t Base() { return g_private.Base(); }
size_t Size() { return g_private.Size(); }
void ResetAfterRestart() { g_private.Reset(); }

}  // namespace cairn::preload::heap
