// See file_lock.h.
#include "transparent/objects/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "transparent/procfs.h"

namespace cairn::transparent::objects {

std::vector<FileLock> CaptureLocks(int fd, const std::string& fdinfo) {
  // lock:\t1: POSIX  ADVISORY  WRITE 10141 fe:00:10954561 10 19
  std::vector<FileLock> out;
  for (const std::string& line : Lines(fdinfo)) {
    if (!line.starts_with("lock:")) continue;
    std::vector<std::string> w = Words(std::string_view(line).substr(5));
    w.resize(8);  // id kind mode rw pid dev start end; missing ones empty
    const std::string &kind = w[1], &rw = w[3], &start = w[6], &end = w[7];
    if (kind == "->") {  // a waiter (blocked on a lock), not a holder
      continue;
    }
    FileLock l;
    l.kind = kind == "FLOCK" ? 1u : kind == "POSIX" ? 2u : kind == "OFDLCK" ? 3u : 0u;
    if (l.kind == 0 || (rw != "READ" && rw != "WRITE") || start.empty()) {
      log::Info("transparent: fd ", fd, ": lock '", line, "' is not restored");
      continue;
    }
    l.write = rw == "WRITE";
    if (l.kind != 1) {
      l.start = std::stoll(start);
      l.end = end == "EOF" ? -1 : std::stoll(end);
    }
    out.push_back(l);
  }
  return out;
}

std::string Describe(const FileLock& l) {
  const char* kind = l.kind == 1 ? "flock" : l.kind == 2 ? "POSIX" : "open file description";
  std::string s = std::string(kind) + (l.write ? " write" : " read") + " lock";
  if (l.kind != 1) {
    s += " on bytes " + std::to_string(l.start) + ".." +
         (l.end < 0 ? std::string("end of file") : std::to_string(l.end));
  }
  return s;
}

Status RestoreLocks(int fd, const std::vector<FileLock>& locks) {
  for (const FileLock& l : locks) {
    int rc;
    if (l.kind == 1) {
      do {
        rc = ::flock(fd, (l.write ? LOCK_EX : LOCK_SH) | LOCK_NB);
      } while (rc != 0 && errno == EINTR);
    } else {
      struct flock fl {};
      fl.l_type = l.write ? F_WRLCK : F_RDLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = l.start;
      fl.l_len = l.end < 0 ? 0 : l.end - l.start + 1;
      do {
        rc = ::fcntl(fd, l.kind == 2 ? F_SETLK : F_OFD_SETLK, &fl);
      } while (rc != 0 && errno == EINTR);
    }
    if (rc != 0) {
      const int e = errno;
      if (e == EAGAIN || e == EACCES || e == EWOULDBLOCK) {
        return Status::FailedPrecondition(Describe(l) +
                                          ": another process holds a conflicting lock");
      }
      return Status::FromErrno(Describe(l), e);
    }
  }
  return Status::Ok();
}

}  // namespace cairn::transparent::objects
