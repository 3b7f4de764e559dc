// Placement of a checkpoint on heterogeneous node-local storage (VeloC's
// multi-level-aware policy). The scratch level is a list of tiers, fastest first:
// tier 0 = `scratch` (capacity scratch_capacity, 0 = unlimited), then the
// `scratch_spill` directories. When a checkpoint does not fit in tier 0:
//   - versions on tier 0 that are already on persistent storage are evicted (their
//     persistent copy remains): free and immediate, so always preferred;
//   - otherwise either WAIT for flushes in progress to make them evictable, costing
//       (missing bytes / flush bandwidth) + size / tier-0 bandwidth,
//     or SPILL to the next tier, costing size / that tier's bandwidth,
//     whichever is estimated faster, with bandwidths measured from earlier writes.
// Decide() is pure; TierStats keeps the measured bandwidths (thread-safe).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace cairn {

struct TierState {
  uint64_t capacity = 0;   // 0: unlimited
  uint64_t used = 0;       // bytes of checkpoint files on it
  uint64_t evictable = 0;  // of `used`: versions already safe on persistent
  uint64_t flushing = 0;   // of `used`: versions being flushed right now
};

enum class Placement { kFast, kEvictThenFast, kWaitThenFast, kSpill };
const char* PlacementName(Placement p);

struct Decision {
  Placement placement = Placement::kFast;
  size_t tier = 0;              // where the checkpoint goes
  uint64_t evict_bytes = 0;     // to evict from tier 0 first
  double est_wait_s = 0, est_spill_s = 0;
};

// Bandwidths in bytes/s: of tier 0, of the spill tier, and of flushing to persistent.
Decision Decide(uint64_t size, const TierState& fast, bool have_spill, double bw_fast,
                double bw_spill, double bw_flush);

// Measured bandwidths (exponentially weighted), with conservative priors until the
// first measurement: tmpfs-like 4 GB/s for tier 0, 1 GB/s for spill tiers and flushes.
class TierStats {
 public:
  enum Kind { kFast = 0, kSpill = 1, kFlush = 2 };
  void Record(Kind k, uint64_t bytes, double seconds);
  double Get(Kind k) const;

 private:
  mutable std::mutex mu_;
  double bw_[3] = {4e9, 1e9, 1e9};
  bool measured_[3] = {false, false, false};
};

}  // namespace cairn
