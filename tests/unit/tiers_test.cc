#include "storage/tiers.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

constexpr uint64_t MiB = 1 << 20;

TEST(Tiers, FitsOrUnlimited) {
  EXPECT_EQ(Decide(10 * MiB, {0, 999 * MiB, 0, 0}, true, 4e9, 1e9, 1e9).placement,
            Placement::kFast);
  EXPECT_EQ(Decide(10 * MiB, {100 * MiB, 90 * MiB, 0, 0}, true, 4e9, 1e9, 1e9).placement,
            Placement::kFast);
}

TEST(Tiers, EvictsFlushedVersionsFirst) {
  Decision d = Decide(30 * MiB, {100 * MiB, 90 * MiB, 40 * MiB, 0}, true, 4e9, 1e9, 1e9);
  EXPECT_EQ(d.placement, Placement::kEvictThenFast);
  EXPECT_EQ(d.evict_bytes, 20 * MiB);
  EXPECT_EQ(d.tier, 0u);
}

TEST(Tiers, WaitsWhenTheFlushIsFasterThanTheSpillTier) {
  // 60 MiB missing, flushing at 2 GB/s (30 ms) vs spilling 64 MiB at 100 MB/s (0.67 s).
  Decision d = Decide(64 * MiB, {100 * MiB, 96 * MiB, 0, 96 * MiB}, true, 4e9, 1e8, 2e9);
  EXPECT_EQ(d.placement, Placement::kWaitThenFast);
  EXPECT_LT(d.est_wait_s, d.est_spill_s);
}

TEST(Tiers, SpillsWhenTheFlushIsSlow) {
  // Same, but the flush runs at 50 MB/s and the spill tier at 2 GB/s.
  Decision d = Decide(64 * MiB, {100 * MiB, 96 * MiB, 0, 96 * MiB}, true, 4e9, 2e9, 5e7);
  EXPECT_EQ(d.placement, Placement::kSpill);
  EXPECT_EQ(d.tier, 1u);
  EXPECT_GT(d.est_wait_s, d.est_spill_s);
}

TEST(Tiers, SpillsWhenWaitingCannotHelp) {
  EXPECT_EQ(Decide(64 * MiB, {100 * MiB, 96 * MiB, 0, 0}, true, 4e9, 1e6, 1e12).placement,
            Placement::kSpill);
  EXPECT_EQ(Decide(200 * MiB, {100 * MiB, 0, 0, 0}, true, 4e9, 1e6, 1e12).placement,
            Placement::kSpill);  // larger than the tier itself
}

TEST(Tiers, StatsAverageMeasurements) {
  TierStats s;
  EXPECT_EQ(s.Get(TierStats::kFlush), 1e9);
  s.Record(TierStats::kFlush, 100 * MiB, 1.0);
  EXPECT_NEAR(s.Get(TierStats::kFlush), 100.0 * MiB, 1);
  s.Record(TierStats::kFlush, 200 * MiB, 1.0);
  EXPECT_NEAR(s.Get(TierStats::kFlush), 130.0 * MiB, 1);
  s.Record(TierStats::kFlush, 10, 1.0);  // ignored: too small
  EXPECT_NEAR(s.Get(TierStats::kFlush), 130.0 * MiB, 1);
}

}  // namespace
}  // namespace cairn
