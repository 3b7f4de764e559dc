#include "pipeline/persist.h"

#include "common/log.h"
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

Persister::Persister(const Config& cfg, Env* env)
    : cfg_(cfg),
      env_(env),
      pacer_(static_cast<uint64_t>(cfg.backend_max_bandwidth) * 1000000ULL),
      scratch_(LevelKind::kScratch, cfg.scratch, env, cfg.scratch_fsync),
      persistent_(LevelKind::kPersistent, cfg.persistent.empty() ? "/nonexistent" : cfg.persistent,
                  env, true) {}

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

Status Persister::WriteScratch(const PersistRequest& r, Progress* p) const {
  uint64_t total = 0;
  for (const auto& reg : r.regions) {
    if (reg.offset + reg.size > r.staging_size || reg.offset + reg.size < reg.offset) {
      return Status::InvalidArgument("region " + std::to_string(reg.id) +
                                     " lies outside the staging area");
    }
    total += reg.size;
  }
  p->Enter(Stage::kScratch, total);
  auto write = [&]() -> Status {
    CAIRN_RETURN_IF_ERROR(scratch_.PrepareVersion(r.name, r.version));
    auto f = env_->NewWritableFile(scratch_.layout().RankFile(r.name, r.version, r.rank) +
                                   kTmpSuffix);
    if (!f.ok()) return f.status();
    format::CheckpointFileWriter w(std::move(f.value()), nullptr, r.name, r.rank, r.nranks,
                                   r.version, cfg_.chksum);
    w.SetProgress(&p->done);
    w.SetPacer(&pacer_);
    for (const auto& reg : r.regions) {
      const char* data = r.staging + reg.offset;
      CAIRN_RETURN_IF_ERROR(reg.hashed
                                ? w.AddBufferHashed(reg.kind, reg.id, data, reg.size, reg.hash)
                                : w.AddBuffer(reg.kind, reg.id, data, reg.size));
    }
    auto finals = FinalPaths(scratch_, r);
    for (size_t k = 0; k < r.files.size(); ++k) {
      const std::string tmp = finals[k + 1] + kTmpSuffix;
      auto d = format::DigestFile(env_, tmp);
      if (!d.ok()) return d.status().Annotate("routed file for '" + r.files[k] + "'");
      if (cfg_.scratch_fsync) CAIRN_RETURN_IF_ERROR(env_->SyncFile(tmp));
      w.AddFile(r.files[k], BaseName(finals[k + 1]), d.value().size, d.value().hash);
    }
    CAIRN_RETURN_IF_ERROR(w.Finish(cfg_.scratch_fsync, false));
    return scratch_.Publish(finals);
  };
  Status st = write();
  if (!st.ok()) RemoveTemporaries(scratch_, r);
  return st;
}

Status Persister::Transfer(const PersistRequest& r, Progress* p) const {
  if (!r.to_persistent || !has_persistent()) return Status::Ok();
  auto src = FinalPaths(scratch_, r);
  auto dst = FinalPaths(persistent_, r);
  uint64_t total = 0;
  for (const auto& s : src) {
    auto st = env_->Stat(s);
    if (st.ok()) total += st.value().size;
  }
  p->Enter(Stage::kPersistent, total);
  auto copy = [&]() -> Status {
    CAIRN_RETURN_IF_ERROR(persistent_.PrepareVersion(r.name, r.version));
    for (size_t i = 0; i < src.size(); ++i) {
      CAIRN_RETURN_IF_ERROR(
          persistent_.CopyFileIn(src[i], dst[i] + kTmpSuffix, &p->done, &pacer_));
    }
    return persistent_.Publish(dst);
  };
  Status st = copy();
  if (!st.ok()) RemoveTemporaries(persistent_, r);
  return st;
}

Status Persister::Retain(const PersistRequest& r) const {
  CAIRN_RETURN_IF_ERROR(
      scratch_.Retain(r.name, r.rank, cfg_.scratch_versions, false, r.safe_scratch));
  if (has_persistent()) {
    CAIRN_RETURN_IF_ERROR(persistent_.Retain(r.name, r.rank, cfg_.max_versions, r.rank == 0,
                                             r.safe_persistent));
  }
  return Status::Ok();
}

}  // namespace cairn::pipeline
