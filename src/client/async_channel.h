// AsyncChannel: the client's side of async mode. Owns the connection to this job's
// backend (starting one if none answers), the shared-memory staging area, and the
// bookkeeping of submitted checkpoints.
//
// Staging: a memfd mapped in both processes. The application's regions are copied
// into it (the only work an async checkpoint blocks for); the backend reads it, and
// releases it with a SCRATCH event once the scratch file is written. The area is
// reused by every checkpoint and only reallocated to grow.
//
// Failure model: if the backend dies, every outstanding checkpoint fails with
// kUnavailable (reported by the next WaitAll), the channel is marked broken, and
// Reconnect() starts or finds a new backend (takeover). Sends never raise SIGPIPE.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "config/config.h"
#include "ipc/identity.h"
#include "ipc/message.h"

namespace cairn {

class AsyncChannel {
 public:
  static Result<std::unique_ptr<AsyncChannel>> Open(const Config& cfg, int rank, int nranks);
  ~AsyncChannel();
  AsyncChannel(const AsyncChannel&) = delete;
  AsyncChannel& operator=(const AsyncChannel&) = delete;

  bool broken() const { return fd_ < 0; }
  // Starts or finds a backend again after the old one died.
  Status Reconnect();

  // Blocks until no submitted checkpoint still reads the staging area.
  Status WaitStagingFree();
  // The staging area, grown to at least `bytes` (keeping its first `keep` bytes).
  Result<char*> Staging(uint64_t bytes, uint64_t keep);

  // Sends a CKPT request (seq is filled in) and waits until the backend accepted it.
  Status Submit(ipc::Message req, const std::string& name, long long version);
  // Waits for every submitted checkpoint; returns the first failure since the last
  // call that consumed results (consume = false keeps it for the next call).
  Status WaitAll(bool consume = true);
  // Non-blocking: handles the events that have arrived; true when nothing is pending.
  bool Idle();

  // Newest version of `name` whose scratch (persistent) copy this rank's backend has
  // committed, or -1.
  long long NewestScratch(const std::string& name) const;
  long long NewestPersistent(const std::string& name) const;

  // Called for every checkpoint the backend completed successfully.
  void SetOnDone(Observer fn) { on_done_ = std::move(fn); }
  const ipc::BackendPaths& paths() const { return paths_; }

 private:
  struct Pending {
    std::string name;
    long long version = 0;
    bool accepted = false;
    bool scratch_done = false;
  };
  AsyncChannel(Config cfg, int rank, int nranks)
      : cfg_(std::move(cfg)), rank_(rank), nranks_(nranks) {}
  Status Connect();
  Status SendStaging();
  // Reads and handles one message, waiting at most timeout_ms (-1: forever).
  Status Pump(int timeout_ms);
  void Handle(const ipc::Message& m);
  void MarkBroken(const Status& why);
  void Fail(const Status& st);

  Config cfg_;
  int rank_;
  int nranks_;
  ipc::BackendPaths paths_;
  int fd_ = -1;
  int staging_fd_ = -1;
  char* staging_ = nullptr;
  uint64_t staging_size_ = 0;
  long long next_seq_ = 1;
  std::map<long long, Pending> pending_;
  std::map<long long, Status> rejected_;
  Status result_;  // first failure since the last consuming WaitAll
  std::map<std::string, long long> newest_scratch_, newest_persistent_;
  Observer on_done_;
};

}  // namespace cairn
