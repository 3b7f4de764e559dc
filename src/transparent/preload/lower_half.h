// The lower half of a split process, as the preload library sees it (the C interface for the
// shims is lower_api.h, which states the contract). This header serves the rest of the
// library: the capture leaves the lower half out, the wrappers record what it creates.
//
// Contract:
//   - Inside() is a thread-local test (no atomics); a thread is inside while a shim has it in a
//     cairn_lower_enter() section, or for its whole life if it was started from inside.
//   - Memory: NoteMap()/NoteUnmap() keep a fixed table of the ranges mapped from inside
//     (4096 entries; beyond that the range is logged and saved like upper-half memory).
//     FilterMaps() drops every mapping that lies within a recorded range, so the image neither
//     describes nor saves it.
//   - Descriptors: NoteFd(fd, inside) marks / clears a descriptor (numbers < 65536);
//     IsLowerFd() is what the capture skips.
//   - Libraries: see cairn_lower_snapshot_libs / cairn_lower_reset_libs in lower_api.h. The
//     pristine copies live in mmap()ed upper-half memory, so they are part of every image.
//   - Everything here is async-signal-safe apart from the library snapshot, and allocates
//     nothing from glibc's heap.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "transparent/maps.h"
#include "transparent/preload/private_heap.h"

namespace cairn::preload::lower {

// Whether this process can have a lower half at all: CAIRN_LOWER_ROOTS is set (`cairn launch
// --mpi`). When not, the wrappers skip every other call here (the malloc fast path).
namespace detail {
extern std::atomic<int> g_possible;  // -1 not read yet, 0 no, 1 yes
bool ReadPossible();
}  // namespace detail
inline bool Possible() {
  const int v = detail::g_possible.load(std::memory_order_relaxed);
  return v < 0 ? detail::ReadPossible() : v != 0;
}

bool Inside();
// Marks the calling thread inside for good (a thread started from inside).
void MarkThreadLower();
// Whether a return address lies in a lower-half library's code: malloc & co. called from
// there allocate from the private heap (never saved); called from anywhere else (libc's own
// bookkeeping, the dynamic loader) they allocate from glibc's heap, which is saved, so that
// what libc and ld.so link into their global lists stays valid after a restart.
// Not while the lower half loads a library (BeginLoading/EndLoading around its dlopen): the
// constructors of what it loads allocate state that the library's pristine data (recorded
// right after loading) points to, so that must be saved.
bool CallerIsLower(const void* return_address);
void BeginLoading();
void EndLoading();

// Before the lower half is first initialized (its libraries' constructors at load time), an
// allocation from its code goes to the pristine arena, which the first snapshot copies and a
// restart brings back (lower_api.h). CAIRN_LOWER_ROOTS ("libmpi.so,libmpich.so", set by
// `cairn launch --mpi`) names the lower half's root libraries for this early phase.
bool PristinePhase(const void* return_address);
heap::Arena& PristineArena();

void NoteMap(const void* addr, size_t len);
void NoteUnmap(const void* addr, size_t len);
// At restart: the recorded ranges and descriptors were the old process's lower half, which
// the restart did not bring back; forgets them all (new ones are recorded from here on).
void ForgetOldProcess();
void FilterMaps(std::vector<transparent::MapRegion>* maps);

void NoteFd(int fd, bool inside);
bool IsLowerFd(int fd);

}  // namespace cairn::preload::lower
