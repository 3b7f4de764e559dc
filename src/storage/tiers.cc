#include "storage/tiers.h"

namespace cairn {

const char* PlacementName(Placement p) {
  switch (p) {
    case Placement::kFast: return "fast tier";
    case Placement::kEvictThenFast: return "fast tier after evicting flushed versions";
    case Placement::kWaitThenFast: return "fast tier after waiting for a flush";
    case Placement::kSpill: return "spill tier";
  }
  return "unknown";
}

Decision Decide(uint64_t size, const TierState& fast, bool have_spill, double bw_fast,
                double bw_spill, double bw_flush) {
  Decision d;
  if (fast.capacity == 0 || fast.used + size <= fast.capacity) return d;
  const uint64_t free = fast.used < fast.capacity ? fast.capacity - fast.used : 0;
  const uint64_t missing = size - free;  // size > free here
  if (size <= fast.capacity && fast.evictable >= missing) {
    d.placement = Placement::kEvictThenFast;
    d.evict_bytes = missing;
    return d;
  }
  if (!have_spill) {
    // Nowhere else to go: wait if the flushes can make room, else try anyway (the
    // write fails cleanly with "no space" if the tier is really full).
    d.placement = size <= fast.capacity ? Placement::kWaitThenFast : Placement::kFast;
    d.evict_bytes = std::min(missing, fast.evictable + fast.flushing);
    return d;
  }
  const uint64_t after_flush = fast.evictable + fast.flushing;
  d.est_spill_s = static_cast<double>(size) / bw_spill;
  if (size > fast.capacity || after_flush < missing) {
    d.est_wait_s = -1;  // waiting cannot make room
    d.placement = Placement::kSpill;
    d.tier = 1;
    return d;
  }
  d.est_wait_s = static_cast<double>(missing - fast.evictable) / bw_flush +
                 static_cast<double>(size) / bw_fast;
  if (d.est_wait_s < d.est_spill_s) {
    d.placement = Placement::kWaitThenFast;
    d.evict_bytes = missing;
  } else {
    d.placement = Placement::kSpill;
    d.tier = 1;
  }
  return d;
}

void TierStats::Record(Kind k, uint64_t bytes, double seconds) {
  if (bytes < (1u << 20) || seconds <= 0) return;  // too small to say anything
  double bw = static_cast<double>(bytes) / seconds;
  std::lock_guard<std::mutex> g(mu_);
  bw_[k] = measured_[k] ? 0.7 * bw_[k] + 0.3 * bw : bw;
  measured_[k] = true;
}

double TierStats::Get(Kind k) const {
  std::lock_guard<std::mutex> g(mu_);
  return bw_[k];
}

}  // namespace cairn
