// The job coordinator: one per job, it drives every participant (rank) through the
// phases of one consistent checkpoint and commits the job manifest (coord/manifest.h).
// Protocol: coord/protocol.h. Participants connect with coord/participant.h; clients
// (`cairn checkpoint`) send CHECKPOINT / STATUS.
//
// Contract:
//   - Start() listens on bind_host:port (port 0: ephemeral), writes DIR/.cairn/coordinator
//     (coord/address_file.h: advertise_host, the port, a fresh token, job_key, pid) and
//     runs the coordinator on its own std::thread (on_thread_start is called first in it).
//     Start fails (and leaves no thread and no address file) on bad options, a port it
//     cannot listen on, or a file it cannot write.
//   - Participants: HELLO with a wrong token, a rank outside 0..participants-1 or a rank
//     already connected is answered REFUSED and closed; else WELCOME. A participant that
//     disconnects outside a round is removed (its rank may join again). When every
//     participant that ever joined has left (the job ended), or when none joined within
//     join_timeout_ms of the start (the job never came up), the coordinator finishes.
//   - One round at a time. CHECKPOINT during a round (or while one waits for joins) is
//     answered DONE with kFailedPrecondition "a checkpoint is already in progress".
//     CHECKPOINT before all participants joined waits up to join_timeout_ms, then DONE
//     fails saying how many joined. Round k: PREPARE -> all PREPARED (states merged, max
//     per key) -> TARGETS gen 0 -> all QUIET at the newest gen -> DRAIN -> all WRITTEN ->
//     manifest job.v<k> written atomically -> COMMITTED {kill} to all -> Prune(dir, keep)
//     -> DONE code 0. A WANT in the quiet phase that raises a target sends TARGETS again
//     (gen+1) and forgets the QUIETs so far; so do the wants carried by QUIETs once the
//     other ranks have stayed not quiet for 200 ms. The quiet phase keeps its one deadline.
//   - A FAILED answer, a participant leaving, a bad message, a phase longer than
//     phase_timeout_ms, or a manifest that cannot be written aborts the round: ABORT to
//     every remaining participant, DONE with a nonzero cairn::Code and a message naming the
//     rank(s) and the reason. No manifest is written, so the previous one stays newest.
//   - Round numbers (= manifest versions) start at 1 + the newest manifest version in DIR
//     (ListManifests), or at first_version if that is larger, and only grow, also across
//     aborted rounds. on_commit runs after each commit.
//   - Nothing blocks without a bound: every socket has send/receive timeouts, the loop
//     polls with deadlines. When the thread ends (job ended or Stop()) it aborts a running
//     round, closes every connection and removes the address file if it still names this
//     coordinator (token).
//   - Errors are logged (common/log.h) and reported to the client; nothing here exits.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "coord/address_file.h"
#include "env/env.h"

namespace cairn::coord {

struct CoordinatorOptions {
  std::string dir;                    // the job's checkpoint directory (DIR)
  int participants = 0;               // number of ranks, 1..1000000
  std::string job_key;                // the launcher's job identity (address file)
  std::string bind_host = "0.0.0.0";  // where to listen
  int port = 0;                       // 0: an ephemeral port
  std::string advertise_host;         // in the address file; "": bind_host if it is a
                                      // specific address, else DefaultAdvertiseHost()
  int phase_timeout_ms = 60000;       // per phase of a round (and for a first message)
  int join_timeout_ms = 120000;       // CHECKPOINT waiting for all participants to join
  int64_t interval_ms = 0;            // > 0: also a round every interval once all joined
  // > 0: the process that started the coordinator (the launcher's rank 0). Once it is gone
  // and no participant is connected, the job is over: the coordinator finishes.
  int watch_pid = 0;
  int keep = 2;                           // manifests kept by Prune after a commit (< 1: all)
  std::string kind = "mpi";               // the manifest's `kind`
  std::function<void()> on_thread_start;  // called first on the coordinator's thread
  // Rounds start at no less than this (a job restarted from another level, whose versions
  // must go on from the newest there).
  uint64_t first_version = 1;
  // Called on the coordinator's thread after each commit (and Prune), with the manifest's
  // path: e.g. the flush of a job launched with --config to persistent. Must not block long.
  std::function<void(const std::string& manifest)> on_commit;
  Env* env = Env::Default();
};

class Coordinator {
 public:
  static Result<std::unique_ptr<Coordinator>> Start(CoordinatorOptions opts);
  ~Coordinator();  // Stop()
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Ends the coordinator (aborting a running round) and joins its thread. Idempotent.
  void Stop();
  // True once the thread has ended: every participant that joined has left, or Stop().
  bool Finished() const;
  // Waits up to timeout_ms (-1: no bound) for Finished(); returns Finished().
  bool WaitFinished(int timeout_ms);
  // What the address file says (host, port, token, job key, pid).
  const CoordinatorAddress& address() const;

  struct Impl;

 private:
  explicit Coordinator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::coord
