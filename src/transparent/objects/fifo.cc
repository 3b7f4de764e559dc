// See fifo.h.
#include "transparent/objects/fifo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "env/fd_io.h"
#include "transparent/objects/event_objects.h"

namespace cairn::transparent::objects {
namespace {

int Access(const FileState& f) { return static_cast<int>(f.open_flags) & O_ACCMODE; }

}  // namespace

Result<std::vector<int>> RestoreFifo(const std::vector<const FileState*>& ends,
                                     const std::string& data, size_t capacity, int min_fd,
                                     std::vector<std::string>* warnings) {
  if (ends.empty()) return std::vector<int>{};
  const std::string& path = ends.front()->path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    return Status::NotFound("no FIFO at '" + path + "' any more");
  }
  bool reader_inside = false;
  for (const FileState* f : ends) reader_inside |= Access(*f) != O_WRONLY;
  // Without a reader of ours, a write end goes to whoever reads the FIFO now, if anybody:
  // looked at before this function opens a reader itself.
  int outside_reader = -1;
  if (!reader_inside) {
    outside_reader = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (outside_reader < 0 && errno != ENXIO) {
      return Status::FromErrno("cannot open the FIFO '" + path + "'", errno);
    }
  }
  // A reader and a writer held while the ends are opened: no open() blocks or fails.
  int keep = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (keep < 0) {
    const int e = errno;
    if (outside_reader >= 0) ::close(outside_reader);
    return Status::FromErrno("cannot open the FIFO '" + path + "'", e);
  }
  Status status;
  if (capacity > 65536 && ::fcntl(keep, F_SETPIPE_SZ, static_cast<int>(capacity)) < 0) {
    warnings->push_back("FIFO '" + path + "': cannot set its capacity to " +
                        std::to_string(capacity) + " bytes: " + std::strerror(errno));
  }
  status = WriteFd(keep, data, "the bytes in flight of the FIFO '" + path + "'");
  std::vector<int> out;
  for (const FileState* f : ends) {
    if (!status.ok()) break;
    Result<int> fd = Status::Internal("unset");
    if (Access(*f) == O_WRONLY && !reader_inside) {
      if (outside_reader >= 0) {
        fd = MoveAbove(::dup(outside_reader), min_fd, "dup");
      } else {
        warnings->push_back("fd " + std::to_string(f->fd) + ": FIFO '" + path +
                            "' has no reader now; writes go to /dev/null");
        fd = MoveAbove(::open("/dev/null", O_WRONLY | O_CLOEXEC), min_fd, "open /dev/null");
      }
    } else {
      fd = MoveAbove(::open(path.c_str(), Access(*f) | O_NONBLOCK | O_CLOEXEC), min_fd,
                     "cannot open the FIFO '" + path + "'");
    }
    if (!fd.ok()) {
      status = fd.status();
      break;
    }
    out.push_back(fd.value());
  }
  ::close(keep);
  if (outside_reader >= 0) ::close(outside_reader);
  if (!status.ok()) {
    for (int fd : out) ::close(fd);
    return status;
  }
  return out;
}

}  // namespace cairn::transparent::objects
