// What `cairn launch --node I` and `cairn restart --node I` do around one node's process tree
// of a job spread over several nodes (tree/node_agent.h): node 0 starts the job's coordinator
// (manifest kind "nodes", in the job directory every node sees); every node starts its agent,
// which joins it and checkpoints the node's tree in its rounds.
//
// Contract:
//   - StartNodeServices returns once the coordinator (node 0) has written its address file
//     and the agent has started (it joins the coordinator on its own, retrying: the other
//     nodes may come up later); both are daemons (`cairn coordinator --daemon`,
//     `cairn node-agent --daemon`) that watch this process (the program after launch's exec,
//     or `cairn restart`) and end with the node's job. Bounded: 30 s each.
#pragma once

#include <string>

#include "common/status.h"

namespace cairn::job {

struct NodePlacement {
  std::string node_dir;  // the node's own checkpoint directory
  std::string job_dir;   // the job directory, on a file system every node sees
  int node = 0;          // 0..nodes-1
  int nodes = 1;
  std::string address;  // this node's address for the other nodes ("": the default)
  int keep = 2;
  long interval_s = 0;  // node 0's coordinator also checkpoints every interval_s seconds
};

// The job key of a job spread over nodes whose job directory is `job_dir`: every node of the
// job, and every restart of it, names the same one.
std::string NodeJobKey(const std::string& job_dir);

Status StartNodeServices(const std::string& cairn_binary, const NodePlacement& p);

}  // namespace cairn::job
