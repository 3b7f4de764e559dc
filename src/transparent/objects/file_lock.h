// File locks a process holds: flock(), POSIX record locks (fcntl F_SETLK) and open file
// description locks (F_OFD_SETLK). Capture and restore, as event_objects.h does for event
// objects.
//
// Contract
// - CaptureLocks parses the "lock:" lines of a descriptor's /proc/self/fdinfo text: the
//   locks this process (or this open file description) holds through that descriptor.
//   Leases and unknown kinds are skipped with a log line.
// - RestoreLocks takes them again on `fd`, without waiting (LOCK_NB, F_SETLK): a lock that
//   another process took meanwhile is an error naming the file and the range. POSIX locks
//   belong to the process and are released by the close of ANY descriptor of the same file,
//   so the caller restores them after every descriptor is in place and closes none after.
// - Describe gives "POSIX write lock on bytes 10..19" for messages.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::objects {

std::vector<FileLock> CaptureLocks(int fd, const std::string& fdinfo);
Status RestoreLocks(int fd, const std::vector<FileLock>& locks);
std::string Describe(const FileLock& l);

}  // namespace cairn::transparent::objects
