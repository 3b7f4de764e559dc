#include "transparent/ranges.h"

#include <algorithm>

namespace cairn::transparent {

RangeSet NormalRanges(RangeSet ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const AddressRange& x, const AddressRange& y) {
    return x.start < y.start || (x.start == y.start && x.end < y.end);
  });
  RangeSet out;
  for (const AddressRange& r : ranges) {
    if (r.start >= r.end) continue;
    if (!out.empty() && r.start <= out.back().end) {
      out.back().end = std::max(out.back().end, r.end);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

RangeSet IntersectRanges(const RangeSet& a, const RangeSet& b) {
  RangeSet out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const uint64_t lo = std::max(a[i].start, b[j].start);
    const uint64_t hi = std::min(a[i].end, b[j].end);
    if (lo < hi) out.push_back({lo, hi});
    if (a[i].end < b[j].end) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

RangeSet SubtractRanges(const RangeSet& a, const RangeSet& b) {
  RangeSet out;
  size_t j = 0;
  for (const AddressRange& r : a) {
    uint64_t at = r.start;
    while (j < b.size() && b[j].end <= at) ++j;
    for (size_t k = j; k < b.size() && b[k].start < r.end; ++k) {
      if (b[k].start > at) out.push_back({at, b[k].start});
      at = std::max(at, b[k].end);
      if (at >= r.end) break;
    }
    if (at < r.end) out.push_back({at, r.end});
  }
  return out;
}

uint64_t RangeBytes(const RangeSet& a) {
  uint64_t n = 0;
  for (const AddressRange& r : a) n += r.size();
  return n;
}

}  // namespace cairn::transparent
