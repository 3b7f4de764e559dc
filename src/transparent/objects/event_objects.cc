// See event_objects.h: the dispatch over the kinds and what they share.
#include "transparent/objects/event_objects.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "transparent/procfs.h"

namespace cairn::transparent::objects {

FileKind KindOfLink(const std::string& link) {
  if (link == "anon_inode:[eventfd]") return FileKind::kEventfd;
  if (link == "anon_inode:[timerfd]") return FileKind::kTimerfd;
  if (link == "anon_inode:[signalfd]") return FileKind::kSignalfd;
  if (link == "anon_inode:[eventpoll]") return FileKind::kEpoll;
  if (link == "anon_inode:inotify") return FileKind::kInotify;
  return FileKind::kOther;
}

Result<int> MoveAbove(int fd, int min_fd, const std::string& what) {
  if (fd < 0) return Status::FromErrno(what, errno);
  int nfd = ::fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
  const int e = errno;
  ::close(fd);
  if (nfd < 0) return Status::FromErrno("fcntl(F_DUPFD_CLOEXEC)", e);
  return nfd;
}

std::string Describe(int fd, FileKind k) {
  return "fd " + std::to_string(fd) + " (" + FileKindName(k) + ")";
}

bool FdinfoNumber(const std::string& fdinfo, const std::string& key, int base, uint64_t* out) {
  const std::string v = ProcField(fdinfo, key);
  if (v.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, base);
  if (errno != 0 || end == v.c_str()) return false;
  *out = n;
  return true;
}

Status Capture(int fd, const std::string& fdinfo, FileState* f) {
  f->object = EventObjectState{};
  Status st;
  switch (f->kind) {
    case FileKind::kEventfd:
      st = CaptureEventfd(fd, fdinfo, &f->object);
      break;
    case FileKind::kTimerfd:
      st = CaptureTimerfd(fd, fdinfo, &f->object);
      break;
    case FileKind::kSignalfd:
      st = CaptureSignalfd(fd, fdinfo, &f->object);
      break;
    case FileKind::kEpoll:
      st = CaptureEpoll(fd, fdinfo, &f->object);
      break;
    case FileKind::kInotify:
      st = CaptureInotify(fd, fdinfo, &f->object);
      break;
    default:
      return Status::InvalidArgument(Describe(fd, f->kind) + " is not an event object");
  }
  return st.ok() ? st : st.Annotate(Describe(fd, f->kind));
}

std::string Summary(const FileState& f) {
  const EventObjectState& o = f.object;
  if (!IsEventObject(f.kind)) return "";
  if (o.same_as >= 0) return "same as fd " + std::to_string(o.same_as);
  auto ms = [](int64_t ns) { return std::to_string(ns / 1000000) + " ms"; };
  switch (f.kind) {
    case FileKind::kEventfd:
      return "counter " + std::to_string(o.count) + ((o.flags & 1u) != 0 ? ", semaphore" : "");
    case FileKind::kTimerfd:
      return "clock " + std::to_string(o.flags) +
             (o.value_ns == 0 ? ", disarmed" : ", next in " + ms(o.value_ns)) +
             (o.interval_ns == 0 ? "" : ", every " + ms(o.interval_ns)) +
             (o.count == 0 ? "" : ", " + std::to_string(o.count) + " unread");
    case FileKind::kSignalfd: {
      std::string sigs;
      for (int sig = 1; sig <= 64; ++sig) {
        if ((o.mask >> (sig - 1)) & 1u) sigs += (sigs.empty() ? "" : " ") + std::to_string(sig);
      }
      return "signals " + (sigs.empty() ? std::string("none") : sigs);
    }
    case FileKind::kInotify: {
      std::string out = std::to_string(o.watches.size()) + " watches";
      for (const InotifyWatch& w : o.watches) {
        out += std::string(w.wd == o.watches.front().wd ? ": " : ", ") + std::to_string(w.wd) +
               " " + (w.path.empty() ? "(path unknown)" : w.path);
      }
      return out;
    }
    default: {
      std::string fds;
      for (const EpollTarget& t : o.targets) fds += " " + std::to_string(t.fd);
      return o.targets.empty() ? "watches nothing" : "watches fds" + fds;
    }
  }
}

bool SameOpenFile(int a, int b) {
  const pid_t self = ::getpid();
  return ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

Result<int> Restore(const FileState& f) {
  Result<int> r = Status::InvalidArgument(Describe(f.fd, f.kind) + " is not an event object");
  switch (f.kind) {
    case FileKind::kEventfd:
      r = RestoreEventfd(f);
      break;
    case FileKind::kTimerfd:
      r = RestoreTimerfd(f);
      break;
    case FileKind::kSignalfd:
      r = RestoreSignalfd(f);
      break;
    case FileKind::kEpoll:
      r = RestoreEpoll(f);
      break;
    case FileKind::kInotify:
      r = RestoreInotify(f);
      break;
    default:
      return r;
  }
  if (!r.ok()) return r.status().Annotate("restoring " + Describe(f.fd, f.kind));
  return r;
}

}  // namespace cairn::transparent::objects
