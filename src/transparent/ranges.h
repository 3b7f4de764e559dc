// Sets of virtual address ranges: page runs of an image, pages written since a checkpoint,
// pages an incremental image inherits from its parent (image.h ParentRef).
//
// A range set is a vector of half-open ranges [start, end) in increasing address order,
// disjoint and non-empty ("normal"). The operations take and return normal sets.
#pragma once

#include <cstdint>
#include <vector>

namespace cairn::transparent {

struct AddressRange {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - start; }
  bool operator==(const AddressRange&) const = default;
};
using RangeSet = std::vector<AddressRange>;

// Sorts, merges overlapping and adjacent ranges, drops empty ones: any vector -> a normal set.
RangeSet NormalRanges(RangeSet ranges);
// a ∩ b, a − b, and the bytes a set covers.
RangeSet IntersectRanges(const RangeSet& a, const RangeSet& b);
RangeSet SubtractRanges(const RangeSet& a, const RangeSet& b);
uint64_t RangeBytes(const RangeSet& a);

}  // namespace cairn::transparent
