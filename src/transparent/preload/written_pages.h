// Which pages of this process were written since the last checkpoint: the input of an
// incremental image (image.h ParentRef). Linux >= 6.7 only: userfaultfd in asynchronous
// write-protect mode (UFFD_FEATURE_WP_ASYNC) marks every tracked page write-protected; a
// write clears the mark in the kernel without any fault reaching us, and the PAGEMAP_SCAN
// ioctl of /proc/self/pagemap reports the pages written and protects them again in one
// call (Documentation/admin-guide/mm/pagemap.rst).
//
// Contract:
//   - Called by the checkpoint thread only, with the user threads parked (capture.h).
//   - Available() opens the userfaultfd once (UFFD_USER_MODE_ONLY, so no privilege is
//     needed); false, with the reason in why(), when the kernel lacks it (older than 6.7,
//     userfaultfd compiled out or forbidden). Fd() is that descriptor (-1 before), which a
//     checkpoint must not save.
//   - Take(maps) is one snapshot: for each region given, the pages written since the
//     previous Take of the same mapping (present or not: a page zapped since counts as
//     written), and the region is protected again; a region not tracked yet (mapped since,
//     moved by mremap, or never given before) has no entry (all of it counts as written)
//     and is registered now. Failures to register a region leave it untracked (it is then
//     saved whole each time), never fail the checkpoint.
//   - Forget(false) after a restart: the registrations and the descriptor belonged to the
//     process that made them (not closed: its number may be another file now). Forget(true)
//     in a forked child, which has a copy of the descriptor: it is closed (it acts on the
//     parent's memory) and the child opens its own at its first checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "transparent/maps.h"
#include "transparent/ranges.h"

namespace cairn::preload::written {

bool Available();
const char* why();
int Fd();

// Region start -> the pages of [start, end) written since the last snapshot (keyed by start;
// the end must match the region's for the entry to apply).
struct Snapshot {
  struct Entry {
    uint64_t end = 0;
    transparent::RangeSet written;
  };
  std::map<uint64_t, Entry> regions;
};

Snapshot Take(const std::vector<transparent::MapRegion>& maps);
void Forget(bool close_descriptor);

}  // namespace cairn::preload::written
