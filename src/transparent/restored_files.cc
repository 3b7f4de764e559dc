// See restored_files.h.
#include "transparent/restored_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "env/fd_io.h"
#include "transparent/naming.h"
#include "transparent/objects/event_objects.h"
#include "transparent/objects/fifo.h"
#include "transparent/objects/file_lock.h"
#include "transparent/objects/socket.h"
#include "transparent/objects/tcp.h"
#include "transparent/objects/tty.h"

namespace cairn::transparent {
namespace {

// Status flags that fcntl(F_SETFL) can restore.
constexpr int kSettableFlags = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

// A duplicate of `from` (an object created once for the job) at f's number, with f's saved
// status flags.
Status PlaceShared(int from, const FileState& f) {
  if (::dup2(from, f.fd) < 0) {
    return Status::FromErrno("dup2 to descriptor " + std::to_string(f.fd), errno);
  }
  (void)::fcntl(f.fd, F_SETFL, static_cast<int>(f.open_flags) & kSettableFlags);
  return Status::Ok();
}

// Puts `fd` at `target` (closing fd), or leaves it there.
Status Place(int fd, int target) {
  if (fd == target) return Status::Ok();
  if (::dup2(fd, target) < 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("dup2 to descriptor " + std::to_string(target), e);
  }
  ::close(fd);
  return Status::Ok();
}

// One end of a new UNIX stream socket pair whose other end is closed, placed at `target`:
// what a program holding a connection sees after its peer reset it.
Status InstallClosedConnection(int target) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::FromErrno("socketpair", errno);
  }
  ::close(sv[1]);
  return Place(sv[0], target);
}

bool Writable(const FileState& f) { return (f.open_flags & O_ACCMODE) != O_RDONLY; }

// A file of procfs: its content is made by the kernel when it is read.
bool IsProcFile(const FileState& f) { return f.path.starts_with("/proc/"); }

std::string Describe(const FileState& f) {
  return "fd " + std::to_string(f.fd) + " ('" + f.path + "')";
}

}  // namespace

Result<int> MoveFdAbove(int fd, int min_fd) {
  int nfd = ::fcntl(fd, F_DUPFD, min_fd);
  int e = errno;
  ::close(fd);
  if (nfd < 0) return Status::FromErrno("fcntl(F_DUPFD)", e);
  return nfd;
}

bool IsLineageLock(const std::string& path) { return naming::IsLineageLock(path); }

RestoredFiles::~RestoredFiles() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

namespace {
constexpr int kLockGraceMs = 2000;
}  // namespace

Status RestoredFiles::Check() {
  for (const auto& f : files_) {
    if (Inherited(f) || f.kind != FileKind::kRegular) continue;
    if (IsLineageLock(f.path)) {
      // The control directory is gone when the image comes from another level (a wiped
      // node-local scratch, tree/levels.h): made again, so the restarted process can take
      // its lock and listen there.
      (void)Env::Default()->CreateDirs(DirName(f.path));
      int fd = ::open(f.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return Status::FromErrno("cannot open the lock '" + f.path + "'", errno);
      // A process killed a moment ago releases its lock once the kernel has torn it down:
      // a holder gets kLockGraceMs to let go before the restart is refused.
      int rc = ::flock(fd, LOCK_EX | LOCK_NB);
      for (int waited = 0; rc != 0 && errno == EWOULDBLOCK && waited < kLockGraceMs; waited += 20) {
        ::usleep(20 * 1000);
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
      }
      if (rc != 0) {
        int e = errno;
        ::close(fd);
        if (e == EWOULDBLOCK) {
          return Status::FailedPrecondition(
              "the process saved in this image still runs (it, or an earlier restart of it, "
              "holds '" +
              f.path + "'); stop it first, e.g. with cairn checkpoint --kill");
        }
        return Status::FromErrno("cannot lock '" + f.path + "'", e);
      }
      lock_fd_ = fd;
      lock_target_ = f.fd;
      continue;
    }
    // A /proc file describes a process that the restart has yet to create: opened at Install.
    if (f.content_included || IsProcFile(f)) continue;
    struct stat st;
    if (::stat(f.path.c_str(), &st) != 0) {
      return Status::FromErrno("cannot restore " + Describe(f) + ": the file is gone", errno);
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::FailedPrecondition("cannot restore " + Describe(f) +
                                        ": it is no longer a regular file");
    }
  }
  return Status::Ok();
}

Status RestoredFiles::InstallRegular(const FileState& f) {
  int fd = -1;
  if (f.content_included) {
    fd = ::memfd_create("cairn-deleted-file", 0);
    if (fd < 0) return Status::FromErrno("memfd_create", errno);
    Status st = WriteFd(fd, f.content, "a restored file's content");
    if (!st.ok()) {
      ::close(fd);
      return st;
    }
  } else {
    const int flags =
        static_cast<int>(f.open_flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_CLOEXEC);
    fd = ::open(f.path.c_str(), flags);
    if (fd < 0) return Status::FromErrno("cannot reopen '" + f.path + "'", errno);
    struct stat st;
    if (f.kind == FileKind::kRegular && ::fstat(fd, &st) == 0) {
      const uint64_t now_size = static_cast<uint64_t>(st.st_size);
      const int64_t now_mtime =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      if (Writable(f) && now_size > f.size) {
        if (::ftruncate(fd, static_cast<off_t>(f.size)) != 0) {
          int e = errno;
          ::close(fd);
          return Status::FromErrno("cannot truncate '" + f.path + "' to its checkpoint size", e);
        }
        warnings_.push_back(Describe(f) + " grew since the checkpoint; truncated back to " +
                            std::to_string(f.size) + " bytes");
      } else if (now_size < f.size) {
        warnings_.push_back(Describe(f) + " shrank since the checkpoint (" +
                            std::to_string(f.size) + " -> " + std::to_string(now_size) + " bytes)");
      } else if (!Writable(f) && now_mtime != f.mtime_ns && !IsProcFile(f)) {
        warnings_.push_back(Describe(f) +
                            " changed since the checkpoint; the program sees the new content");
      }
    }
  }
  if (f.offset >= 0 && ::lseek(fd, f.offset, SEEK_SET) < 0 && f.kind == FileKind::kRegular) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("cannot seek '" + f.path + "'", e);
  }
  return Place(fd, f.fd);
}

// A FIFO (objects/fifo.h) re-opened by its path, holding its bytes in flight; when it is gone,
// an anonymous pipe takes its place (a warning).
Status RestoredFiles::InstallFifo(uint64_t pipe_id, int min_temp_fd, std::vector<int>* installed) {
  std::vector<const FileState*> ends;
  std::string data;
  size_t capacity = 0;
  for (const auto& f : files_) {
    if (f.kind != FileKind::kFifo || f.pipe_id != pipe_id || Inherited(f)) continue;
    ends.push_back(&f);
    data += f.pipe_data;
    auto it = pipe_sizes_.find(f.fd);
    if (it != pipe_sizes_.end()) capacity = std::max(capacity, static_cast<size_t>(it->second));
  }
  auto fds =
      objects::RestoreFifo(ends, data, std::max(capacity, data.size()), min_temp_fd, &warnings_);
  if (!fds.ok() && fds.status().code() == Code::kNotFound) {
    warnings_.push_back(Describe(*ends.front()) + ": " + fds.status().message() +
                        "; an anonymous pipe takes its place");
    return InstallPipe(pipe_id, FileKind::kFifo, min_temp_fd, installed);
  }
  if (!fds.ok()) return fds.status().Annotate("cannot restore " + Describe(*ends.front()));
  for (size_t i = 0; i < ends.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(Place(fds.value()[i], ends[i]->fd));
    (void)::fcntl(ends[i]->fd, F_SETFL, static_cast<int>(ends[i]->open_flags) & kSettableFlags);
    installed->push_back(ends[i]->fd);
  }
  return Status::Ok();
}

Status RestoredFiles::InstallSharedPipe(const FileState& f, const SharedPipe& p) {
  const bool reads = (f.open_flags & O_ACCMODE) == O_RDONLY;
  int src = reads ? p.read_fd : p.write_fd;
  int null_fd = -1;
  if (src < 0) {
    // The other processes of the job had no such end: a reader gets end of file, a writer
    // writes to /dev/null (the restart of a single process does the same).
    null_fd = ::open("/dev/null", (reads ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
    if (null_fd < 0) return Status::FromErrno("open /dev/null", errno);
    src = null_fd;
    warnings_.push_back("pipe " + std::to_string(f.pipe_id) + " of " + Describe(f) + ": its " +
                        (reads ? "write" : "read") + " end was outside the job; " +
                        (reads ? "reads see end of file" : "writes go to /dev/null"));
  }
  Status st = PlaceShared(src, f);
  if (null_fd >= 0) ::close(null_fd);
  return st;
}

Status RestoredFiles::InstallPipe(uint64_t pipe_id, FileKind kind, int min_temp_fd,
                                  std::vector<int>* installed) {
  std::vector<const FileState*> readers, writers;
  std::string data;
  for (const auto& f : files_) {
    if (f.kind != kind || f.pipe_id != pipe_id || Inherited(f)) continue;
    ((f.open_flags & O_ACCMODE) == O_RDONLY ? readers : writers).push_back(&f);
    data += f.pipe_data;
  }
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", errno);
  auto r = MoveFdAbove(ends[0], min_temp_fd);
  if (!r.ok()) {
    ::close(ends[1]);
    return r.status();
  }
  auto w = MoveFdAbove(ends[1], min_temp_fd);
  if (!w.ok()) {
    ::close(r.value());
    return w.status();
  }
  int rfd = r.value(), wfd = w.value();
  size_t capacity = data.size();
  for (const auto* list : {&readers, &writers}) {
    for (const FileState* f : *list) {
      auto it = pipe_sizes_.find(f->fd);
      if (it != pipe_sizes_.end()) capacity = std::max(capacity, static_cast<size_t>(it->second));
    }
  }
  if (capacity > 65536 && ::fcntl(wfd, F_SETPIPE_SZ, static_cast<int>(capacity)) < 0) {
    warnings_.push_back("pipe " + std::to_string(pipe_id) + ": cannot set its capacity to " +
                        std::to_string(capacity) + " bytes: " + std::strerror(errno));
  }
  Status st = WriteFd(wfd, data, "a pipe's bytes in flight");
  if (st.ok() && writers.empty()) {
    warnings_.push_back("pipe " + std::to_string(pipe_id) +
                        ": its write end was outside the process; the reader gets the " +
                        std::to_string(data.size()) + " saved bytes, then end of file");
    ::close(wfd);
    wfd = -1;
  }
  if (st.ok() && readers.empty()) {
    warnings_.push_back("pipe " + std::to_string(pipe_id) +
                        ": its read end was outside the process; writes go to /dev/null");
    ::close(wfd);
    ::close(rfd);
    rfd = -1;
    wfd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (wfd < 0) st = Status::FromErrno("open /dev/null", errno);
  }
  for (const auto* list : {&readers, &writers}) {
    const int src = list == &readers ? rfd : wfd;
    for (const FileState* f : *list) {
      if (!st.ok() || src < 0) break;
      if (::dup2(src, f->fd) < 0) {
        st = Status::FromErrno("dup2 to descriptor " + std::to_string(f->fd), errno);
        break;
      }
      (void)::fcntl(f->fd, F_SETFL, static_cast<int>(f->open_flags) & kSettableFlags);
      installed->push_back(f->fd);
    }
  }
  if (rfd >= 0) ::close(rfd);
  if (wfd >= 0) ::close(wfd);
  return st;
}

// A socket the process held (objects/socket.h): a socket already re-created is dup()ed; a
// UNIX pair is re-created whole, both ends placed; a listener or unconnected socket is bound
// again. `sockets_at`: socket id -> the descriptor that holds it now.
Status RestoredFiles::InstallSocket(const FileState& f, int min_temp_fd,
                                    std::map<uint64_t, int>* sockets_at,
                                    std::vector<int>* installed) {
  auto Settle = [&](int fd, const FileState& g) {
    (void)::fcntl(fd, F_SETFL, static_cast<int>(g.open_flags) & kSettableFlags);
    (*sockets_at)[g.socket.id] = fd;
    installed->push_back(fd);
  };
  if (auto it = sockets_at->find(f.socket.id); it != sockets_at->end()) {
    if (it->second == f.fd) return Status::Ok();  // placed with its peer
    if (::dup2(it->second, f.fd) < 0) {
      return Status::FromErrno("cannot restore " + Describe(f) + " as a duplicate", errno);
    }
    installed->push_back(f.fd);
    return Status::Ok();
  }
  if (objects::Restorable(f, files_) == objects::SocketRestore::kPair) {
    const FileState* peer = objects::FindPeer(files_, f);
    auto fds = objects::RestorePair(f, *peer, min_temp_fd);
    if (!fds.ok()) return fds.status().Annotate("cannot restore the socket pair of " + Describe(f));
    if (peer->fd <= 2) {  // the restart command's own: only this end comes back
      ::close(fds.value().second);
    } else {
      CAIRN_RETURN_IF_ERROR(Place(fds.value().second, peer->fd));
      Settle(peer->fd, *peer);
    }
    CAIRN_RETURN_IF_ERROR(Place(fds.value().first, f.fd));
    Settle(f.fd, f);
    return Status::Ok();
  }
  if (objects::Restorable(f, files_) == objects::SocketRestore::kPending) {
    // Into the listener's accept queue again: the listener first (placed at its own number).
    const FileState* l = objects::FindListener(files_, f);
    CAIRN_RETURN_IF_ERROR(InstallSocket(*l, min_temp_fd, sockets_at, installed));
    auto c = objects::RestorePending(f, sockets_at->at(l->socket.id), min_temp_fd);
    if (!c.ok()) return c.status().Annotate("cannot restore the connection " + Describe(f));
    CAIRN_RETURN_IF_ERROR(Place(c.value(), f.fd));
    Settle(f.fd, f);
    return Status::Ok();
  }
  auto fd = objects::RestoreAlone(f, min_temp_fd);
  if (!fd.ok()) return fd.status().Annotate("cannot restore the socket " + Describe(f));
  CAIRN_RETURN_IF_ERROR(Place(fd.value(), f.fd));
  Settle(f.fd, f);
  return Status::Ok();
}

Result<std::vector<int>> RestoredFiles::Install(int min_temp_fd) {
  std::vector<int> installed;
  std::map<uint64_t, int> sockets_at;
  std::vector<uint64_t> pipes_done, fifos_done;
  for (const auto& f : files_) {
    if (Inherited(f)) continue;
    if (f.fd == lock_target_ && lock_fd_ >= 0) {
      CAIRN_RETURN_IF_ERROR(Place(lock_fd_, f.fd));
      lock_fd_ = -1;
      installed.push_back(f.fd);
      continue;
    }
    if (f.kind == FileKind::kSocket && shared_sockets_.count(f.socket.id) != 0) {
      CAIRN_RETURN_IF_ERROR(PlaceShared(shared_sockets_.at(f.socket.id), f));
      installed.push_back(f.fd);
      continue;
    }
    if (f.kind == FileKind::kTty &&
        (f.tty.flags & (objects::kTtyMaster | objects::kTtySlave)) != 0 &&
        shared_ptys_.count(f.tty.index) != 0) {
      const auto& [master, slave] = shared_ptys_.at(f.tty.index);
      CAIRN_RETURN_IF_ERROR(
          PlaceShared((f.tty.flags & objects::kTtyMaster) != 0 ? master : slave, f));
      installed.push_back(f.fd);
      continue;
    }
    if (f.kind == FileKind::kPipe && shared_pipes_.count(f.pipe_id) != 0) {
      CAIRN_RETURN_IF_ERROR(InstallSharedPipe(f, shared_pipes_.at(f.pipe_id)));
      installed.push_back(f.fd);
      continue;
    }
    if (f.kind == FileKind::kPipe) {
      if (std::find(pipes_done.begin(), pipes_done.end(), f.pipe_id) != pipes_done.end()) continue;
      pipes_done.push_back(f.pipe_id);
      Status st = InstallPipe(f.pipe_id, FileKind::kPipe, min_temp_fd, &installed);
      if (!st.ok()) warnings_.push_back("pipe of " + Describe(f) + ": " + st.ToString());
      continue;
    }
    if (f.kind == FileKind::kFifo) {
      if (std::find(fifos_done.begin(), fifos_done.end(), f.pipe_id) != fifos_done.end()) continue;
      fifos_done.push_back(f.pipe_id);
      CAIRN_RETURN_IF_ERROR(InstallFifo(f.pipe_id, min_temp_fd, &installed));
      continue;
    }
    if (IsEventObject(f.kind)) continue;  // after the others: InstallEventObjects
    const objects::SocketRestore how = f.kind == FileKind::kSocket ? objects::Restorable(f, files_)
                                                                   : objects::SocketRestore::kNone;
    if (how == objects::SocketRestore::kPair ||
        (bind_sockets_ && how != objects::SocketRestore::kNone)) {
      CAIRN_RETURN_IF_ERROR(InstallSocket(f, min_temp_fd, &sockets_at, &installed));
      continue;
    }
    const bool device = f.kind == FileKind::kOther && f.path.starts_with("/dev/");
    if (f.kind != FileKind::kRegular && f.kind != FileKind::kDirectory && !device) {
      // Not restored, but its number stays taken: a thread may still use it, and the next
      // descriptor the program opens must not silently become it.
      Status st = InstallClosedConnection(f.fd);
      warnings_.push_back(Describe(f) + " (" + FileKindName(f.kind) + ") is not restored" +
                          (st.ok() ? "; it is a closed connection now (reads see end of file, "
                                     "writes fail with EPIPE)"
                                   : ": " + st.ToString()));
      if (st.ok()) installed.push_back(f.fd);
      continue;
    }
    Status st = InstallRegular(f);
    if (!st.ok()) {
      if (f.kind == FileKind::kRegular) return st.Annotate("restoring " + Describe(f));
      warnings_.push_back(Describe(f) + ": " + st.ToString());
      continue;
    }
    installed.push_back(f.fd);
  }
  CAIRN_RETURN_IF_ERROR(InstallEventObjects(&installed));
  // Locks last: closing any descriptor of a file drops the process's POSIX locks on it.
  for (const auto& f : files_) {
    if (Inherited(f) || f.locks.empty() || IsLineageLock(f.path)) continue;
    Status st = objects::RestoreLocks(f.fd, f.locks);
    if (!st.ok()) return st.Annotate("cannot restore the locks of " + Describe(f));
  }
  return installed;
}

// Eventfds, timerfds and signalfds first, then the epolls (their targets must be open; an
// epoll watching another waits for it), then duplicates of any of them.
Status RestoredFiles::InstallEventObjects(std::vector<int>* installed) {
  std::vector<const FileState*> epolls;
  for (const auto& f : files_) {
    if (Inherited(f) || !IsEventObject(f.kind) || f.object.same_as >= 0) continue;
    if (f.kind == FileKind::kEpoll) {
      epolls.push_back(&f);
      continue;
    }
    auto fd = objects::Restore(f);
    if (!fd.ok()) return fd.status();
    CAIRN_RETURN_IF_ERROR(Place(fd.value(), f.fd));
    installed->push_back(f.fd);
  }
  while (!epolls.empty()) {
    auto ready = std::find_if(epolls.begin(), epolls.end(), [&](const FileState* e) {
      return std::none_of(
          e->object.targets.begin(), e->object.targets.end(), [&](const EpollTarget& t) {
            return std::any_of(epolls.begin(), epolls.end(),
                               [&](const FileState* o) { return o != e && o->fd == t.fd; });
          });
    });
    if (ready == epolls.end()) {
      return Status::FailedPrecondition("cannot restore " + Describe(*epolls.front()) +
                                        ": epoll instances watch each other in a cycle");
    }
    auto fd = objects::Restore(**ready);
    if (!fd.ok()) return fd.status();
    CAIRN_RETURN_IF_ERROR(Place(fd.value(), (*ready)->fd));
    installed->push_back((*ready)->fd);
    epolls.erase(ready);
  }
  for (const auto& f : files_) {
    if (Inherited(f) || !IsEventObject(f.kind) || f.object.same_as < 0) continue;
    if (::dup2(f.object.same_as, f.fd) < 0) {
      return Status::FromErrno("cannot restore " + Describe(f) + " as a duplicate of fd " +
                                   std::to_string(f.object.same_as),
                               errno);
    }
    installed->push_back(f.fd);
  }
  return Status::Ok();
}

}  // namespace cairn::transparent
