// Client: the checkpoint/restart engine behind every public API (cairn C/C++,
// VeloC C/C++). One Client per process (or per Init); it owns the configuration,
// the protected regions, the storage levels and the communicator.
//
// Protocols (VeloC's semantics):
//   checkpoint: CheckpointBegin(name, v) -> [RouteFile(...)]* -> CheckpointMem(sel)
//               -> CheckpointEnd(success). Checkpoint(name, v) does Wait+all four.
//   restart:    RestartTest(name, max) -> RestartBegin(name, v) -> [RouteFile]*
//               -> [RecoverSize(id)]* -> RecoverMem(sel) -> RestartEnd(success).
// Calls out of order return kFailedPrecondition and change nothing.
//
// Regions belong to groups. Protect(..., group) with group "" puts them in the
// default group. A checkpoint or restart named N uses the group named N if one
// exists, else the default group.
//
// Collective mode (Comm::collective()): Create, CheckpointEnd, RestartTest,
// RestartBegin and Restart are collective; the ranks agree on commit and on the
// version. Every rank must call CheckpointEnd even after a local error (it reports the
// error to the others instead of leaving them waiting).
//
// Outcome of CheckpointEnd: OK = committed on scratch and, when due, on persistent.
// An error whose message says "committed on scratch" means the scratch version is
// committed (Restart_test will find it) but the persistent copy failed; any other
// error means nothing of this version was committed.
//
// Thread safety: every method locks the client's mutex, so calls from several
// threads are serialized; a checkpoint or restart sequence must still be driven by
// one thread at a time (the protocol has a single "current" checkpoint).
#pragma once

#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "comm/comm.h"
#include "common/status.h"
#include "config/config.h"

namespace cairn {

enum class Select { kAll = 0, kSome = 1, kRest = 2 };  // = VELOC_CKPT_* / VELOC_RECOVER_*

using Serializer = std::function<void(std::ostream&)>;
using Deserializer = std::function<bool(std::istream&)>;
using Observer = std::function<void(const std::string& name, long long version)>;

class Engine;  // client/engine.h: the implementation

class Client {
 public:
  // Loads the configuration (`cfg_path` may be empty: environment only), prepares
  // the scratch and persistent directories (0700). Fails without side effects on
  // the application.
  static Result<std::unique_ptr<Client>> Create(std::unique_ptr<Comm> comm,
                                                const std::string& cfg_path);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // drain: wait for pending work first (sync mode has none after each call).
  Status Finalize(bool drain);

  Status Protect(int id, void* ptr, size_t count, size_t base_size, const std::string& group);
  Status ProtectSerialized(int id, Serializer ser, Deserializer deser, const std::string& group);
  Status Unprotect(int id, const std::string& group);
  Status ClearGroup(const std::string& group);
  Status ClearAll();

  // During a checkpoint: where to write `original` for it; during a restart: where to
  // read it from. Outside either: kFailedPrecondition.
  Result<std::string> RouteFile(const std::string& original);
  // Removes this rank's checkpoints of `name` from scratch.
  Status Cleanup(const std::string& name);

  Status CheckpointBegin(const std::string& name, long long version);
  Status CheckpointMem(Select sel, const std::set<int>& ids);
  Status CheckpointEnd(bool success);
  Status CheckpointWait();
  bool CheckpointFinished();
  Status Checkpoint(const std::string& name, long long version);

  // Newest version <= max_version (0: any) that every rank can restore; kNotFound when
  // none. target_rank >= 0 reads that rank's checkpoint instead of this rank's.
  Result<long long> RestartTest(const std::string& name, long long max_version,
                                int target_rank = -1);
  // On (the default, VeloC's contract): RestartTest and RestartBegin read and hash a copy's
  // data before anything is restored, so the version RestartTest answers restores and a
  // failed restore writes nothing; the restore then reads the data again. Off (cairn's
  // API): they check the structure and stored files only, and RecoverMem verifies each
  // entry as it reads it into memory (one pass: restart at read speed); a copy that fails
  // is marked bad (RestartTest passes over it) and the regions hold undefined data until a
  // version is restored.
  void SetVerifyBeforeRestore(bool on);
  Status RestartBegin(const std::string& name, long long version, int target_rank = -1);
  Result<long long> RecoverSize(int id);
  Status RecoverMem(Select sel, const std::set<int>& ids);
  Status RestartEnd(bool success);
  // RestartBegin + RecoverMem(all) + RestartEnd, every entry verified as it is read; a
  // copy that fails is passed over for another copy of the version (scratch, persistent,
  // an L2 rebuild). With `older_ok`, when no copy of `version` verifies on some rank, the
  // ranks restore the newest older version they all can instead (logged); *restored (if
  // given) says which version the regions now hold. Without it that is kCorruption.
  Status Restart(const std::string& name, long long version, int target_rank = -1,
                 bool older_ok = false, long long* restored = nullptr);

  // type 0 = VELOC_OBSERVE_CKPT_END: called after a version is committed. A new
  // observer replaces the previous one (VeloC) unless `add` (cairn_on_commit: every
  // observer registered is called, in order). It runs with the client's lock held: it must
  // not call back into the client.
  Status RegisterObserver(int type, Observer fn, bool add = false);

  // Whether the application should checkpoint now (client/checkpoint_policy.h: interval,
  // Daly, `cairn job`'s control file, the job's end time). A "final" answer makes the next
  // checkpoint final. Collective mode: collective, every rank gets the same answer.
  // kFailedPrecondition while a checkpoint is open. Never waits for I/O.
  Result<bool> NeedCheckpoint();
  // True once a final checkpoint is committed (async: known durable; collective: on every
  // rank, and then collective). The application should Finalize and exit with status 0.
  Result<bool> ShouldExit();

  int rank() const;
  int size() const;
  const Config& config() const;

 private:
  explicit Client(std::unique_ptr<Engine> e);
  std::mutex mu_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace cairn
