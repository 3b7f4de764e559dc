// timerfd: clock, time to the next expiration, period and unread expirations (see
// event_objects.h).
//
// Capture takes the time left and the period from timerfd_gettime() (relative, whatever the
// timer was armed with: a restart resumes as if the process had been paused), the clock and
// the unread expirations ("ticks") from fdinfo. Restore arms a new timer with them and puts the
// unread expirations back with TFD_IOC_SET_TICKS; a kernel without it (no
// CONFIG_CHECKPOINT_RESTORE) gets one expiration due at once instead, said in the log.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "transparent/objects/event_objects.h"
#include "transparent/procfs.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

namespace cairn::transparent::objects {
namespace {

int64_t Ns(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec; }
timespec Ts(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000LL), static_cast<long>(ns % 1000000000LL)};
}

}  // namespace

Status CaptureTimerfd(int fd, const std::string& fdinfo, EventObjectState* o) {
  uint64_t clock = 0;
  if (!FdinfoNumber(fdinfo, "clockid", 10, &clock)) {
    return Status::IOError("its fdinfo has no clockid");
  }
  // timerfd_gettime() first: it brings a periodic timer's count of unread expirations up to
  // date (the kernel counts the overruns only when asked), which fdinfo then shows.
  itimerspec cur{};
  if (::timerfd_gettime(fd, &cur) != 0) return Status::FromErrno("timerfd_gettime", errno);
  // A periodic timer whose expiry has just passed, before the kernel's timer callback ran, reads
  // 0 (the kernel clamps the negative time left); restored that way it would be disarmed. Its
  // callback runs within microseconds, after which the kernel forwards it to its next
  // expiration. A timer set with a period but no first expiration also reads 0 and stays so:
  // it is disarmed, and asking a few times over a millisecond tells the two apart.
  for (int i = 0; i < 10 && Ns(cur.it_value) == 0 && Ns(cur.it_interval) != 0; ++i) {
    ::usleep(100);
    if (::timerfd_gettime(fd, &cur) != 0) return Status::FromErrno("timerfd_gettime", errno);
  }
  const std::string now = ReadProcText("/proc/self/fdinfo/" + std::to_string(fd));
  (void)FdinfoNumber(now.empty() ? fdinfo : now, "ticks", 10, &o->count);
  o->flags = static_cast<uint32_t>(clock);
  o->value_ns = Ns(cur.it_value);
  o->interval_ns = Ns(cur.it_interval);
  return Status::Ok();
}

Result<int> RestoreTimerfd(const FileState& f) {
  const EventObjectState& o = f.object;
  int flags = TFD_CLOEXEC | ((f.open_flags & O_NONBLOCK) != 0 ? TFD_NONBLOCK : 0);
  int fd = ::timerfd_create(static_cast<int>(o.flags), flags);
  if (fd < 0)
    return Status::FromErrno("timerfd_create(clock " + std::to_string(o.flags) + ")", errno);
  // Arm first: timerfd_settime() clears the unread expirations that TFD_IOC_SET_TICKS sets.
  const itimerspec spec{Ts(o.interval_ns), Ts(o.value_ns)};
  if (o.value_ns != 0 && ::timerfd_settime(fd, 0, &spec, nullptr) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("timerfd_settime", e);
  }
  uint64_t ticks = o.count;
  if (ticks != 0 && ::ioctl(fd, TFD_IOC_SET_TICKS, &ticks) != 0) {
    log::Warn("transparent: fd ", f.fd, " (timerfd): ", o.count,
              " unread expirations cannot be put back (TFD_IOC_SET_TICKS: ", std::strerror(errno),
              "); one is due at once instead");
    const itimerspec now{Ts(o.interval_ns), Ts(1)};
    if (::timerfd_settime(fd, 0, &now, nullptr) != 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno("timerfd_settime", e);
    }
  }
  return fd;
}

}  // namespace cairn::transparent::objects
