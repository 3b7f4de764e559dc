// Identity of an async backend: one per user, job and configuration.
//
//   runtime dir  $CAIRN_RUNTIME_DIR, else $XDG_RUNTIME_DIR, else /tmp, plus
//                "/cairn-<uid>"; created 0700 and refused unless it is a directory
//                owned by this user with no group/other permissions.
//   key          16 hex digits of XXH3(job id, resolved configuration text): a client
//                never reaches a backend of another job or another configuration.
//   files        b-<key>.sock (socket, 0600), b-<key>.lock (spawn lock),
//                b-<key>.pid (held locked by the live backend; holds pid, job),
//                b-<key>.cfg (the configuration it runs with), b-<key>.log (stderr).
// Job id: CAIRN_JOB_ID, SLURM_JOB_ID, PBS_JOBID, LSB_JOBID, PMIX_NAMESPACE,
// OMPI_MCA_ess_base_jobid, in that order; empty when none is set.
#pragma once

#include <string>

#include "common/status.h"

namespace cairn::ipc {

struct BackendPaths {
  std::string dir, key, socket, lock, pid, config, log;
};

Result<std::string> RuntimeDir();
std::string JobId();
BackendPaths PathsFor(const std::string& runtime_dir, const std::string& key);
std::string BackendKey(const std::string& job_id, const std::string& config_text);

}  // namespace cairn::ipc
