// L2 for the transparent images of a job on several nodes (issue 12): the node agents protect
// each node's part of every job checkpoint (tree/node_part.h) with the library's codes
// (redundancy/redundancy_level.h: partner copies, XOR, Reed-Solomon across failure domains),
// talking over tree/node_comm.h (the job coordinator's store, then TCP node to node). A job
// that loses nodes within the scheme's tolerance restarts without the persistent level.
//
// Contract:
//   - EncodeNodeParts: collective over the job's nodes; every node agent calls it after
//     COMMITTED of job checkpoint `version` when its levels have ec_scheme != none. It reads
//     the node's part, exchanges chunks with its set and writes node_dir/l2.v<version>.ec;
//     then removes the .ec files of checkpoints the job no longer keeps. The sets come from
//     the nodes' failure_domain (default the host name; CAIRN_FAILURE_DOMAIN per node): fewer
//     than two domains is an error naming them. Bounded by timeout_ms per step.
//   - RecoverNodeParts: collective over the restarting nodes (`cairn restart --node`, before
//     they agree on a version). `scratch` holds the job versions whose node part verifies on
//     this node's scratch, `elsewhere` those it can take from persistent. The nodes go through
//     every version any of them knows, newest first; for each one every node says whether it
//     can obtain its part (scratch, persistent, or rebuilt from its set's survivors), and the
//     first version every node can obtain is rebuilt where needed (written to scratch,
//     verified). Returns that version, or 0 when there is none (the caller's agreement then
//     reports what is missing).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "coord/job_store.h"
#include "env/env.h"

namespace cairn::tree {

Status EncodeNodeParts(const Config& cfg, const std::string& node_dir, const std::string& job_dir,
                       const std::string& job_key, int node, uint64_t version, int timeout_ms,
                       Env* env);

struct NodeL2Place {
  coord::JobStore store;
  std::string host;  // this node's address the others can reach
  std::string node_dir, job_dir;
  int node = 0;
  int nodes = 1;
};
Result<uint64_t> RecoverNodeParts(const Config& cfg, const NodeL2Place& place,
                                  const std::set<uint64_t>& scratch,
                                  const std::set<uint64_t>& elsewhere, int timeout_ms, Env* env);

}  // namespace cairn::tree
