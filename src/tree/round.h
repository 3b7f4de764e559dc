// One consistent checkpoint of every process of a job that `cairn launch --ckpt-dir DIR`
// started (the launched program and every descendant the preload library follows: a process
// tree on one node), driven over their control sockets DIR/.cairn/<pid>.sock. The process's
// side of the protocol is in transparent/preload/control.h.
//
// Contract:
//   - Stop: every socket that accepts a connection is sent STOP, and the directory is listed
//     again until no new socket appears (a child forked, or a program exec()ed, while the
//     others were stopping). A socket nobody listens on is a process that died (skipped); a
//     connection closed before STOPPED (the process exec()ed) is tried again for up to 2 s.
//     Every process must answer STOPPED within `timeout_ms`. When more lineage locks are held
//     than processes answered (a restart is still loading some of them), every process is
//     resumed and the round starts again 100 ms later, until `timeout_ms`.
//   - Pipes: with every process stopped, the pipes open in the job are read from
//     /proc/<pid>/fd (the pid from SO_PEERCRED, so it works from outside a restarted job's pid
//     namespace). A pipe or FIFO with a reader in the job has its bytes in flight saved by one
//     reader (the lowest pid), also when no writer is left: CAPTURE's `drain`.
//   - One process without children: CAPTURE single=1, its image is a single-process image
//     (its own lineage and retention; no manifest). Otherwise every process writes its image
//     in parallel (without fdatasync), then one syncfs of DIR's file system makes them all
//     durable, then DIR/job.v<N>.manifest (coord/manifest.h, kind "tree", N = newest + 1,
//     process and exited lines) commits them together, and manifests beyond `keep` are
//     pruned with their images.
//   - Then RESUME {kill} to every process (kill: each exits once committed). Any failure
//     (a FAILED capture, a process that dies or does not answer in time, a manifest that
//     cannot be written) resumes every process, removes this round's images and returns the
//     error naming the process; the previous checkpoint stays the newest.
//   - Never exits; every wait is bounded by timeout_ms.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "env/env.h"

namespace cairn::tree {

struct RoundOptions {
  // The job's checkpoint directory (DIR). Manifests are numbered one past its newest; a DIR
  // launched with --config also one past persistent's newest (tree/levels.h FirstVersion).
  std::string dir;
  bool kill = false;
  int timeout_ms = 600000;
  int keep = 2;  // manifests kept after a commit
  // A job manifest also for one process without children (a node of a job spread over
  // several, whose job manifest names every node's).
  bool always_tree = false;
  // Sent with STOP: the addresses of the job's other nodes (objects/tcp.h DrainTcpSends).
  std::string job_hosts;
  Env* env = Env::Default();
};

struct RoundResult {
  bool single = false;   // one process: a single-process image, no manifest
  std::string manifest;  // tree: DIR/job.v<N>.manifest
  uint64_t version = 0;
  std::vector<std::string> images;  // one per process, by pid
  uint64_t bytes = 0;
};

// kNotFound when no process of the job is running. Stop, Write and Resume of a TreeRound.
Result<RoundResult> CheckpointJob(const RoundOptions& options);

// The phases of one round, for a caller that checkpoints several trees as one (the nodes of
// a job spread over several, tree/node_agent.h): Stop every tree; once all are stopped,
// Write each; once all are written, Resume each (or Abort each).
class TreeRound {
 public:
  // Stops every process (while a restart is still loading some: resumes them and tries
  // again, as above). kNotFound when none runs.
  static Result<std::unique_ptr<TreeRound>> Stop(const RoundOptions& options);
  // Resumes the processes (Abort) unless Resume or Abort ran.
  ~TreeRound();
  TreeRound(const TreeRound&) = delete;
  TreeRound& operator=(const TreeRound&) = delete;

  // Writes every image and commits DIR/job.v<N>.manifest; the processes stay stopped. A
  // failure resumes them and removes this round's images (as Abort).
  Result<RoundResult> Write();
  // RESUME {kill} to every process, then retention (keep).
  void Resume(bool kill);
  // Resumes every process and removes what Write wrote (images and manifest); returns st.
  Status Abort(const Status& st);
  // After a failed Write: whether it failed because the job was changing (a process had
  // children between fork and exec or before the library started in them, or a process
  // exec()ed during the round); CheckpointJob then takes the round again a moment later,
  // for at most 5 s.
  bool JobChanging() const;

  struct Impl;

 private:
  explicit TreeRound(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// How many lineage locks of DIR/.cairn are held (transparent/preload/control.h): one per
// running process of the job, and one per process `cairn restart` is still loading.
int HeldLineageLocks(const std::string& dir, Env* env = Env::Default());

}  // namespace cairn::tree
