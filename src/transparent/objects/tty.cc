// See tty.h.
#include "transparent/objects/tty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "transparent/objects/event_objects.h"
#include "transparent/procfs.h"

namespace cairn::transparent::objects {
namespace {

// tty_nr of /proc/self/stat (field 7), or 0.
unsigned long ControllingTty() {
  const std::vector<std::string> f = StatFields(ReadProcText("/proc/self/stat"));
  return f.size() > 7 ? std::strtoul(f[7].c_str(), nullptr, 10) : 0;
}

}  // namespace

Status CaptureTty(int fd, const std::string& path, FileState* f) {
  TtyState& t = f->tty;
  if (path == "/dev/ptmx" || path == "/dev/pts/ptmx") {
    unsigned n = 0;
    if (::ioctl(fd, TIOCGPTN, &n) != 0) return Status::FromErrno("ioctl(TIOCGPTN)", errno);
    t.index = n;
    t.flags |= kTtyMaster;
  } else if (path.starts_with("/dev/pts/")) {
    t.index = static_cast<uint32_t>(std::strtoul(path.c_str() + 9, nullptr, 10));
    t.flags |= kTtySlave;
  }
  termios tio{};
  if (::tcgetattr(fd, &tio) == 0) t.termios.assign(reinterpret_cast<const char*>(&tio), sizeof tio);
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0) {
    t.winsize.assign(reinterpret_cast<const char*>(&ws), sizeof ws);
  }
  struct stat st;
  const unsigned long ctty = ControllingTty();
  if ((t.flags & kTtyMaster) == 0 && ctty != 0 && ::fstat(fd, &st) == 0 &&
      static_cast<unsigned long>(st.st_rdev) == ctty) {
    t.flags |= kTtyControlling;
    t.foreground = static_cast<int32_t>(::tcgetpgrp(fd));
  }
  return Status::Ok();
}

std::string TtySummary(const FileState& f) {
  const TtyState& t = f.tty;
  std::string out = (t.flags & kTtyMaster) != 0  ? "pty master " + std::to_string(t.index)
                    : (t.flags & kTtySlave) != 0 ? "pty slave " + std::to_string(t.index)
                                                 : std::string("terminal");
  termios tio{};
  if (t.termios.size() == sizeof tio) {
    std::memcpy(&tio, t.termios.data(), sizeof tio);
    out += (tio.c_lflag & ICANON) != 0 ? ", canonical" : ", raw";
  }
  winsize ws{};
  if (t.winsize.size() == sizeof ws) {
    std::memcpy(&ws, t.winsize.data(), sizeof ws);
    out += ", " + std::to_string(ws.ws_row) + "x" + std::to_string(ws.ws_col);
  }
  if ((t.flags & kTtyControlling) != 0) {
    out += ", controlling terminal (foreground " + std::to_string(t.foreground) + ")";
  }
  return out;
}

Result<std::pair<int, int>> CreatePty(const FileState& saved, int min_fd) {
  auto master = MoveAbove(::posix_openpt(O_RDWR | O_NOCTTY), min_fd, "posix_openpt");
  if (!master.ok()) return master.status();
  const int m = master.value();
  auto fail = [&](const std::string& what, int slave = -1) {
    const int e = errno;
    ::close(m);
    if (slave >= 0) ::close(slave);
    return Status::FromErrno(what, e);
  };
  if (::grantpt(m) != 0 || ::unlockpt(m) != 0) return fail("grantpt/unlockpt");
  char name[64];
  if (::ptsname_r(m, name, sizeof name) != 0) return fail("ptsname");
  auto slave = MoveAbove(::open(name, O_RDWR | O_NOCTTY), min_fd, std::string("open ") + name);
  if (!slave.ok()) {
    ::close(m);
    return slave.status();
  }
  const int s = slave.value();
  const TtyState& t = saved.tty;
  termios tio{};
  if (t.termios.size() == sizeof tio) {
    std::memcpy(&tio, t.termios.data(), sizeof tio);
    if (::tcsetattr(s, TCSANOW, &tio) != 0) return fail("tcsetattr", s);
  }
  winsize ws{};
  if (t.winsize.size() == sizeof ws) {
    std::memcpy(&ws, t.winsize.data(), sizeof ws);
    if (::ioctl(s, TIOCSWINSZ, &ws) != 0) return fail("ioctl(TIOCSWINSZ)", s);
  }
  return std::pair{m, s};
}

Status TakeControllingTerminal(int slave, const FileState& saved) {
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) return Status::FromErrno("ioctl(TIOCSCTTY)", errno);
  const pid_t me = ::getpid();
  if (saved.tty.foreground > 0 && saved.tty.foreground != ::getpgrp()) {
    log::Warn("restart: pid ", me, ": the foreground group ", saved.tty.foreground,
              " of its terminal is not restored (the session leader's own is)");
  }
  return Status::Ok();
}

}  // namespace cairn::transparent::objects
