// What an MPI launcher (Open MPI's mpirun/orted, MPICH's Hydra, Slurm's srun) tells each rank
// through its environment, read before MPI is initialized: by `cairn launch --mpi` (to start
// the job's coordinator on rank 0), `cairn restart --mpi` (to pick the rank's image) and the
// MPI shim (to join the coordinator).
//
// Contract:
//   - Rank(): OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK, SLURM_PROCID (first set); -1 if none.
//   - Size(): OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS; -1 if none.
//   - OnOneNode(): false when the launcher says the job's ranks span several nodes
//     (OMPI_COMM_WORLD_LOCAL_SIZE or MPICH's MPI_LOCALNRANKS below Size(), SLURM_NNODES > 1);
//     true otherwise (also when it says nothing).
//   - JobKey(): one string every rank of one job computes alike and another job does not:
//     PMIX_NAMESPACE / OMPI_MCA_orte_ess_jobid, else SLURM_JOB_ID.SLURM_STEP_ID, else
//     PMI_KVSNAME, else "ppid-<parent pid>@<host>" (ranks started by one local launcher).
//   - LauncherVariable(name): whether an environment variable belongs to the launcher (its
//     value changes with every launch: a restart takes these from the new launcher).
#pragma once

#include <string>
#include <string_view>

namespace cairn::transparent {

int LauncherRank();
int LauncherSize();
bool LauncherOnOneNode();
std::string LauncherJobKey();
bool LauncherVariable(std::string_view name_or_assignment);

}  // namespace cairn::transparent
