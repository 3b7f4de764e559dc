// Persister: the stages that make a staged checkpoint durable, each one job,
// run by the async backend for one rank's checkpoint (and usable in-process):
//
//   1. WriteScratch  read the regions from the staging area, checksum (XXH3) and
//                    optionally compress each (scratch_compress, after a byte
//                    shuffle), write r<rank>.ckpt.tmp, hash the routed files, fsync,
//                    publish by rename. When it returns the staging area is free.
//   2. Transfer      copy the committed scratch files to persistent (re-encoded when
//                    `compress` differs from the scratch encoding), fsync, publish.
//   3. Retain        apply scratch_versions / max_versions, never removing a version
//                    at or above the newest one committed on every rank.
//
// Each stage reports bytes done/total through Progress for `cairn status`.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/pacer.h"
#include "config/config.h"
#include "env/env.h"
#include "format/format.h"
#include "storage/level.h"
#include "storage/tiers.h"

namespace cairn::pipeline {

struct StagedRegion {
  format::EntryKind kind = format::EntryKind::kMemory;
  int32_t id = 0;
  uint64_t offset = 0;  // in the staging area
  uint64_t size = 0;
  bool hashed = false;  // the client computed `hash` (XXH3-64) while staging
  uint64_t hash = 0;
};

struct PersistRequest {
  std::string name;
  long long version = 0;
  int rank = 0;
  int nranks = 0;  // 0: independent mode
  bool to_persistent = false;
  long long safe_scratch = -1;     // newest version committed on scratch on every rank
  long long safe_persistent = -1;  // the same on persistent
  std::vector<StagedRegion> regions;
  std::vector<std::string> files;  // routed originals; k-th is at RoutedFile(k).tmp
  const char* staging = nullptr;
  uint64_t staging_size = 0;
};

enum class Stage : int { kQueued = 0, kScratch, kPersistent, kRetention, kDone };
const char* StageName(Stage s);

struct Progress {
  std::atomic<int> stage{static_cast<int>(Stage::kQueued)};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
  void Enter(Stage s, uint64_t total_bytes) {
    done = 0;
    total = total_bytes;
    stage = static_cast<int>(s);
  }
};

class Persister {
 public:
  Persister(const Config& cfg, Env* env);
  // Writes to the scratch tier chosen by the placement policy (storage/tiers.h) and
  // returns its index in *tier (0 = `scratch`, then the `scratch_spill` directories).
  Status WriteScratch(const PersistRequest& r, Progress* p, size_t* tier);
  Status Transfer(const PersistRequest& r, size_t tier, Progress* p);
  Status Retain(const PersistRequest& r) const;
  bool has_persistent() const { return !cfg_.persistent.empty(); }

 private:
  std::vector<std::string> FinalPaths(const Level& level, const PersistRequest& r) const;
  void RemoveTemporaries(const Level& level, const PersistRequest& r) const;
  // The files on tier 0; for rank files, whether they are being flushed or are already
  // safe on persistent (evictable).
  struct FastFile {
    std::string path, name;
    long long version = -1;
    int rank = -1;  // -1: not a rank file
    uint64_t size = 0;
    bool flushing = false, on_persistent = false;
  };
  std::vector<FastFile> ScanFastTier();
  // Tier 0's occupancy: bytes used, evictable (already on persistent), being flushed.
  TierState FastTierState();
  // Removes the oldest versions of tier 0 that are safe on persistent until `bytes` are
  // freed; returns the bytes freed.
  uint64_t Evict(uint64_t bytes);
  size_t Place(const PersistRequest& r, uint64_t size);

  Config cfg_;
  Env* env_;
  mutable Pacer pacer_;  // backend_max_bandwidth, shared by every job of this process

 public:
  // The pacer of every job of this process (also the flushes of transparent images).
  Pacer* pacer() const { return &pacer_; }
  std::vector<Level> tiers_;  // tiers_[0] is `scratch`
  Level persistent_;
  TierStats stats_;
  std::mutex mu_;
  std::map<std::string, uint64_t> flushing_;  // tier-0 rank file -> bytes, during Transfer
};

}  // namespace cairn::pipeline
