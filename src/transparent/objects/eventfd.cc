// eventfd: the counter and the semaphore mode (see event_objects.h).
//
// Capture reads both from fdinfo ("eventfd-count" in hex, "eventfd-semaphore" since Linux 6.6;
// older kernels do not say, and the mode is then taken as plain, with a warning in the log).
// Restore creates eventfd(0) and writes the counter, which also covers counters above UINT_MAX
// that eventfd()'s initial value cannot hold.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "transparent/objects/event_objects.h"

namespace cairn::transparent::objects {

Status CaptureEventfd(int fd, const std::string& fdinfo, EventObjectState* o) {
  if (!FdinfoNumber(fdinfo, "eventfd-count", 16, &o->count)) {
    return Status::IOError("its fdinfo has no eventfd-count");
  }
  uint64_t sem = 0;
  if (!FdinfoNumber(fdinfo, "eventfd-semaphore", 10, &sem)) {
    log::Warn("transparent: fd ", fd, " (eventfd): this kernel does not show the semaphore mode;",
              " it is restored as a plain counter");
  }
  o->flags = sem != 0 ? 1u : 0u;
  return Status::Ok();
}

Result<int> RestoreEventfd(const FileState& f) {
  int flags = EFD_CLOEXEC | ((f.open_flags & O_NONBLOCK) != 0 ? EFD_NONBLOCK : 0) |
              ((f.object.flags & 1u) != 0 ? EFD_SEMAPHORE : 0);
  int fd = ::eventfd(0, flags);
  if (fd < 0) return Status::FromErrno("eventfd", errno);
  if (f.object.count != 0) {
    const uint64_t v = f.object.count;
    ssize_t w;
    do {
      w = ::write(fd, &v, sizeof v);
    } while (w < 0 && errno == EINTR);
    if (w != static_cast<ssize_t>(sizeof v)) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno("setting the eventfd counter to " + std::to_string(v), e);
    }
  }
  return fd;
}

}  // namespace cairn::transparent::objects
