// What `cairn launch --mpi` and `cairn restart --mpi` do around the program of one rank: find
// which MPI the program was built against (so the right shim is preloaded), start the job's
// coordinator on rank 0, and hand the new launcher's environment and connection to a restored
// rank (docs/mpi.md).
//
// Contract:
//   - DetectMpiAbi(program): "ompi" when the program (or a library it loads) needs Open MPI's
//     libmpi.so.40, "mpich" for MPICH's libmpich.so.12, asked of the dynamic loader in list
//     mode (nothing of the program runs); kNotFound naming the program otherwise.
//   - StartCoordinator(): runs `<cairn> coordinator --daemon` for DIR, `participants` ranks and
//     the launcher's job key, and returns once its address file is written (bounded: 30 s).
//   - LauncherEnvironmentFd(): a memfd named "cairn-mpi-env" holding this process's
//     environment (NUL-separated), with PMI_FD (MPICH's connection to its launcher) rewritten
//     to `pmi_fd` when that is >= 0; the MPI shim of a restored rank reads it (mpi/protocol.cc).
#pragma once

#include <string>

#include "common/status.h"

namespace cairn::job {

Result<std::string> DetectMpiAbi(const std::string& program);
// `interval_s` > 0: the coordinator also checkpoints every interval_s seconds; `keep`: the
// job manifests (and images) it keeps; `kind`: of its manifests (mpi, or nodes for a tree on
// several nodes, tree/node_agent.h); `advertise`: the address in its address file ("": its
// default).
Status StartCoordinator(const std::string& cairn_binary, const std::string& dir, int participants,
                        const std::string& job_key, long interval_s = 0, int keep = 2,
                        const std::string& kind = "mpi", const std::string& advertise = "");
Result<int> LauncherEnvironmentFd(int pmi_fd);

// Turns off the memory hooks MPI stacks install by patching other libraries' code or GOT
// entries (UCX's UCM, Open MPI's memory patcher): a patched upper half would call into a
// lower half that is gone after a restart. Sets UCX_MEM_EVENTS=no, UCX_MEM_MALLOC_HOOKS=no,
// UCX_MEM_MMAP_HOOK_MODE=none and OMPI_MCA_memory=^patcher unless the user set them.
void DisableMemoryHooks();

}  // namespace cairn::job
