// signalfd: the set of signals it takes (see event_objects.h). Signals pending for the process
// or its threads are restored with the SIGNALS section, and the signalfd reads them from there.
#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "transparent/objects/event_objects.h"

namespace cairn::transparent::objects {

Status CaptureSignalfd(int /*fd*/, const std::string& fdinfo, EventObjectState* o) {
  if (!FdinfoNumber(fdinfo, "sigmask", 16, &o->mask)) {
    return Status::IOError("its fdinfo has no sigmask");
  }
  return Status::Ok();
}

Result<int> RestoreSignalfd(const FileState& f) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig <= 64; ++sig) {
    if ((f.object.mask >> (sig - 1)) & 1u) (void)sigaddset(&set, sig);  // 32, 33: glibc's own
  }
  int flags = SFD_CLOEXEC | ((f.open_flags & O_NONBLOCK) != 0 ? SFD_NONBLOCK : 0);
  int fd = ::signalfd(-1, &set, flags);
  if (fd < 0) return Status::FromErrno("signalfd", errno);
  return fd;
}

}  // namespace cairn::transparent::objects
