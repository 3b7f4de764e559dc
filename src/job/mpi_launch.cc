// See mpi_launch.h.
#include "job/mpi_launch.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "env/fd_io.h"
#include "job/slurm.h"

extern char** environ;

namespace cairn::job {
namespace {

std::string OnPath(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string p = path == nullptr ? "/usr/bin:/bin" : path;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t end = p.find(':', pos);
    if (end == std::string::npos) end = p.size();
    std::string cand = p.substr(pos, end - pos) + "/" + program;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    pos = end + 1;
  }
  return program;
}

}  // namespace

Result<std::string> DetectMpiAbi(const std::string& program) {
  const std::string exe = OnPath(program);
  for (const char* loader : {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"}) {
    if (::access(loader, X_OK) != 0) continue;
    auto out = RunTool({loader, "--list", exe}, 30000);
    if (!out.ok()) return out.status();
    const std::string& s = out.value().out;
    if (s.find("libmpi.so.40") != std::string::npos) return std::string("ompi");
    if (s.find("libmpich.so.12") != std::string::npos) return std::string("mpich");
    return Status::NotFound("'" + exe +
                            "' is linked against neither Open MPI (libmpi.so.40) nor MPICH "
                            "(libmpich.so.12); name the MPI with --mpi-abi ompi|mpich");
  }
  return Status::NotFound("no dynamic loader found to inspect '" + exe + "'");
}

Status StartCoordinator(const std::string& cairn_binary, const std::string& dir, int participants,
                        const std::string& job_key, long interval_s, int keep,
                        const std::string& kind, const std::string& advertise) {
  std::vector<std::string> argv = {
      cairn_binary, "coordinator", "--daemon", "--ckpt-dir", dir, "--participants",
      std::to_string(participants), "--job", job_key, "--interval", std::to_string(interval_s),
      "--keep", std::to_string(keep), "--kind", kind,
      // A job whose ranks never join (a refused restart) is given up soon, and at once when
      // this process (rank 0) is gone.
      "--join-timeout", "60", "--watch-pid", std::to_string(::getpid())};
  if (!advertise.empty()) {
    argv.push_back("--advertise");
    argv.push_back(advertise);
  }
  auto out = RunTool(argv, 30000);
  if (!out.ok()) return out.status().Annotate("starting the job's coordinator");
  if (out.value().exit_status != 0) {
    return Status::Unavailable("the job's coordinator did not start: " + out.value().err);
  }
  return Status::Ok();
}

Result<int> LauncherEnvironmentFd(int pmi_fd) {
  int fd = ::memfd_create("cairn-mpi-env", MFD_CLOEXEC);
  if (fd < 0) return Status::FromErrno("memfd_create", errno);
  std::string block;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (pmi_fd >= 0 && std::strncmp(*e, "PMI_FD=", 7) == 0) {
      block += "PMI_FD=" + std::to_string(pmi_fd);
    } else {
      block += *e;
    }
    block.push_back('\0');
  }
  if (Status st = WriteFd(fd, block, "the launcher's environment"); !st.ok()) {
    ::close(fd);
    return st;
  }
  return fd;
}

void DisableMemoryHooks() {
  ::setenv("UCX_MEM_EVENTS", "no", 0);
  ::setenv("UCX_MEM_MALLOC_HOOKS", "no", 0);
  ::setenv("UCX_MEM_MMAP_HOOK_MODE", "none", 0);
  ::setenv("OMPI_MCA_memory", "^patcher", 0);
  // For the preload library: the lower half's roots, before MPI_Init (lower_half.h).
  ::setenv("CAIRN_LOWER_ROOTS",
           "libmpi.so,libmpi_mpifh.so,libmpi_usempi,libmpi_cxx.so,libopen-pal.so,libopen-rte.so,"
           "libmpich.so,libmpichfort.so,libmpichcxx.so",
           1);
}

}  // namespace cairn::job
