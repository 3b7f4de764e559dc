// See flush.h.
#include "pipeline/flush.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common/names.h"
#include "storage/level.h"

namespace cairn::pipeline {
namespace {

bool PlainName(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

// Copies r.copy (each through NAME.tmp, synced, renamed) and removes r.remove (flush.h).
Status CopyAndRemove(const FlushRequest& r, Env* env, Pacer* pacer,
                     std::atomic<uint64_t>* progress) {
  for (const std::string& n : r.copy) {
    const std::string src = JoinPath(r.from, n), dst = JoinPath(r.to, n);
    auto have = env->Stat(dst);
    auto want = env->Stat(src);
    if (!want.ok()) return want.status().Annotate("flush");
    if (have.ok() && have.value().size == want.value().size) continue;
    CAIRN_RETURN_IF_ERROR(CopyFile(src, dst + ".tmp", /*sync=*/true, progress, pacer));
    CAIRN_RETURN_IF_ERROR(env->Rename(dst + ".tmp", dst));
    CAIRN_RETURN_IF_ERROR(env->SyncDir(r.to));
  }
  for (const std::string& n : r.remove) {
    const std::string p = JoinPath(r.to, n);
    if (env->Exists(p)) CAIRN_RETURN_IF_ERROR(env->RemoveFile(p));
  }
  if (!r.remove.empty()) CAIRN_RETURN_IF_ERROR(env->SyncDir(r.to));
  return Status::Ok();
}

}  // namespace

Status Flush(const FlushRequest& r, Env* env, Pacer* pacer, std::atomic<uint64_t>* progress) {
  if (r.from.empty() || r.from[0] != '/' || r.to.empty() || r.to[0] != '/') {
    return Status::InvalidArgument("flush: directories must be absolute ('" + r.from + "', '" +
                                   r.to + "')");
  }
  for (const auto* list : {&r.copy, &r.remove}) {
    for (const std::string& n : *list) {
      if (!PlainName(n)) return Status::InvalidArgument("flush: bad file name '" + n + "'");
    }
  }
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(r.to));
  // One flusher per destination at a time, across processes (two backends, or the
  // coordinator's request and `cairn checkpoint --wait`'s): the second waits, then finds the
  // files there and only confirms. The kernel drops the lock of a killed flusher.
  const std::string lock_path = JoinPath(r.to, kFlushLockName);
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return Status::FromErrno("flush: cannot open '" + lock_path + "'", errno);
  int rc;
  while ((rc = ::flock(lock, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int e = errno;
    ::close(lock);
    return Status::FromErrno("flush: cannot lock '" + lock_path + "'", e);
  }
  Status st = CopyAndRemove(r, env, pacer, progress);
  ::close(lock);  // releases the lock
  return st;
}

}  // namespace cairn::pipeline
