// See procfs.h.
#include "transparent/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace cairn::transparent {

std::string ReadProcText(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string ProcField(const std::string& text, const std::string& key) {
  const std::string k = key + ":";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    if (text.compare(pos, k.size(), k) == 0) {
      size_t b = pos + k.size();
      while (b < eol && (text[b] == ' ' || text[b] == '\t')) ++b;
      return text.substr(b, eol - b);
    }
    pos = eol + 1;
  }
  return "";
}

}  // namespace cairn::transparent
