// Engine: the implementation behind Client (client.h documents the semantics).
// Not thread-safe by itself; Client serializes calls with its mutex.
//
// Checkpoint data path (sync mode):
//   Begin      create <scratch>/<name>/v<V>/ and open r<rank>.ckpt.tmp
//              and, when a persistent copy is due on this rank, its .tmp on persistent
//   Mem        write each selected region straight from application memory into the
//              tmp file, hashing each 256 KiB chunk while it is in cache; a second
//              thread writes the same memory to the persistent .tmp in parallel
//   End        hash routed files, write table/footer/header, fdatasync (both files,
//              in parallel) -> agree (all ranks OK?) -> if persistent is due on any
//              rank, ranks without a complete mirror copy their scratch files
//              (sendfile), routed files are copied, fdatasync -> agree again
//              -> rename *.tmp to final names, fsync dirs -> agree all published
//              -> rank 0 writes COMMIT on persistent -> observers; retention runs on a
//              background thread, joined by the next call that touches storage
// Restart data path:
//   Test       candidates = versions with a committed file of this rank on scratch or
//              persistent; ranks propose their newest, take the minimum, each checks
//              (open: header, table, footer and their hashes, every entry inside the file;
//              stored files hashed; scratch first, then persistent), all agree or step
//              below and repeat. A failed check logs a warning. The data itself is read
//              here (and by Begin) only when verify_first_ (the VeloC API's contract: the
//              version answered is restorable, and a failed restore writes nothing);
//              else (cairn's API) a restart reads it once.
//   Begin/Mem  read each selected entry straight into the region, verifying its hash in
//              the same pass. A copy whose data fails is marked bad (Locate skips it from
//              then on) and RecoverMem fails. Restart() then falls back by itself: the
//              ranks agree again (Test with the same version as the bound: another copy
//              of it, an L2 rebuild, or an older version) and restore that one; the
//              program never sees data that failed verification as restored.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "client/async_channel.h"
#include "client/checkpoint_policy.h"
#include "client/client.h"
#include "client/regions.h"
#include "env/env.h"
#include "format/reader.h"
#include "format/writer.h"
#include "pipeline/persist.h"
#include "redundancy/rank_files.h"
#include "redundancy/redundancy_level.h"
#include "storage/level.h"

namespace cairn {

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Create(std::unique_ptr<Comm> comm,
                                                const std::string& cfg_path, Env* env);
  ~Engine();

  Status Finalize(bool drain);
  Status Protect(int id, void* ptr, size_t count, size_t base_size, const std::string& group);
  Status ProtectSerialized(int id, Serializer ser, Deserializer deser, const std::string& group);
  Status Unprotect(int id, const std::string& group);
  Status ClearGroup(const std::string& group);
  Status ClearAll();
  Result<std::string> RouteFile(const std::string& original);
  Status Cleanup(const std::string& name);

  Status CheckpointBegin(const std::string& name, long long version);
  Status CheckpointMem(Select sel, const std::set<int>& ids);
  Status CheckpointEnd(bool success);
  Status CheckpointWait();
  bool CheckpointFinished();
  Status Checkpoint(const std::string& name, long long version);

  Result<long long> RestartTest(const std::string& name, long long max_version, int target_rank);
  // Client::SetVerifyBeforeRestore (client.h).
  void SetVerifyBeforeRestore(bool on) { verify_first_ = on; }
  Status RestartBegin(const std::string& name, long long version, int target_rank);
  Result<long long> RecoverSize(int id);
  Status RecoverMem(Select sel, const std::set<int>& ids);
  Status RestartEnd(bool success);
  // Restores `version` (another copy of it when one fails verification); with `older_ok`,
  // when no copy of it verifies on some rank, the newest older version every rank can
  // restore instead. *restored (if given) is the version restored.
  Status Restart(const std::string& name, long long version, int target_rank, bool older_ok,
                 long long* restored);

  Status RegisterObserver(int type, Observer fn, bool add);
  void Notify(const std::string& name, long long version);

  // Client::NeedCheckpoint / ShouldExit (client.h); the policy is checkpoint_policy.h.
  Result<bool> NeedCheckpoint();
  Result<bool> ShouldExit();
  const CheckpointPolicy& policy() const { return *policy_; }

  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }
  const Config& config() const { return cfg_; }

 private:
  struct Routed {
    std::string original;
    std::string final_path;  // on scratch, without ".tmp"
  };
  struct PendingCheckpoint {
    std::string name;
    long long version = 0;
    std::unique_ptr<format::CheckpointFileWriter> writer;
    std::vector<Routed> routed;
    std::set<int> ids_written;
    Status error;  // first failure; End still takes part in the agreement
    // Async mode: regions copied into the staging area, in order.
    std::vector<pipeline::StagedRegion> staged;
    uint64_t staged_bytes = 0;
    long long seq = 0;
  };
  // A verified copy of one rank's checkpoint of one version.
  struct Located {
    LevelKind level;
    std::string path;
    // Every file it consists of (rank file + stored files) as stat'ed when verified.
    std::vector<std::pair<std::string, FileInfo>> files;
    // Whether the memory entries' data was hashed too (else a restore verifies it).
    bool data_verified = false;
    std::shared_ptr<format::CheckpointFileReader> reader;
  };
  struct Restoring {
    std::string name;
    long long version = 0;
    int rank = 0;  // whose checkpoint (RankFor(target_rank))
    Located source;
  };

  Engine(Config cfg, std::unique_ptr<Comm> comm, Env* env);
  // Every public call starts here: refuses calls after Finalize, waits for retention.
  Status CheckUsable();
  Status CheckName(const std::string& name);
  void JoinRetention();
  int RankFor(int target_rank) const { return target_rank >= 0 ? target_rank : rank(); }

  // Async mode (async_ != nullptr): the snapshot into staging, the hand-over.
  Status StageRegions(PendingCheckpoint& p,
                      const std::vector<std::pair<int, const Region*>>& chosen);
  Status CheckpointEndAsync(PendingCheckpoint& p, Status local);
  // CheckpointEnd without the policy's bookkeeping.
  Status CheckpointEndImpl(bool success);
  // Async mode: handles the backend's events that arrived (non-blocking) and tells the
  // policy about versions that can no longer become durable.
  void PollForPolicy();
  // Collective async mode: agrees whether every rank has committed the final checkpoint;
  // rank 0 then writes the ack. Collective.
  Result<bool> AgreeExit();
  // Waits for the backend before reading storage; keeps the result for Checkpoint_wait.
  void DrainAsync();

  // End's steps.
  Status FinishScratchFile(PendingCheckpoint& p, uint64_t* file_hash);
  // Whether checkpoint number `seq` (1-based, per client) goes to L3 / L2 on this rank:
  // SCR-style counts when ec_every or persistent_every is set (the highest level due
  // wins), else VeloC's time intervals.
  bool LocalPersistentDue(long long seq) const;
  bool LocalRedundancyDue(long long seq) const;
  // L2-encodes (name, version) if due on any rank (collective); returns its status.
  Status EncodeRedundancy(const std::string& name, long long version, long long seq);
  Result<bool> AgreePersistentDue(bool local_due);
  Status CopyToPersistent(const PendingCheckpoint& p);
  std::vector<std::string> FinalPaths(const Level& level, const PendingCheckpoint& p) const;
  void RemoveTemporaries(const Level& level, const PendingCheckpoint& p) const;

  // Finds and verifies (name, version) for rank r (its structure and stored files; the
  // memory data is verified as a restore reads it): scratch first, then persistent,
  // skipping copies marked bad. Caches the result while the file stays unchanged.
  enum class Where { kAll, kScratchTiers, kPersistent };
  Result<Located> Locate(const std::string& name, long long version, int r, bool collective_check,
                         Where where = Where::kAll, bool verify_data = false);
  bool Unchanged(const Located& loc) const;
  // Whether `path` is still the file stat'ed as `before` (inode, size, mtime).
  bool StillIs(const std::string& path, const FileInfo& before) const;
  // Remembers `path`, as it is now, as a copy whose data failed verification.
  void MarkBad(const std::string& path);
  Result<Located> VerifyAt(const Level& level, const std::string& name, long long version, int r,
                           bool collective_check, bool verify_data);
  // RestartBegin + RecoverMem(all) + RestartEnd; sets *data_failed when this rank's copy
  // failed verification (it is marked bad then) or every copy it has is known bad.
  Status RestoreOnce(const std::string& name, long long version, int target_rank,
                     bool* data_failed);

  Config cfg_;
  std::unique_ptr<Comm> comm_;
  Env* env_;
  Level scratch_;
  std::vector<Level> spill_;  // slower scratch tiers (scratch_spill), used by the backend
  std::optional<Level> persistent_;
  RegionTable regions_;
  std::vector<Observer> observers_;
  std::optional<PendingCheckpoint> pending_;
  std::optional<Restoring> restoring_;
  std::map<std::tuple<std::string, long long, int>, Located> verified_;
  // Copies whose data failed verification while restored (path, as stat'ed then): skipped
  // by Locate while unchanged.
  std::map<std::string, FileInfo> bad_copies_;
  std::optional<std::chrono::steady_clock::time_point> last_persistent_;
  bool finalized_ = false;
  std::thread retention_;  // deletes versions past scratch_versions/max_versions
  std::unique_ptr<AsyncChannel> async_;
  std::unique_ptr<redundancy::RankFiles> l2_data_;   // what l2_ protects: this rank's files
  std::unique_ptr<redundancy::RedundancyLevel> l2_;  // ec_scheme != none, collective mode
  long long seq_ = 0;                                // checkpoints begun by this client
  bool verify_first_ = true;  // Restart_test / Restart_begin hash the data before a restore
  std::optional<std::chrono::steady_clock::time_point> last_l2_;
  // Async mode: the version to L2-encode at the next collective point (its scratch file
  // is written by the backend after the call that made it returned).
  struct DeferredL2 {
    std::string name;
    long long version = 0;
    long long seq = 0;
  };
  std::optional<DeferredL2> deferred_l2_;
  // need_checkpoint / should_exit.
  std::unique_ptr<CheckpointPolicy> policy_;
  bool job_active_ = false;   // `cairn job` environment present (the same on every rank)
  bool handed_over_ = false;  // async: the last CheckpointEndAsync handed its version over
};

}  // namespace cairn
