// The library's own heap: every allocation of an internal thread (the checkpoint thread and
// the threads it starts, e.g. compression workers) comes from here, never from glibc's malloc.
//
// Why: while a checkpoint copies the process's memory only internal threads run. If they used
// glibc's arenas, the arenas' metadata would change while it is being copied, and a restored
// process would find it inconsistent (corrupt free lists, a top chunk in memory the image
// says is PROT_NONE). With this heap the application's heap is frozen while it is saved.
//
// Contract:
//   - Init() (library constructor) reserves kReserveBytes of address space (MAP_NORESERVE);
//     pages cost memory only once touched. Blocks are power-of-two size classes (16 B ..
//     512 MiB) carved from the reserve and kept on per-class free lists; freed blocks of
//     1 MiB and more give their pages back (MADV_DONTNEED). Thread-safe (a spin lock). With
//     EnableThreadCache() (the private heap) a thread keeps up to 8 freed blocks of each
//     class up to 4 KiB for itself (no lock), for one arena; FlushThreadCache() gives them
//     back (the preload calls it when a registered thread exits) and Reset() makes every
//     thread's cached blocks stale.
//   - Threads that share their TLS with another thread (raw_threads.h) must not touch a
//     thread cache: SharedTlsThreads(+n) before they start and (-n) after they ended; while
//     the count is not zero every allocation takes the lock.
//   - Its contents are never saved in an image (capture skips [Base(), Base() + Size())):
//     after a restart the region is zero and ResetAfterRestart() empties the heap. Library
//     state that lives across a restart must therefore not point into it (see restart.cc,
//     which resets the few such objects).
//   - Alloc returns nullptr when the reserve is exhausted or the size is too large; never
//     aborts. Free(nullptr) is a no-op. Owns(p) tells whether p came from here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cairn::preload::heap {

// 16 GiB of address space (MAP_NORESERVE): also the heap of a lower half (lower_half.h), e.g. an
// MPI library and its buffers.
inline constexpr size_t kReserveBytes = size_t{16} << 30;

// One heap over a reserved range; the functions below use the library's private one. The lower
// half's pristine arena (lower_half.h) is another instance.
class Arena {
 public:
  static constexpr int kClasses = 30;  // size classes 2^4 .. 2^29
  bool Init(size_t reserve);
  void* Alloc(size_t n);
  void* AllocAligned(size_t alignment, size_t n);
  void* Realloc(void* p, size_t n);  // p must be Owns() or nullptr
  void Free(void* p);
  size_t UsableSize(const void* p) const;
  bool Owns(const void* p) const;
  uintptr_t Base() const { return reinterpret_cast<uintptr_t>(base_); }
  size_t Size() const { return base_ == nullptr ? 0 : reserve_; }
  size_t Used() const { return used_; }
  void Reset();             // empty (after a restart)
  void FlushThreadCache();  // the calling thread's cached blocks back to the lists
  void EnableThreadCache() { thread_cache_ = true; }

 private:
  char* TakeBlock(int c);
  void GiveBlock(char* block, int c);
  char* base_ = nullptr;
  size_t reserve_ = 0;
  size_t used_ = 0;  // bytes of the reserve carved so far
  void* free_[kClasses] = {};
  uint64_t epoch_ = 0;  // unique per Init()/Reset(); a thread cache of another epoch is stale
  bool thread_cache_ = false;
  std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
};

bool Init();
void SharedTlsThreads(int delta);
void* Alloc(size_t n);
void* AllocAligned(size_t alignment, size_t n);  // alignment: a power of two
void* Realloc(void* p, size_t n);                // p must be Owns() or nullptr
void Free(void* p);
size_t UsableSize(const void* p);
namespace detail {
// The private heap's reserve, published by Init() for the inline Owns() (free()'s fast path).
extern uintptr_t g_base;
extern size_t g_size;
}  // namespace detail
inline bool Owns(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - detail::g_base < detail::g_size;
}
uintptr_t Base();
size_t Size();
void ResetAfterRestart();
void FlushThreadCache();  // the calling thread's cached blocks (of the private heap)

}  // namespace cairn::preload::heap
