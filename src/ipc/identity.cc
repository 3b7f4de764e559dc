#include "ipc/identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "common/hash.h"

namespace cairn::ipc {

Result<std::string> RuntimeDir() {
  const char* base = std::getenv("CAIRN_RUNTIME_DIR");
  if (base == nullptr || *base == 0) base = std::getenv("XDG_RUNTIME_DIR");
  if (base == nullptr || *base == 0) base = "/tmp";
  std::string dir = std::string(base) + "/cairn-" + std::to_string(::getuid());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno("cannot create runtime directory '" + dir + "'", errno);
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Status::FromErrno("cannot stat '" + dir + "'", errno);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0) {
    return Status::FailedPrecondition("runtime directory '" + dir +
                                      "' is not a private directory of this user (want 0700, "
                                      "owned by uid " + std::to_string(::getuid()) + ")");
  }
  return dir;
}

std::string JobId() {
  for (const char* var : {"CAIRN_JOB_ID", "SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID",
                          "PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != 0) return v;
  }
  return "";
}

std::string BackendKey(const std::string& job_id, const std::string& config_text) {
  std::string all = job_id + "\n" + config_text;
  char b[17];
  std::snprintf(b, sizeof(b), "%016" PRIx64, Hash64(all.data(), all.size()));
  return b;
}

BackendPaths PathsFor(const std::string& runtime_dir, const std::string& key) {
  BackendPaths p;
  p.dir = runtime_dir;
  p.key = key;
  std::string base = runtime_dir + "/b-" + key;
  p.socket = base + ".sock";
  p.lock = base + ".lock";
  p.pid = base + ".pid";
  p.config = base + ".cfg";
  p.log = base + ".log";
  return p;
}

}  // namespace cairn::ipc
