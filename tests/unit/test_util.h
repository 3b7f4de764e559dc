// Helpers shared by unit tests: a private temporary directory removed afterwards,
// and byte-level file corruption for fault tests.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "env/env.h"

namespace cairn::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cairn-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)Env::Default()->RemoveTree(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& p) const { return path_ + "/" + p; }

 private:
  std::string path_;
};

// XORs the byte at `offset` (negative: from the end) with 0xff. Returns false on error.
inline bool FlipByte(const std::string& path, long long offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) return false;
  off_t size = ::lseek(fd, 0, SEEK_END);
  off_t at = offset >= 0 ? offset : size + offset;
  unsigned char b = 0;
  bool ok = ::pread(fd, &b, 1, at) == 1;
  b ^= 0xff;
  ok = ok && ::pwrite(fd, &b, 1, at) == 1;
  ::close(fd);
  return ok;
}

inline bool WriteText(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The whole content of a file, or "<the error>" (for comparisons in EXPECT_EQ).
inline std::string ReadText(const std::string& path) {
  auto t = ReadFileToString(Env::Default(), path);
  return t.ok() ? t.value() : "<" + t.status().message() + ">";
}

}  // namespace cairn::testing
