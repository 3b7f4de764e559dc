// The agent of one node of a job spread over several machines (`cairn launch --node I` or
// `cairn restart --node I`, README "Jobs on several nodes"): every node has its
// own process tree and node-local checkpoint directory; one coordinator (coord/coordinator.h,
// manifest kind "nodes", in the job directory every node sees) makes their checkpoints one.
//
// Contract:
//   - RunNodeAgent joins the coordinator of `job_dir` as participant `node` (retrying for
//     join_timeout_ms: the coordinator may start after this node) and serves its rounds on
//     the node's tree (tree/round.h TreeRound) until the node's job is over:
//       PREPARE {hosts} -> Stop every process of node_dir (STOP carries the other nodes'
//                          addresses, so a TCP send towards them that is not acknowledged fails
//                          the round instead of being lost) -> PREPARED
//       TARGETS         -> QUIET at once (a tree has no collectives to line up)
//       DRAIN           -> Write: every image and node_dir/job.v<N>.manifest (a tree manifest,
//                          also for one process) -> WRITTEN {path: that manifest, bytes: its size}
//       COMMITTED {kill}-> Resume (kill: the processes exit), retention (keep) of node_dir;
//                          a node launched with --config (node_dir/.cairn/levels.cfg,
//                          tree/levels.h) then has its backend flush the node's checkpoint
//                          to its persistent directory (started with backend_binary); its
//                          node manifests go on numbering from the newest there (round.h)
//       ABORT           -> Abort: resume, remove this round's images and node manifest
//     A phase that fails answers FAILED with the reason; the processes are running again.
//   - The node's job is over when `watch_pid` (the launched program, or `cairn restart`) is
//     gone and no process holds a lineage lock of node_dir (tree/round.h HeldLineageLocks).
//     The agent then leaves (closing the connection, or giving up joining) and returns Ok.
//   - A coordinator that closes the connection aborts a round in progress; while the node's
//     job runs on, the agent joins the coordinator the job directory names again (a
//     restart's new one). A refusal as a duplicate (the node's previous agent is still
//     counted) is tried again; not joining within join_timeout_ms ends the agent with the
//     error.
//   - Never exits; logs through common/log.h.
#pragma once

#include <string>

#include "common/status.h"
#include "env/env.h"

namespace cairn::tree {

struct NodeAgentOptions {
  std::string node_dir;  // the node's checkpoint directory
  std::string job_dir;   // the job directory: coordinator address file, job manifests
  std::string job_key;
  int node = 0;
  int watch_pid = 0;
  int keep = 2;  // node manifests kept after a commit
  int join_timeout_ms = 120000;
  int round_timeout_ms = 600000;  // one Stop or Write
  std::string backend_binary;     // `cairn`, to start the node's backend for a flush
  Env* env = Env::Default();
};

Status RunNodeAgent(const NodeAgentOptions& options);

}  // namespace cairn::tree
