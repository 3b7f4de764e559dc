// See node_launch.h.
#include "job/node_launch.h"

#include <unistd.h>

#include "job/mpi_launch.h"
#include "job/slurm.h"

namespace cairn::job {

std::string NodeJobKey(const std::string& job_dir) { return "nodes:" + job_dir; }

Status StartNodeServices(const std::string& cairn_binary, const NodePlacement& p) {
  if (p.node == 0) {
    CAIRN_RETURN_IF_ERROR(StartCoordinator(cairn_binary, p.job_dir, p.nodes, NodeJobKey(p.job_dir),
                                           p.interval_s, p.keep, "nodes", p.address));
  }
  auto out = RunTool({cairn_binary, "node-agent", "--daemon", "--ckpt-dir", p.node_dir, "--job-dir",
                      p.job_dir, "--node", std::to_string(p.node), "--keep", std::to_string(p.keep),
                      "--watch-pid", std::to_string(::getpid())},
                     30000);
  if (!out.ok()) return out.status().Annotate("starting the node's agent");
  if (out.value().exit_status != 0) {
    return Status::Unavailable("the node's agent did not start: " + out.value().err);
  }
  return Status::Ok();
}

}  // namespace cairn::job
