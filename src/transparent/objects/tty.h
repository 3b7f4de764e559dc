// Terminals a process holds: capture, and the re-creation of pseudo-terminals whose master is
// in the job (a program that runs another on a pty: forkpty, script, expect, pty.spawn).
//
// Capture (in the checkpointed process)
// - CaptureTty fills f->tty for a terminal descriptor: a pty master (/dev/ptmx: its pts number
//   from TIOCGPTN) or slave (/dev/pts/N), its termios and window size, whether it is the
//   process's controlling terminal (its device is /proc/self/stat's tty_nr) and then the
//   foreground process group (tcgetpgrp).
//
// Restore (in `cairn restart` of a tree, before any process runs)
// - CreatePty makes a new pty pair for one saved pts number (posix_openpt, grantpt, unlockpt,
//   the slave opened O_NOCTTY), puts the saved termios and window size on it (from `saved`,
//   a slave's record when there is one, else the master's), and returns the master and the
//   slave (FD_CLOEXEC, >= min_fd). The new pair has another number (ttyname changes).
// - TakeControllingTerminal, in a restored session leader whose saved slave was its
//   controlling terminal: TIOCSCTTY on it, and the saved foreground group when it is the
//   leader's own. A controlling terminal outside the job (the user's) is not re-created:
//   the restart command's own terminal is inherited instead.
// - Not kept: bytes in flight in either direction (a program should resend, as over a
//   network); packet mode, and a foreground group other than the session leader's (logged).
#pragma once

#include <utility>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::objects {

inline constexpr uint32_t kTtyMaster = 1, kTtySlave = 2, kTtyControlling = 4;

Status CaptureTty(int fd, const std::string& path, FileState* f);
// "pty slave 7, raw, 33x111, controlling terminal (foreground 4242)", for `cairn inspect`.
std::string TtySummary(const FileState& f);
Result<std::pair<int, int>> CreatePty(const FileState& saved, int min_fd);
Status TakeControllingTerminal(int slave, const FileState& saved);

}  // namespace cairn::transparent::objects
