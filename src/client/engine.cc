#include "client/engine.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

#include "common/log.h"
#include "common/names.h"

namespace cairn {

namespace {

std::string Describe(const std::string& name, long long version) {
  return "checkpoint '" + name + "' version " + std::to_string(version);
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(std::unique_ptr<Comm> comm,
                                               const std::string& cfg_path, Env* env) {
  if (comm == nullptr) return Status::InvalidArgument("no communicator");
  log::SetTag("rank " + std::to_string(comm->rank()));
  auto cfg = LoadConfig(cfg_path);
  if (!cfg.ok()) {
    (void)comm->AllTrue(false);  // the other ranks must not wait for this one
    return cfg.status();
  }
  if (cfg.value().mode == Mode::kSync &&
      (cfg.value().compress != "none" || cfg.value().scratch_compress != "none" ||
       cfg.value().scratch_capacity != 0)) {
    log::Warn(
        "compress, scratch_compress and scratch_capacity apply to mode = async only; "
        "this synchronous client writes uncompressed to scratch");
  }
  std::unique_ptr<Engine> e(new Engine(std::move(cfg.value()), std::move(comm), env));
  // Every rank prepares its directories; in collective mode the ranks agree so that
  // one rank's unwritable directory fails Init everywhere instead of hanging later.
  Status st = e->scratch_.Prepare();
  if (st.ok() && e->persistent_) st = e->persistent_->Prepare();
  if (st.ok()) st = e->scratch_.RemoveTemporaries(e->rank());
  if (st.ok() && e->persistent_) st = e->persistent_->RemoveTemporaries(e->rank());
  for (const Level& t : e->spill_) {
    if (st.ok()) st = t.Prepare();
    if (st.ok()) st = t.RemoveTemporaries(e->rank());
  }
  if (e->cfg_.ec_scheme != "none") {
    if (!e->comm_->collective()) {
      log::Warn("ec_scheme = ", e->cfg_.ec_scheme,
                " needs collective mode (VELOC_Init with an MPI "
                "communicator); this independent client keeps L1 and L3 only");
    } else {
      // Collective: every rank runs it, whatever happened above, to stay in step.
      e->l2_data_ = std::make_unique<redundancy::RankFiles>(env, &e->scratch_, e->comm_->rank(),
                                                            e->cfg_.scratch_fsync);
      auto l2 =
          redundancy::RedundancyLevel::Create(e->cfg_, e->comm_.get(), env, e->l2_data_.get());
      if (l2.ok()) {
        e->l2_ = std::move(l2.value());
      } else if (st.ok()) {
        st = l2.status();
      }
    }
  }
  if (st.ok() && e->cfg_.mode == Mode::kAsync) {
    auto ch = AsyncChannel::Open(e->cfg_, e->rank(), e->comm_->collective() ? e->size() : 0);
    if (ch.ok()) {
      e->async_ = std::move(ch.value());
      Engine* raw = e.get();
      e->async_->SetOnDone([raw](const std::string& n, long long v) {
        raw->policy_->OnDurable(n, v);
        raw->Notify(n, v);
      });
    } else {
      st = ch.status();
    }
  }
  auto all = e->comm_->AllTrue(st.ok());
  if (!st.ok()) return st;
  if (!all.ok()) return all.status();
  if (!all.value()) return Status::Unavailable("initialization failed on another rank");
  log::Debug("initialized: ", e->size(), " rank(s), scratch ", e->cfg_.scratch,
             e->persistent_ ? ", persistent " + e->cfg_.persistent : std::string(""));
  if (e->job_active_) {
    const PolicyOptions& o = e->policy_->options();
    log::Info("job control: end time ",
              o.end_time ? std::to_string(*o.end_time) : std::string("none"), ", control file ",
              o.control.empty() ? std::string("none (read by rank 0)") : o.control,
              o.write_ack ? ", this client writes the ack" : "");
  }
  return e;
}

Engine::Engine(Config cfg, std::unique_ptr<Comm> comm, Env* env)
    : cfg_(std::move(cfg)),
      comm_(std::move(comm)),
      env_(env),
      scratch_(LevelKind::kScratch, cfg_.scratch, env, cfg_.scratch_fsync) {
  if (!cfg_.persistent.empty()) {
    persistent_.emplace(LevelKind::kPersistent, cfg_.persistent, env, /*sync=*/true);
  }
  for (const auto& d : cfg_.scratch_spill) {
    spill_.emplace_back(LevelKind::kScratch, d, env, cfg_.scratch_fsync);
  }
  PolicyOptions o;
  o.interval = cfg_.checkpoint_interval;
  o.mtbf = cfg_.mtbf;
  o.end_margin = cfg_.job_end_margin;
  ReadJobEnvironment(&o);
  job_active_ = !o.control.empty() || o.end_time.has_value();
  // One reader of the control file and one writer of the ack per job: rank 0 (the file
  // may be on a node-local directory of the first node). The other ranks learn of a
  // request through need_checkpoint's agreement.
  if (comm_->collective() && comm_->rank() != 0) o.control.clear();
  // Collective async mode: rank 0's backend committing is not the job's; the ack waits for
  // the agreement in should_exit or Finalize.
  o.write_ack = comm_->rank() == 0 && !(comm_->collective() && cfg_.mode == Mode::kAsync);
  policy_ = std::make_unique<CheckpointPolicy>(std::move(o), env, PolicyClock::Default());
}

Status Engine::CheckUsable() {
  if (finalized_) return Status::FailedPrecondition("cairn client is finalized");
  JoinRetention();
  return Status::Ok();
}

void Engine::JoinRetention() {
  if (retention_.joinable()) retention_.join();
}

Engine::~Engine() { JoinRetention(); }

Status Engine::CheckName(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  return ValidateName(name);
}

Status Engine::Finalize(bool drain) {
  JoinRetention();
  if (finalized_) return Status::Ok();
  if (pending_) {
    log::Warn("finalize with ", Describe(pending_->name, pending_->version),
              " still open: it is discarded");
    pending_->writer.reset();  // closes the files
    RemoveTemporaries(scratch_, *pending_);
    if (persistent_) RemoveTemporaries(*persistent_, *pending_);
    pending_.reset();
  }
  Status result;
  if (async_ != nullptr) {
    if (drain) {
      result = async_->WaitAll();
      // Every submitted version is now durable (reported to the policy) or failed.
      policy_->OnOutstandingFailed();
      if (job_active_ && comm_->collective()) {
        auto agreed = AgreeExit();  // collective, like the rest of a draining Finalize
        if (!agreed.ok() && result.ok()) result = agreed.status();
      }
    }
    if (drain && deferred_l2_) {  // Finalize is collective: encode the last version
      Status l2 = EncodeRedundancy(deferred_l2_->name, deferred_l2_->version, deferred_l2_->seq);
      if (result.ok()) result = l2;
    }
    deferred_l2_.reset();
    async_.reset();  // says BYE; the backend finishes what it accepted in any case
  }
  restoring_.reset();
  verified_.clear();
  finalized_ = true;
  return result;
}

// ---------------------------------------------------------------- regions

Status Engine::Protect(int id, void* ptr, size_t count, size_t base_size,
                       const std::string& group) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!group.empty()) CAIRN_RETURN_IF_ERROR(ValidateName(group));
  if (ptr == nullptr && count * base_size > 0) {
    return Status::InvalidArgument("region " + std::to_string(id) + ": null pointer");
  }
  if (base_size != 0 && count > std::numeric_limits<size_t>::max() / base_size) {
    return Status::InvalidArgument("region " + std::to_string(id) + ": size overflows");
  }
  Region r;
  r.ptr = ptr != nullptr ? ptr : reinterpret_cast<void*>(alignof(max_align_t));
  r.size = count * base_size;
  regions_.Put(group, id, std::move(r));
  return Status::Ok();
}

Status Engine::ProtectSerialized(int id, Serializer ser, Deserializer deser,
                                 const std::string& group) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!group.empty()) CAIRN_RETURN_IF_ERROR(ValidateName(group));
  if (!ser || !deser) {
    return Status::InvalidArgument("region " + std::to_string(id) +
                                   ": serializer and deserializer are both required");
  }
  Region r;
  r.ser = std::move(ser);
  r.deser = std::move(deser);
  regions_.Put(group, id, std::move(r));
  return Status::Ok();
}

Status Engine::Unprotect(int id, const std::string& group) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!regions_.Erase(group, id)) {
    return Status::NotFound("region " + std::to_string(id) + " is not protected" +
                            (group.empty() ? std::string() : " in group '" + group + "'"));
  }
  return Status::Ok();
}

Status Engine::ClearGroup(const std::string& group) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  regions_.ClearGroup(group);
  return Status::Ok();
}

Status Engine::ClearAll() {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  regions_.ClearAll();
  return Status::Ok();
}

void Engine::Notify(const std::string& name, long long version) {
  for (const auto& fn : observers_) {
    try {
      fn(name, version);
    } catch (...) {
      log::Warn("an observer threw for ", Describe(name, version), "; ignored");
    }
  }
}

Status Engine::RegisterObserver(int type, Observer fn, bool add) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (type != 0) return Status::InvalidArgument("unknown observer type " + std::to_string(type));
  if (!fn) return Status::InvalidArgument("observer is empty");
  if (!add) observers_.clear();  // VeloC keeps one observer per type: a new one replaces it
  observers_.push_back(std::move(fn));
  return Status::Ok();
}

// ---------------------------------------------------------------- files

Result<std::string> Engine::RouteFile(const std::string& original) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (original.empty()) return Status::InvalidArgument("route_file: empty file name");
  if (pending_) {
    for (const Routed& r : pending_->routed) {
      if (r.original == original) return r.final_path + kTmpSuffix;
    }
    Routed r;
    r.original = original;
    r.final_path = scratch_.layout().RoutedFile(pending_->name, pending_->version, rank(),
                                                static_cast<int>(pending_->routed.size()));
    pending_->routed.push_back(r);
    return r.final_path + kTmpSuffix;
  }
  if (restoring_) {
    const auto& reader = *restoring_->source.reader;
    const format::Entry* e = reader.FindFile(original);
    if (e == nullptr) {
      return Status::NotFound("file '" + original + "' is not part of " +
                              Describe(restoring_->name, restoring_->version));
    }
    return reader.StoredPath(*e);
  }
  return Status::FailedPrecondition(
      "route_file outside a checkpoint or restart (call Checkpoint_begin or Restart_begin first)");
}

Status Engine::Cleanup(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(CheckName(name));
  if (pending_ && pending_->name == name) {
    return Status::FailedPrecondition("cleanup of '" + name + "' while it is being checkpointed");
  }
  DrainAsync();
  std::vector<const Level*> tiers{&scratch_};
  for (const Level& t : spill_) tiers.push_back(&t);
  for (const Level* t : tiers) {
    for (long long v : t->ListVersions(name, rank())) {
      CAIRN_RETURN_IF_ERROR(t->RemoveVersion(name, v, rank(), false));
      verified_.erase({name, v, rank()});
    }
    (void)env_->RemoveDir(t->layout().NameDir(name));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- checkpoint

Status Engine::CheckpointBegin(const std::string& name, long long version) {
  CAIRN_RETURN_IF_ERROR(CheckName(name));
  CAIRN_RETURN_IF_ERROR(ValidateVersion(version));
  if (pending_) {
    return Status::FailedPrecondition("Checkpoint_begin while " +
                                      Describe(pending_->name, pending_->version) +
                                      " is open: call Checkpoint_end first");
  }
  if (restoring_) {
    return Status::FailedPrecondition("Checkpoint_begin during a restart: call Restart_end first");
  }
  policy_->OnBegin(name, version);  // the blocking cost starts here (staging wait included)
  PendingCheckpoint p;
  p.name = name;
  p.version = version;
  p.seq = ++seq_;
  // From here on, failures are recorded in the pending checkpoint so that End still
  // takes part in the collective agreement and every rank learns the outcome.
  if (async_ != nullptr) {
    // Take over with a new backend if the old one died; then wait until the previous
    // checkpoint has left the staging area.
    Status st = async_->Reconnect();
    if (st.ok()) st = async_->WaitStagingFree();
    if (st.ok()) st = scratch_.PrepareVersion(name, version);  // for routed files
    p.error = st;
    pending_ = std::move(p);
    return st.Annotate(Describe(name, version));
  }
  Status st = scratch_.PrepareVersion(name, version);
  std::unique_ptr<WritableFile> mirror;
  if (st.ok() && LocalPersistentDue(p.seq)) {
    // Written from memory in parallel with scratch; End copies instead if this fails.
    Status ms = persistent_->PrepareVersion(name, version);
    if (ms.ok()) {
      auto m =
          env_->NewWritableFile(persistent_->layout().RankFile(name, version, rank()) + kTmpSuffix);
      if (m.ok())
        mirror = std::move(m.value());
      else
        ms = m.status();
    }
    if (!ms.ok()) log::Warn(Describe(name, version), ": persistent copy: ", ms.ToString());
  }
  if (st.ok()) {
    auto f = env_->NewWritableFile(scratch_.layout().RankFile(name, version, rank()) + kTmpSuffix);
    if (f.ok()) {
      p.writer = std::make_unique<format::CheckpointFileWriter>(
          std::move(f.value()), std::move(mirror), name, rank(), comm_->collective() ? size() : 0,
          version, cfg_.chksum);
    } else {
      st = f.status();
    }
  }
  p.error = st;
  pending_ = std::move(p);
  return st.Annotate(Describe(name, version));
}

Status Engine::CheckpointMem(Select sel, const std::set<int>& ids) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!pending_) {
    return Status::FailedPrecondition("Checkpoint_mem without Checkpoint_begin");
  }
  PendingCheckpoint& p = *pending_;
  if (!p.error.ok()) return p.error;
  const RegionTable::Group& group = regions_.ForCheckpoint(p.name);
  std::vector<std::pair<int, const Region*>> chosen;
  for (const auto& [id, r] : group) {
    bool listed = ids.count(id) > 0;
    if ((sel == Select::kSome && !listed) || (sel == Select::kRest && listed)) continue;
    chosen.emplace_back(id, &r);
  }
  if (sel == Select::kSome) {
    for (int id : ids) {
      if (group.count(id) == 0) {
        return p.error = Status::InvalidArgument("Checkpoint_selective: region " +
                                                 std::to_string(id) + " is not protected");
      }
    }
  }
  if (chosen.empty() && !p.routed.empty()) return Status::Ok();  // file-mode checkpoint
  if (chosen.empty()) {
    return p.error = Status::InvalidArgument(
               "nothing to checkpoint: no protected region matches the selection for '" + p.name +
               "'");
  }
  if (async_ != nullptr) return p.error = StageRegions(p, chosen);
  for (const auto& [id, r] : chosen) {
    if (!p.ids_written.insert(id).second) {
      return p.error = Status::InvalidArgument("region " + std::to_string(id) +
                                               " is already in this checkpoint");
    }
    Status st;
    if (r->serialized()) {
      std::ostringstream os(std::ios::binary);
      try {
        r->ser(os);
      } catch (const std::exception& ex) {
        return p.error = Status::Internal("serializer of region " + std::to_string(id) +
                                          " threw: " + ex.what());
      }
      if (!os) {
        return p.error = Status::Internal("serializer of region " + std::to_string(id) + " failed");
      }
      std::string bytes = std::move(os).str();
      st = p.writer->AddBuffer(format::EntryKind::kSerialized, id, bytes.data(), bytes.size());
    } else {
      st = p.writer->AddBuffer(format::EntryKind::kMemory, id, r->ptr, r->size);
    }
    if (!st.ok()) return p.error = st.Annotate(Describe(p.name, p.version));
  }
  return Status::Ok();
}

Status Engine::FinishScratchFile(PendingCheckpoint& p, uint64_t* file_hash) {
  for (const Routed& r : p.routed) {
    const std::string tmp = r.final_path + kTmpSuffix;
    auto d = format::DigestFile(env_, tmp);
    if (!d.ok()) {
      return d.status().Annotate("routed file for '" + r.original + "' was not written");
    }
    if (cfg_.scratch_fsync) CAIRN_RETURN_IF_ERROR(env_->SyncFile(tmp));
    p.writer->AddFile(r.original, BaseName(r.final_path), d.value().size, d.value().hash);
  }
  if (p.ids_written.empty() && p.routed.empty()) {
    return Status::InvalidArgument("empty checkpoint: no region was written and no file routed");
  }
  CAIRN_RETURN_IF_ERROR(p.writer->Finish(cfg_.scratch_fsync, /*mirror_sync=*/true));
  *file_hash = p.writer->manifest().footer.file_hash;
  return Status::Ok();
}

bool Engine::LocalRedundancyDue(long long seq) const {
  if (l2_ == nullptr) return false;
  if (cfg_.ec_every > 0 || cfg_.persistent_every > 0) {
    if (LocalPersistentDue(seq)) return false;  // the highest level due wins
    return cfg_.ec_every > 0 && seq % cfg_.ec_every == 0;
  }
  if (cfg_.ec_interval < 0) return false;
  return cfg_.ec_interval == 0 || !last_l2_ ||
         std::chrono::steady_clock::now() - *last_l2_ >= std::chrono::seconds(cfg_.ec_interval);
}

Status Engine::EncodeRedundancy(const std::string& name, long long version, long long seq) {
  if (l2_ == nullptr) return Status::Ok();
  auto due = comm_->AllMax(LocalRedundancyDue(seq) ? 1 : 0);
  if (!due.ok()) return due.status();
  if (due.value() == 0) return Status::Ok();
  Status st = l2_->Encode(name, version);
  if (st.ok()) last_l2_ = std::chrono::steady_clock::now();
  return st;
}

bool Engine::LocalPersistentDue(long long seq) const {
  if (!persistent_) return false;
  if (cfg_.ec_every > 0 || cfg_.persistent_every > 0) {
    return cfg_.persistent_every > 0 && seq % cfg_.persistent_every == 0;
  }
  if (cfg_.persistent_interval < 0) return false;
  return cfg_.persistent_interval == 0 || !last_persistent_ ||
         std::chrono::steady_clock::now() - *last_persistent_ >=
             std::chrono::seconds(cfg_.persistent_interval);
}

Result<bool> Engine::AgreePersistentDue(bool local_due) {
  auto any = comm_->AllMax(local_due ? 1 : 0);
  if (!any.ok()) return any.status();
  return any.value() == 1 && persistent_.has_value();
}

std::vector<std::string> Engine::FinalPaths(const Level& level, const PendingCheckpoint& p) const {
  std::vector<std::string> out;
  out.push_back(level.layout().RankFile(p.name, p.version, rank()));
  for (size_t k = 0; k < p.routed.size(); ++k) {
    out.push_back(level.layout().RoutedFile(p.name, p.version, rank(), static_cast<int>(k)));
  }
  return out;
}

void Engine::RemoveTemporaries(const Level& level, const PendingCheckpoint& p) const {
  for (const auto& f : FinalPaths(level, p)) (void)env_->RemoveFile(f + kTmpSuffix);
  (void)env_->RemoveDir(level.layout().VersionDir(p.name, p.version));  // only if empty
}

Status Engine::CopyToPersistent(const PendingCheckpoint& p) {
  CAIRN_RETURN_IF_ERROR(persistent_->PrepareVersion(p.name, p.version));
  auto src = FinalPaths(scratch_, p);
  auto dst = FinalPaths(*persistent_, p);
  // The rank file (index 0) is already there when the mirror wrote it completely.
  bool mirrored = p.writer != nullptr && p.writer->has_mirror() && p.writer->mirror_status().ok();
  for (size_t i = mirrored ? 1 : 0; i < src.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(persistent_->CopyFileIn(src[i] + kTmpSuffix, dst[i] + kTmpSuffix));
  }
  return Status::Ok();
}

Status Engine::CheckpointEnd(bool success) {
  handed_over_ = false;
  Status st = CheckpointEndImpl(success);
  const bool async = async_ != nullptr;
  policy_->OnEnd(async ? handed_over_ : st.ok(), async);
  return st;
}

Status Engine::CheckpointEndImpl(bool success) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!pending_) return Status::FailedPrecondition("Checkpoint_end without Checkpoint_begin");
  PendingCheckpoint p = std::move(*pending_);
  pending_.reset();
  const std::string what = Describe(p.name, p.version);

  Status local = p.error;
  if (local.ok() && !success) {
    local = Status::FailedPrecondition("the application ended it with success = false");
  }
  if (async_ != nullptr) return CheckpointEndAsync(p, local);
  uint64_t file_hash = 0;
  if (local.ok()) local = FinishScratchFile(p, &file_hash);

  // Agreement 1: did every rank write its scratch file?
  auto all = comm_->AllTrue(local.ok());
  if (!all.ok() || !all.value() || !local.ok()) {
    RemoveTemporaries(scratch_, p);
    if (persistent_) RemoveTemporaries(*persistent_, p);
    if (!local.ok()) return local.Annotate(what);
    if (!all.ok()) return all.status().Annotate(what);
    return Status::Unavailable(what + ": failed on another rank; not committed");
  }

  // Persistent copy, when due on any rank (so the ranks stay together).
  auto due = AgreePersistentDue(p.writer->has_mirror() || LocalPersistentDue(p.seq));
  if (!due.ok()) {
    RemoveTemporaries(scratch_, p);
    if (persistent_) RemoveTemporaries(*persistent_, p);
    return due.status().Annotate(what);
  }
  Status pers;
  if (due.value()) {
    pers = CopyToPersistent(p);
    auto all_pers = comm_->AllTrue(pers.ok());
    if (!all_pers.ok())
      pers = all_pers.status();
    else if (pers.ok() && !all_pers.value())
      pers = Status::Unavailable("failed on another rank");
    if (!pers.ok()) RemoveTemporaries(*persistent_, p);
  }

  // Commit: every rank succeeded, publish by rename. From here every rank goes through
  // the same collectives whatever happens locally, so no rank is left waiting.
  Status st = scratch_.Publish(FinalPaths(scratch_, p));
  if (!st.ok()) RemoveTemporaries(scratch_, p);
  // Retention must not run on any rank before every rank has published: a rank killed
  // before its rename would otherwise leave no version complete on all ranks.
  auto all_published = comm_->AllTrue(st.ok());
  if (st.ok() && !all_published.ok()) st = all_published.status();
  if (st.ok() && !all_published.value()) {
    st = Status::Unavailable("the scratch commit failed on another rank");
  }
  for (auto it = verified_.begin(); it != verified_.end();) {
    if (std::get<0>(it->first) == p.name && std::get<1>(it->first) == p.version) {
      it = verified_.erase(it);
    } else {
      ++it;
    }
  }
  bool persisted = false;
  if (due.value() && pers.ok()) {  // pers is agreed: the same on every rank
    pers = st.ok() ? persistent_->Publish(FinalPaths(*persistent_, p))
                   : Status::Unavailable("not published: the scratch commit failed");
    if (!pers.ok()) RemoveTemporaries(*persistent_, p);
    if (comm_->collective()) {
      auto hashes = comm_->GatherToRoot(file_hash);
      auto all_pub = comm_->AllTrue(pers.ok());  // also a barrier: every rank has published
      if (!hashes.ok()) {
        pers = hashes.status();
      } else if (!all_pub.ok()) {
        pers = all_pub.status();
      } else if (!all_pub.value()) {
        if (pers.ok()) pers = Status::Unavailable("the persistent copy failed on another rank");
      } else if (rank() == 0) {
        CommitRecord rec{p.name, p.version, size(), hashes.value()};
        pers = WriteCommitRecord(*persistent_, rec);
      }
    }
    persisted = pers.ok();
    if (persisted) last_persistent_ = std::chrono::steady_clock::now();
  }
  if (!st.ok()) return st.Annotate(what);
  // L2: encode across the redundancy set now that every rank has committed on scratch.
  Status l2 = EncodeRedundancy(p.name, p.version, p.seq);
  if (!l2.ok()) {
    log::Warn(what, ": redundancy encoding failed: ", l2.ToString());
    if (pers.ok()) pers = l2.Annotate("redundancy");
  }

  // Retention runs only after the new version is committed everywhere, and off the
  // caller's critical path: deleting a large file costs ~0.2 s/GiB on ext4 with
  // discard. The next call that reads or writes storage waits for it (JoinRetention).
  const int keep_scratch = cfg_.scratch_versions;
  const int keep_pers = persisted ? cfg_.max_versions : 0;
  if (keep_scratch > 0 || keep_pers > 0) {
    retention_ = std::thread([this, name = p.name, what, keep_scratch, keep_pers] {
      Status ret = scratch_.Retain(name, rank(), keep_scratch, false);
      if (ret.ok() && keep_pers > 0) {
        ret = persistent_->Retain(name, rank(), keep_pers, rank() == 0);
      }
      if (!ret.ok()) log::Warn(what, ": retention: ", ret.ToString());
    });
  }

  Notify(p.name, p.version);
  log::Debug(what, " committed on scratch", persisted ? " and persistent" : "");
  if (!pers.ok()) {
    return pers.Annotate(what + ": committed on scratch, but the persistent copy failed");
  }
  return Status::Ok();
}

Status Engine::CheckpointWait() {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (pending_) {
    return Status::FailedPrecondition("Checkpoint_wait while " +
                                      Describe(pending_->name, pending_->version) +
                                      " is open: call Checkpoint_end first");
  }
  if (async_ != nullptr) {
    Status st = async_->WaitAll();
    policy_->OnOutstandingFailed();  // what was not reported durable by now has failed
    return st;
  }
  return Status::Ok();
}

bool Engine::CheckpointFinished() {
  if (finalized_ || async_ == nullptr) return true;
  return async_->Idle();
}

Status Engine::Checkpoint(const std::string& name, long long version) {
  CAIRN_RETURN_IF_ERROR(CheckpointWait());
  Status st = CheckpointBegin(name, version);
  if (!pending_) return st;  // invalid arguments: identical on every rank, nothing to end
  if (st.ok()) st = CheckpointMem(Select::kAll, {});
  Status end = CheckpointEnd(st.ok());
  return st.ok() ? end : st;
}

// ---------------------------------------------------------------- async mode

void Engine::DrainAsync() {
  if (async_ != nullptr) {
    (void)async_->WaitAll(/*consume=*/false);
    policy_->OnOutstandingFailed();
  }
}

// ---------------------------------------------------------------- need checkpoint

void Engine::PollForPolicy() {
  if (async_ == nullptr || policy_->outstanding() == 0) return;
  if (async_->Idle()) policy_->OnOutstandingFailed();
}

Result<bool> Engine::NeedCheckpoint() {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (pending_) {
    return Status::FailedPrecondition("need_checkpoint while " +
                                      Describe(pending_->name, pending_->version) +
                                      " is open: call Checkpoint_end first");
  }
  PollForPolicy();
  NeedDecision d = policy_->Evaluate();
  DueReason reason = d.reason;
  if (comm_->collective()) {
    // Every rank must give the same answer, or some would begin a checkpoint that the
    // others never end. The strongest reason wins (final ones over the periodic ones).
    auto m = comm_->AllMax(static_cast<int64_t>(d.reason));
    if (!m.ok()) return m.status().Annotate("need_checkpoint");
    if (m.value() < 0 || m.value() > static_cast<int64_t>(DueReason::kEndTime)) {
      return Status::Internal("need_checkpoint: ranks agreed on an unknown reason " +
                              std::to_string(m.value()));
    }
    reason = static_cast<DueReason>(m.value());
  }
  if (reason == DueReason::kNone) return false;
  if (reason == d.reason) {
    log::Info("checkpoint needed (", DueReasonName(reason), "): ", d.why);
  } else {
    log::Debug("checkpoint needed (", DueReasonName(reason), "), as another rank decided");
  }
  policy_->Arm(reason);
  return true;
}

Result<bool> Engine::AgreeExit() {
  auto all = comm_->AllTrue(policy_->should_exit());
  if (!all.ok()) return all.status().Annotate("should_exit");
  if (all.value() && rank() == 0) policy_->WriteAck();
  return all.value();
}

Result<bool> Engine::ShouldExit() {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  PollForPolicy();
  if (!comm_->collective()) return policy_->should_exit();
  return AgreeExit();
}

Status Engine::StageRegions(PendingCheckpoint& p,
                            const std::vector<std::pair<int, const Region*>>& chosen) {
  for (const auto& [id, r] : chosen) {
    if (!p.ids_written.insert(id).second) {
      return Status::InvalidArgument("region " + std::to_string(id) +
                                     " is already in this checkpoint");
    }
    std::string bytes;
    const char* src = static_cast<const char*>(r->ptr);
    uint64_t size = r->size;
    if (r->serialized()) {
      std::ostringstream os(std::ios::binary);
      try {
        r->ser(os);
      } catch (const std::exception& ex) {
        return Status::Internal("serializer of region " + std::to_string(id) +
                                " threw: " + ex.what());
      }
      bytes = std::move(os).str();
      src = bytes.data();
      size = bytes.size();
    }
    uint64_t offset = format::AlignUp(p.staged_bytes);
    auto base = async_->Staging(offset + size, p.staged_bytes);
    if (!base.ok()) return base.status();
    // The snapshot: the whole blocking cost of an async checkpoint. Checksums are left
    // to the backend: hashing here would double the time the application blocks.
    pipeline::StagedRegion reg;
    reg.kind = r->serialized() ? format::EntryKind::kSerialized : format::EntryKind::kMemory;
    reg.id = id;
    reg.offset = offset;
    reg.size = size;
    if (size > 0) std::memcpy(base.value() + offset, src, size);
    p.staged.push_back(reg);
    p.staged_bytes = offset + size;
  }
  return Status::Ok();
}

Status Engine::CheckpointEndAsync(PendingCheckpoint& p, Status local) {
  const std::string what = Describe(p.name, p.version);
  auto finals = FinalPaths(scratch_, p);
  if (local.ok()) {
    for (size_t k = 0; k < p.routed.size() && local.ok(); ++k) {
      if (!env_->Exists(finals[k + 1] + kTmpSuffix)) {
        local = Status::NotFound("routed file for '" + p.routed[k].original + "' was not written");
      }
    }
    if (local.ok() && p.staged.empty() && p.routed.empty()) {
      local = Status::InvalidArgument("empty checkpoint: no region was written and no file routed");
    }
  }
  // The previous version's scratch file is written by now (Begin waited for it): its
  // L2 encoding runs here, at a collective point, rather than at its snapshot.
  Status l2 = Status::Ok();
  if (deferred_l2_) {
    DeferredL2 d = *deferred_l2_;
    deferred_l2_.reset();
    l2 = EncodeRedundancy(d.name, d.version, d.seq);
    if (!l2.ok())
      log::Warn("redundancy encoding of '", d.name, "' version ", d.version, ": ", l2.ToString());
  }
  // Every rank takes part in every collective below, whatever happened locally.
  auto all = comm_->AllTrue(local.ok());
  auto due = AgreePersistentDue(LocalPersistentDue(p.seq));
  auto safe_s = comm_->AllMin(async_->NewestScratch(p.name));
  auto safe_p = comm_->AllMin(async_->NewestPersistent(p.name));
  Status st = local;
  if (st.ok() && !all.ok()) st = all.status();
  if (st.ok() && !all.value()) st = Status::Unavailable("failed on another rank; not handed over");
  if (st.ok() && !due.ok()) st = due.status();
  if (st.ok() && (!safe_s.ok() || !safe_p.ok())) st = Status::Unavailable("agreement failed");
  if (!st.ok()) {
    RemoveTemporaries(scratch_, p);
    return st.Annotate(what);
  }
  // Set on every rank alike (the outcome above is agreed), so the next collective
  // point encodes it everywhere or nowhere.
  if (l2_ != nullptr) deferred_l2_ = DeferredL2{p.name, p.version, p.seq};
  ipc::Message req("CKPT");
  req.Add("name", p.name).Add("version", p.version).Add("rank", rank());
  req.Add("nranks", comm_->collective() ? size() : 0);
  req.Add("persistent", due.value() ? 1 : 0);
  req.Add("safe_scratch", safe_s.value()).Add("safe_persistent", safe_p.value());
  for (const auto& reg : p.staged) {
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(reg.hash));
    req.Add("region", std::to_string(static_cast<int>(reg.kind)) + ":" + std::to_string(reg.id) +
                          ":" + std::to_string(reg.offset) + ":" + std::to_string(reg.size) +
                          (reg.hashed ? std::string(":") + hash : std::string()));
  }
  for (const auto& r : p.routed) req.Add("file", r.original);
  st = async_->Submit(std::move(req), p.name, p.version);
  if (!st.ok()) return st.Annotate(what + ": not handed over to the async backend");
  handed_over_ = true;
  if (due.value()) last_persistent_ = std::chrono::steady_clock::now();
  return l2.ok() ? Status::Ok()
                 : l2.Annotate(what +
                               ": handed over, but the redundancy of the previous version failed");
}

// ---------------------------------------------------------------- restart

bool Engine::StillIs(const std::string& path, const FileInfo& before) const {
  auto now = env_->Stat(path);
  return now.ok() && now.value().inode == before.inode && now.value().size == before.size &&
         now.value().mtime_ns == before.mtime_ns;
}

bool Engine::Unchanged(const Located& loc) const {
  for (const auto& [path, before] : loc.files) {
    if (!StillIs(path, before)) return false;
  }
  return true;
}

void Engine::MarkBad(const std::string& path) {
  if (auto info = env_->Stat(path); info.ok()) bad_copies_[path] = info.value();
}

Result<Engine::Located> Engine::VerifyAt(const Level& level, const std::string& name,
                                         long long version, int r, bool collective_check,
                                         bool verify_data) {
  Located loc;
  loc.level = level.kind();
  loc.path = level.layout().RankFile(name, version, r);
  auto reader = format::CheckpointFileReader::Open(env_, loc.path);
  if (!reader.ok()) return reader.status();
  const format::Manifest& m = reader.value()->manifest();
  if (m.name != name || m.header.version != version || m.header.rank != r) {
    return Status::Corruption("'" + loc.path + "' holds '" + m.name + "' version " +
                              std::to_string(m.header.version) + " of rank " +
                              std::to_string(m.header.rank) + ", not what its path says");
  }
  if (collective_check && m.header.nranks != size()) {
    return Status::InvalidArgument("'" + loc.path + "' was written by a job of " +
                                   std::to_string(m.header.nranks) + " ranks, this one has " +
                                   std::to_string(size()));
  }
  // Stat before hashing: a change after this point invalidates the cached result.
  std::vector<std::string> paths{loc.path};
  for (const format::Entry& e : m.entries) {
    if (e.kind == format::EntryKind::kFile) paths.push_back(reader.value()->StoredPath(e));
  }
  for (const auto& p : paths) {
    auto info = env_->Stat(p);
    if (!info.ok()) return info.status();
    loc.files.emplace_back(p, info.value());
  }
  if (verify_data) {
    CAIRN_RETURN_IF_ERROR(reader.value()->VerifyData());
    loc.data_verified = true;
  } else {
    CAIRN_RETURN_IF_ERROR(reader.value()->VerifyStoredFiles());
  }
  loc.reader = std::move(reader.value());
  return loc;
}

Result<Engine::Located> Engine::Locate(const std::string& name, long long version, int r,
                                       bool collective_check, Where where, bool verify_data) {
  auto key = std::make_tuple(name, version, r);
  auto it = verified_.find(key);
  if (it != verified_.end()) {
    const bool on_persistent = it->second.level == LevelKind::kPersistent;
    const bool wanted = where == Where::kAll || (where == Where::kPersistent) == on_persistent;
    if (!Unchanged(it->second)) {
      verified_.erase(it);
    } else if (wanted && verify_data && !it->second.data_verified) {
      Status st = it->second.reader->VerifyData();
      if (st.ok()) {
        it->second.data_verified = true;
        return it->second;
      }
      log::Warn(Describe(name, version), " on ", LevelName(it->second.level),
                " cannot be restored: ", st.ToString());
      MarkBad(it->second.path);
      verified_.erase(it);
    } else if (wanted) {
      return it->second;
    }
  }
  std::vector<const Level*> levels;
  if (where != Where::kPersistent) {
    levels.push_back(&scratch_);
    for (const Level& t : spill_) levels.push_back(&t);
  }
  if (persistent_ && where != Where::kScratchTiers) levels.push_back(&*persistent_);
  Status last = Status::NotFound(Describe(name, version) + " of rank " + std::to_string(r) +
                                 " is on no level");
  for (const Level* level : levels) {
    const std::string path = level->layout().RankFile(name, version, r);
    if (!env_->Exists(path)) continue;
    if (auto bad = bad_copies_.find(path); bad != bad_copies_.end()) {
      if (StillIs(path, bad->second)) {
        last = Status::Corruption("'" + path + "' failed verification when it was restored");
        continue;
      }
      bad_copies_.erase(bad);  // replaced since (an L2 rebuild, a new checkpoint)
    }
    auto loc = VerifyAt(*level, name, version, r, collective_check, verify_data);
    if (loc.ok()) {
      verified_[key] = loc.value();
      return loc;
    }
    if (loc.status().code() == Code::kCorruption) MarkBad(path);  // structure-only Locates too
    log::Warn(Describe(name, version), " on ", LevelName(level->kind()),
              " cannot be restored: ", loc.status().ToString());
    last = loc.status();
  }
  return last;
}

Result<long long> Engine::RestartTest(const std::string& name, long long max_version,
                                      int target_rank) {
  const bool verify_data = verify_first_;
  CAIRN_RETURN_IF_ERROR(CheckName(name));
  if (max_version < 0) {
    return Status::InvalidArgument("Restart_test: max version " + std::to_string(max_version) +
                                   " is negative (0 means any)");
  }
  if (pending_) return Status::FailedPrecondition("Restart_test while a checkpoint is open");
  DrainAsync();
  const int r = RankFor(target_rank);
  std::vector<long long> cand = scratch_.ListVersions(name, r, max_version);
  for (const Level& t : spill_) {
    auto v = t.ListVersions(name, r, max_version);
    cand.insert(cand.end(), v.begin(), v.end());
  }
  if (persistent_) {
    auto p = persistent_->ListVersions(name, r, max_version);
    cand.insert(cand.end(), p.begin(), p.end());
  }
  std::sort(cand.rbegin(), cand.rend());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());

  // With L2, a rank that lost its files proposes nothing: the ranks then try the newest
  // version anyone has (AllMax) and ask the sets; without it, the newest all list (AllMin).
  const bool use_l2 = l2_ != nullptr && target_rank < 0;
  const bool collective_check = target_rank < 0 && comm_->collective();
  long long bound = std::numeric_limits<long long>::max();
  for (;;) {
    long long propose = -1;
    for (long long v : cand) {
      if (v <= bound) {
        propose = v;
        break;
      }
    }
    auto m = use_l2 ? comm_->AllMax(propose) : comm_->AllMin(propose);
    if (!m.ok()) return m.status();
    if (m.value() < 0) {
      return Status::NotFound("no restorable version of '" + name + "'" +
                              (max_version > 0 ? " <= " + std::to_string(max_version) : ""));
    }
    const long long v = m.value();
    const bool listed = std::find(cand.begin(), cand.end(), v) != cand.end();
    // Own scratch copy (L1), rebuild from the set (L2), persistent copy (L3).
    bool l1 =
        listed && Locate(name, v, r, collective_check, Where::kScratchTiers, verify_data).ok();
    bool l2 = l1;
    if (use_l2) {
      auto a = l2_->Assess(name, v, l1);
      if (!a.ok()) return a.status();
      l2 = a.value();
    }
    bool l3 = !l1 && !l2 && listed &&
              Locate(name, v, r, collective_check, Where::kPersistent, verify_data).ok();
    auto all = comm_->AllTrue(l1 || l2 || l3);
    if (!all.ok()) return all.status();
    if (all.value()) {
      if (use_l2) {
        Status rb = l2_->Rebuild(name, v);
        if (!rb.ok()) log::Warn(Describe(name, v), ": ", rb.ToString());
        verified_.erase({name, v, r});
      }
      return v;
    }
    log::Warn(Describe(name, v),
              " cannot be restored on every rank; falling back to an older version");
    bound = v - 1;
  }
}

Status Engine::RestartBegin(const std::string& name, long long version, int target_rank) {
  CAIRN_RETURN_IF_ERROR(CheckName(name));
  CAIRN_RETURN_IF_ERROR(ValidateVersion(version));
  if (pending_) return Status::FailedPrecondition("Restart_begin while a checkpoint is open");
  if (restoring_) {
    return Status::FailedPrecondition("Restart_begin while a restart is open: call Restart_end");
  }
  DrainAsync();
  auto loc = Locate(name, version, RankFor(target_rank), target_rank < 0 && comm_->collective(),
                    Where::kAll, verify_first_);
  auto all = comm_->AllTrue(loc.ok());
  if (!loc.ok()) return loc.status().Annotate("Restart_begin");
  if (!all.ok()) return all.status();
  if (!all.value()) {
    return Status::Unavailable(Describe(name, version) + " cannot be restored on another rank");
  }
  Restoring r;
  r.name = name;
  r.version = version;
  r.rank = RankFor(target_rank);
  r.source = loc.value();
  restoring_ = std::move(r);
  return Status::Ok();
}

Result<long long> Engine::RecoverSize(int id) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!restoring_) return Status::FailedPrecondition("Recover_size without Restart_begin");
  const format::Entry* e = restoring_->source.reader->FindRegion(id);
  if (e == nullptr) {
    return Status::NotFound("region " + std::to_string(id) + " is not in " +
                            Describe(restoring_->name, restoring_->version));
  }
  return static_cast<long long>(e->size);
}

Status Engine::RecoverMem(Select sel, const std::set<int>& ids) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!restoring_) return Status::FailedPrecondition("Recover_mem without Restart_begin");
  const format::CheckpointFileReader& reader = *restoring_->source.reader;
  const RegionTable::Group& group = regions_.ForCheckpoint(restoring_->name);
  const std::string what = Describe(restoring_->name, restoring_->version);
  if (sel == Select::kSome) {
    for (int id : ids) {
      if (reader.FindRegion(id) == nullptr) {
        return Status::NotFound("region " + std::to_string(id) + " is not in " + what);
      }
    }
  }
  // Check everything before touching application memory.
  std::vector<std::pair<const format::Entry*, const Region*>> work;
  for (const format::Entry& e : reader.manifest().entries) {
    if (e.kind == format::EntryKind::kFile) continue;
    bool listed = ids.count(e.id) > 0;
    if ((sel == Select::kSome && !listed) || (sel == Select::kRest && listed)) continue;
    auto it = group.find(e.id);
    if (it == group.end()) {
      return Status::InvalidArgument(what + " has region " + std::to_string(e.id) +
                                     " but no region with that id is protected");
    }
    const Region& r = it->second;
    if (!r.serialized() && e.kind == format::EntryKind::kMemory && r.size < e.size) {
      return Status::InvalidArgument("region " + std::to_string(e.id) + " is " +
                                     std::to_string(r.size) + " bytes, smaller than the " +
                                     std::to_string(e.size) + " bytes saved in " + what);
    }
    if (r.serialized() != (e.kind == format::EntryKind::kSerialized)) {
      return Status::InvalidArgument("region " + std::to_string(e.id) + " was saved as " +
                                     format::EntryKindName(e.kind) +
                                     " data but is now protected differently");
    }
    work.emplace_back(&e, &r);
  }
  // Every entry is verified while it is read (one pass); data that fails marks this copy
  // bad, so that Locate (and Restart's fallback) passes over it.
  const bool verify = !restoring_->source.data_verified || !Unchanged(restoring_->source);
  auto read = [&](const format::Entry& e, void* into) {
    Status st = reader.ReadEntry(e, into, verify);
    if (st.code() == Code::kCorruption) {
      MarkBad(restoring_->source.path);
      verified_.erase({restoring_->name, restoring_->version, restoring_->rank});
      log::Warn(what, " on ", LevelName(restoring_->source.level),
                " failed verification while restored: ", st.ToString());
    }
    return st;
  };
  for (const auto& [e, r] : work) {
    if (!r->serialized()) {
      CAIRN_RETURN_IF_ERROR(read(*e, r->ptr));
      continue;
    }
    std::string bytes(e->size, '\0');
    CAIRN_RETURN_IF_ERROR(read(*e, bytes.data()));
    std::istringstream is(std::move(bytes), std::ios::binary);
    bool ok = false;
    try {
      ok = r->deser(is);
    } catch (const std::exception& ex) {
      return Status::Internal("deserializer of region " + std::to_string(e->id) +
                              " threw: " + ex.what());
    }
    if (!ok) {
      return Status::Internal("deserializer of region " + std::to_string(e->id) +
                              " reported failure");
    }
  }
  return Status::Ok();
}

Status Engine::RestartEnd(bool success) {
  CAIRN_RETURN_IF_ERROR(CheckUsable());
  if (!restoring_) return Status::FailedPrecondition("Restart_end without Restart_begin");
  if (!success) {
    log::Info(Describe(restoring_->name, restoring_->version),
              ": restart ended by the application with success = false");
  }
  restoring_.reset();
  return Status::Ok();
}

Status Engine::RestoreOnce(const std::string& name, long long version, int target_rank,
                           bool* data_failed) {
  // kCorruption: this rank's copies of `version` failed verification (now, or before).
  Status st = RestartBegin(name, version, target_rank);
  *data_failed = st.code() == Code::kCorruption;
  if (!st.ok()) return st;
  st = RecoverMem(Select::kAll, {});
  *data_failed = st.code() == Code::kCorruption;
  Status end = RestartEnd(st.ok());
  return st.ok() ? end : st;
}

Status Engine::Restart(const std::string& name, long long version, int target_rank, bool older_ok,
                       long long* restored) {
  // A version is tried at most twice (its first copy, then another copy or an L2 rebuild)
  // before the ranks look below it.
  constexpr int kTriesPerVersion = 2;
  long long v = version;
  int tries = 0;
  for (;;) {
    bool data_failed = false;
    Status st = RestoreOnce(name, v, target_rank, &data_failed);
    ++tries;
    // The ranks leave together: one rank's failure fails the restart everywhere, so that
    // every rank then takes the same way.
    auto all = comm_->AllTrue(st.ok());
    if (!all.ok()) return all.status();
    if (all.value()) {
      if (v != version) {
        log::Warn(Describe(name, version), " failed verification; restored version ", v,
                  " instead");
      }
      if (restored != nullptr) *restored = v;
      return Status::Ok();
    }
    auto none_bad = comm_->AllTrue(!data_failed);
    if (!none_bad.ok()) return none_bad.status();
    if (none_bad.value()) {  // no data failed verification: an error as it is
      if (!st.ok()) return st;
      return Status::Unavailable(Describe(name, v) + ": restart failed on another rank");
    }
    // Some rank's copy failed verification (it is marked bad): the ranks agree on what to
    // restore instead, as Restart_test does.
    const long long bound = tries < kTriesPerVersion ? v : v - 1;
    if (bound < v && !older_ok) {
      return Status::Corruption(Describe(name, v) +
                                " failed verification and no other copy of it verifies");
    }
    if (bound < 1) {
      return Status::Corruption(Describe(name, v) +
                                " failed verification and no older version is left");
    }
    auto next = RestartTest(name, bound, target_rank);
    if (next.ok() && next.value() != v && !older_ok) {
      return Status::Corruption(Describe(name, v) +
                                " failed verification and no other copy of it verifies");
    }
    if (!next.ok()) {
      return Status::Corruption(Describe(name, v) + " failed verification and nothing else " +
                                "can be restored: " + next.status().message());
    }
    if (next.value() != v) tries = 0;
    v = next.value();
  }
}

}  // namespace cairn
