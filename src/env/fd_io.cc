// See fd_io.h.
#include "env/fd_io.h"

#include <unistd.h>

#include <cerrno>

namespace cairn {
namespace {

// offset < 0: write(); else pwrite() at offset.
Status Loop(int fd, const char* p, size_t n, int64_t offset, const std::string& what) {
  while (n > 0) {
    const ssize_t w = offset < 0 ? ::write(fd, p, n) : ::pwrite(fd, p, n, offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      return Status::FromErrno("writing " + what, w < 0 ? errno : EIO);
    }
    p += w;
    n -= static_cast<size_t>(w);
    if (offset >= 0) offset += w;
  }
  return Status::Ok();
}

}  // namespace

Status WriteFd(int fd, const void* data, size_t n, const std::string& what) {
  return Loop(fd, static_cast<const char*>(data), n, -1, what);
}

Status WriteFd(int fd, const std::string& data, const std::string& what) {
  return Loop(fd, data.data(), data.size(), -1, what);
}

Status WriteFdAt(int fd, const void* data, size_t n, uint64_t offset, const std::string& what) {
  return Loop(fd, static_cast<const char*>(data), n, static_cast<int64_t>(offset), what);
}

}  // namespace cairn
