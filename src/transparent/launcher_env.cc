// See launcher_env.h.
#include "transparent/launcher_env.h"

#include <unistd.h>

#include <cstdlib>

namespace cairn::transparent {
namespace {

int FirstInt(std::initializer_list<const char*> names) {
  for (const char* n : names) {
    const char* v = std::getenv(n);
    if (v == nullptr || *v == '\0') continue;
    char* end = nullptr;
    long x = std::strtol(v, &end, 10);
    if (*end == '\0' && x >= 0 && x < (1L << 30)) return static_cast<int>(x);
  }
  return -1;
}

std::string Env(const char* n) {
  const char* v = std::getenv(n);
  return v == nullptr ? "" : v;
}

}  // namespace

int LauncherRank() {
  return FirstInt({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"});
}

int LauncherSize() { return FirstInt({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"}); }

bool LauncherOnOneNode() {
  const int size = LauncherSize();
  const int local = FirstInt({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"});
  if (size > 0 && local > 0 && local < size) return false;
  return FirstInt({"SLURM_NNODES"}) <= 1;
}

std::string LauncherJobKey() {
  if (auto ns = Env("PMIX_NAMESPACE"); !ns.empty()) return "pmix:" + ns;
  if (auto j = Env("OMPI_MCA_orte_ess_jobid"); !j.empty()) return "ompi:" + j;
  if (auto s = Env("SLURM_JOB_ID"); !s.empty()) return "slurm:" + s + "." + Env("SLURM_STEP_ID");
  if (auto k = Env("PMI_KVSNAME"); !k.empty()) return "pmi:" + k;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return "ppid-" + std::to_string(::getppid()) + "@" + host;
}

bool LauncherVariable(std::string_view n) {
  for (std::string_view p : {"OMPI_", "PMIX_", "PMI_", "HYDRA_", "HYDI_", "MPIR_", "OPAL_", "ORTE_",
                             "SLURM_", "PALS_", "MPI_LOCAL"}) {
    if (n.starts_with(p)) return true;
  }
  return false;
}

}  // namespace cairn::transparent
