#include "pipeline/persist.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/log.h"
#include "format/reader.h"
#include "format/writer.h"

namespace cairn::pipeline {

const char* StageName(Stage s) {
  switch (s) {
    case Stage::kQueued: return "queued";
    case Stage::kScratch: return "scratch";
    case Stage::kPersistent: return "persistent";
    case Stage::kRetention: return "retention";
    case Stage::kDone: return "done";
  }
  return "unknown";
}

namespace {

// The encoding of one level: codec from `compress` / `scratch_compress`, with the
// 8-byte shuffle first when `shuffle` is on (it is what makes float64 data compress).
format::EncodeOptions EncodingFor(const std::string& codec, bool shuffle) {
  format::EncodeOptions o;
  if (codec == "zstd") o.codec = format::Codec::kZstd;
  if (codec == "lz4") o.codec = format::Codec::kLz4;
  if (o.codec != format::Codec::kNone && shuffle) o.filter = format::Filter::kShuffle8;
  return o;
}

bool SameEncoding(const format::EncodeOptions& a, const format::EncodeOptions& b) {
  return a.codec == b.codec && a.filter == b.filter;
}

}  // namespace

Persister::Persister(const Config& cfg, Env* env)
    : cfg_(cfg),
      env_(env),
      pacer_(static_cast<uint64_t>(cfg.backend_max_bandwidth) * 1000000ULL),
      persistent_(LevelKind::kPersistent, cfg.persistent.empty() ? "/nonexistent" : cfg.persistent,
                  env, true) {
  tiers_.emplace_back(LevelKind::kScratch, cfg.scratch, env, cfg.scratch_fsync);
  for (const auto& d : cfg.scratch_spill) {
    tiers_.emplace_back(LevelKind::kScratch, d, env, cfg.scratch_fsync);
  }
}

std::vector<Persister::FastFile> Persister::ScanFastTier() {
  std::vector<FastFile> out;
  const Level& fast = tiers_[0];
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& name : fast.ListNames()) {
    auto vdirs = env_->ListDir(fast.layout().NameDir(name));
    if (!vdirs.ok()) continue;
    for (const auto& vd : vdirs.value()) {
      auto v = Layout::ParseVersionDir(vd);
      if (!v) continue;
      const std::string dir = fast.layout().VersionDir(name, *v);
      auto files = env_->ListDir(dir);
      if (!files.ok()) continue;
      for (const auto& f : files.value()) {
        FastFile ff;
        ff.path = JoinPath(dir, f);
        auto st = env_->Stat(ff.path);
        if (!st.ok()) continue;
        ff.size = st.value().size;
        auto rank = Layout::ParseRankFile(f);
        if (rank) {
          ff.name = name;
          ff.version = *v;
          ff.rank = *rank;
          ff.flushing = flushing_.count(ff.path) > 0;
          ff.on_persistent = !ff.flushing && has_persistent() &&
                             env_->Exists(persistent_.layout().RankFile(name, *v, *rank));
        }
        out.push_back(std::move(ff));
      }
    }
  }
  return out;
}

TierState Persister::FastTierState() {
  TierState t;
  t.capacity = cfg_.scratch_capacity;
  for (const FastFile& f : ScanFastTier()) {
    t.used += f.size;
    if (f.flushing) t.flushing += f.size;
    if (f.on_persistent) t.evictable += f.size;
  }
  return t;
}

uint64_t Persister::Evict(uint64_t bytes) {
  const Level& fast = tiers_[0];
  std::vector<FastFile> victims;
  for (FastFile& f : ScanFastTier()) {
    if (f.on_persistent) victims.push_back(std::move(f));
  }
  std::sort(victims.begin(), victims.end(),
            [](const FastFile& a, const FastFile& b) { return a.version < b.version; });
  uint64_t freed = 0;
  for (const auto& v : victims) {
    if (freed >= bytes) break;
    if (fast.RemoveVersion(v.name, v.version, v.rank, false).ok()) {
      log::Info("evicted '", v.name, "' version ", v.version, " rank ", v.rank,
                " from the fast tier (it is on persistent)");
      freed += v.size;
    }
  }
  return freed;
}

size_t Persister::Place(const PersistRequest& r, uint64_t size) {
  if (cfg_.scratch_capacity == 0) return 0;
  // Routed files were written by the application on tier 0: the checkpoint stays there.
  const bool may_spill = tiers_.size() > 1 && r.files.empty();
  TierState fast = FastTierState();
  Decision d = Decide(size, fast, may_spill, stats_.Get(TierStats::kFast),
                      stats_.Get(TierStats::kSpill), stats_.Get(TierStats::kFlush));
  const std::string what = "'" + r.name + "' version " + std::to_string(r.version) + " rank " +
                           std::to_string(r.rank);
  if (d.placement == Placement::kWaitThenFast) {
    // Wait for the flushes in progress, then evict what they made safe.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      fast = FastTierState();
      if (fast.evictable >= d.evict_bytes || fast.flushing == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (d.placement == Placement::kEvictThenFast || d.placement == Placement::kWaitThenFast) {
    Evict(d.evict_bytes);
  }
  log::Info(what, ": ", PlacementName(d.placement), " (", size, " bytes; tier 0 holds ", fast.used,
            " of ", fast.capacity, ", est. wait ", d.est_wait_s, " s, spill ", d.est_spill_s, " s)");
  return d.tier;
}

std::vector<std::string> Persister::FinalPaths(const Level& level, const PersistRequest& r) const {
  std::vector<std::string> out{level.layout().RankFile(r.name, r.version, r.rank)};
  for (size_t k = 0; k < r.files.size(); ++k) {
    out.push_back(level.layout().RoutedFile(r.name, r.version, r.rank, static_cast<int>(k)));
  }
  return out;
}

void Persister::RemoveTemporaries(const Level& level, const PersistRequest& r) const {
  for (const auto& f : FinalPaths(level, r)) (void)env_->RemoveFile(f + kTmpSuffix);
  (void)env_->RemoveDir(level.layout().VersionDir(r.name, r.version));
}

Status Persister::WriteScratch(const PersistRequest& r, Progress* p, size_t* tier) {
  uint64_t total = 0;
  for (const auto& reg : r.regions) {
    if (reg.offset + reg.size > r.staging_size || reg.offset + reg.size < reg.offset) {
      return Status::InvalidArgument("region " + std::to_string(reg.id) +
                                     " lies outside the staging area");
    }
    total += reg.size;
  }
  p->Enter(Stage::kScratch, total);
  *tier = Place(r, total);
  const Level& level = tiers_[*tier];
  const auto t0 = std::chrono::steady_clock::now();
  auto write = [&]() -> Status {
    CAIRN_RETURN_IF_ERROR(level.PrepareVersion(r.name, r.version));
    auto f = env_->NewWritableFile(level.layout().RankFile(r.name, r.version, r.rank) +
                                   kTmpSuffix);
    if (!f.ok()) return f.status();
    format::CheckpointFileWriter w(std::move(f.value()), nullptr, r.name, r.rank, r.nranks,
                                   r.version, cfg_.chksum);
    w.SetProgress(&p->done);
    w.SetPacer(&pacer_);
    const format::EncodeOptions enc = EncodingFor(cfg_.scratch_compress, cfg_.shuffle);
    const bool raw = enc.codec == format::Codec::kNone;
    for (const auto& reg : r.regions) {
      const char* data = r.staging + reg.offset;
      CAIRN_RETURN_IF_ERROR(reg.hashed && raw
                                ? w.AddBufferHashed(reg.kind, reg.id, data, reg.size, reg.hash)
                                : w.AddEncoded(reg.kind, reg.id, data, reg.size, enc));
    }
    auto finals = FinalPaths(level, r);
    for (size_t k = 0; k < r.files.size(); ++k) {
      const std::string tmp = finals[k + 1] + kTmpSuffix;
      auto d = format::DigestFile(env_, tmp);
      if (!d.ok()) return d.status().Annotate("routed file for '" + r.files[k] + "'");
      if (cfg_.scratch_fsync) CAIRN_RETURN_IF_ERROR(env_->SyncFile(tmp));
      w.AddFile(r.files[k], BaseName(finals[k + 1]), d.value().size, d.value().hash);
    }
    CAIRN_RETURN_IF_ERROR(w.Finish(cfg_.scratch_fsync, false));
    return level.Publish(finals);
  };
  Status st = write();
  if (!st.ok()) {
    RemoveTemporaries(level, r);
  } else {
    stats_.Record(*tier == 0 ? TierStats::kFast : TierStats::kSpill, total,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return st;
}

Status Persister::Transfer(const PersistRequest& r, size_t tier, Progress* p) {
  if (!r.to_persistent || !has_persistent()) return Status::Ok();
  auto src = FinalPaths(tiers_[tier], r);
  auto dst = FinalPaths(persistent_, r);
  uint64_t total = 0;
  for (const auto& s : src) {
    auto st = env_->Stat(s);
    if (st.ok()) total += st.value().size;
  }
  p->Enter(Stage::kPersistent, total);
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> g(mu_);
    flushing_[src[0]] = total;
  }
  const format::EncodeOptions scratch_enc = EncodingFor(cfg_.scratch_compress, cfg_.shuffle);
  const format::EncodeOptions pers_enc = EncodingFor(cfg_.compress, cfg_.shuffle);
  auto copy = [&]() -> Status {
    CAIRN_RETURN_IF_ERROR(persistent_.PrepareVersion(r.name, r.version));
    if (SameEncoding(scratch_enc, pers_enc)) {
      for (size_t i = 0; i < src.size(); ++i) {
        CAIRN_RETURN_IF_ERROR(
            persistent_.CopyFileIn(src[i], dst[i] + kTmpSuffix, &p->done, &pacer_));
      }
      return persistent_.Publish(dst);
    }
    // Re-encode for persistent: every entry is read back (verifying its checksum, so a
    // damaged scratch copy is never propagated) and written with the persistent codec.
    for (size_t i = 1; i < src.size(); ++i) {
      CAIRN_RETURN_IF_ERROR(persistent_.CopyFileIn(src[i], dst[i] + kTmpSuffix, nullptr, &pacer_));
    }
    auto reader = format::CheckpointFileReader::Open(env_, src[0]);
    if (!reader.ok()) return reader.status();
    const format::Manifest& m = reader.value()->manifest();
    auto f = env_->NewWritableFile(dst[0] + kTmpSuffix);
    if (!f.ok()) return f.status();
    format::CheckpointFileWriter w(std::move(f.value()), nullptr, m.name, m.header.rank,
                                   m.header.nranks, m.header.version, cfg_.chksum);
    w.SetProgress(&p->done);
    w.SetPacer(&pacer_);
    std::string buf;
    for (const format::Entry& e : m.entries) {
      if (e.kind == format::EntryKind::kFile) {
        w.AddFile(e.name, e.stored, e.size, e.hash);
        continue;
      }
      buf.resize(e.size);
      CAIRN_RETURN_IF_ERROR(reader.value()->ReadEntry(e, buf.data()));
      CAIRN_RETURN_IF_ERROR(w.AddEncoded(e.kind, e.id, buf.data(), e.size, pers_enc));
    }
    CAIRN_RETURN_IF_ERROR(w.Finish(true, false));
    return persistent_.Publish(dst);
  };
  Status st = copy();
  {
    std::lock_guard<std::mutex> g(mu_);
    flushing_.erase(src[0]);
  }
  if (!st.ok()) {
    RemoveTemporaries(persistent_, r);
  } else {
    stats_.Record(TierStats::kFlush, total,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return st;
}

Status Persister::Retain(const PersistRequest& r) const {
  for (const Level& t : tiers_) {
    CAIRN_RETURN_IF_ERROR(t.Retain(r.name, r.rank, cfg_.scratch_versions, false, r.safe_scratch));
  }
  if (has_persistent()) {
    CAIRN_RETURN_IF_ERROR(persistent_.Retain(r.name, r.rank, cfg_.max_versions, r.rank == 0,
                                             r.safe_persistent));
  }
  return Status::Ok();
}

}  // namespace cairn::pipeline
