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
//     1 MiB and more give their pages back (MADV_DONTNEED). Thread-safe (a spin lock).
//   - Its contents are never saved in an image (capture skips [Base(), Base() + Size())):
//     after a restart the region is zero and ResetAfterRestart() empties the heap. Library
//     state that lives across a restart must therefore not point into it (see restart.cc,
//     which resets the few such objects).
//   - Alloc returns nullptr when the reserve is exhausted or the size is too large; never
//     aborts. Free(nullptr) is a no-op. Owns(p) tells whether p came from here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cairn::preload::heap {

// 16 GiB of address space (MAP_NORESERVE): also the heap of a lower half (lower_half.h), e.g. an
// MPI library and its buffers.
inline constexpr size_t kReserveBytes = size_t{16} << 30;

bool Init();
void* Alloc(size_t n);
void* AllocAligned(size_t alignment, size_t n);  // alignment: a power of two
void* Realloc(void* p, size_t n);                // p must be Owns() or nullptr
void Free(void* p);
size_t UsableSize(const void* p);
bool Owns(const void* p);
uintptr_t Base();
size_t Size();
void ResetAfterRestart();

}  // namespace cairn::preload::heap
