// epoll: the interest list, each watched descriptor's events and data (see event_objects.h).
//
// Capture parses the "tfd: N events: X data: Y" lines of fdinfo. Restore creates a new epoll
// instance and adds each target by its number, which must already be open (the caller restores
// epolls after every other descriptor, and an epoll that watches another after that one).
// A one-shot target that already fired is listed with only its flag bits, and is added back
// the same way: still disabled until the program re-arms it with EPOLL_CTL_MOD.
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "transparent/objects/event_objects.h"
#include "transparent/procfs.h"

namespace cairn::transparent::objects {

Status CaptureEpoll(int /*fd*/, const std::string& fdinfo, EventObjectState* o) {
  for (const std::string& line : Lines(fdinfo)) {
    if (!line.starts_with("tfd:")) continue;
    int tfd = -1;
    unsigned events = 0;
    unsigned long long data = 0;
    if (std::sscanf(line.c_str(), "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 ||
        tfd < 0) {
      return Status::IOError("cannot parse its fdinfo line '" + line + "'");
    }
    // EPOLLERR and EPOLLHUP are always watched; the kernel lists them whether asked or not.
    events &= ~static_cast<unsigned>(EPOLLERR | EPOLLHUP);
    o->targets.push_back(EpollTarget{tfd, events, static_cast<uint64_t>(data)});
  }
  return Status::Ok();
}

Result<int> RestoreEpoll(const FileState& f) {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return Status::FromErrno("epoll_create1", errno);
  for (const EpollTarget& t : f.object.targets) {
    epoll_event ev{};
    ev.events = t.events;
    ev.data.u64 = t.data;
    if (::epoll_ctl(fd, EPOLL_CTL_ADD, t.fd, &ev) != 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno("adding watched fd " + std::to_string(t.fd), e);
    }
  }
  return fd;
}

}  // namespace cairn::transparent::objects
