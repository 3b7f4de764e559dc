// See procfs.h.
#include "transparent/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

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

std::set<std::pair<uint64_t, uint64_t>> HeldFlocks() {
  // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:123456 0 EOF" (a waiter's line has "->" after
  // the number; it does not hold the lock). The device is MAJOR:MINOR in hex.
  std::set<std::pair<uint64_t, uint64_t>> out;
  for (const std::string& line : Lines(ReadProcText("/proc/locks"))) {
    const std::vector<std::string> w = Words(line);  // num kind mode access pid id ...
    if (w.size() < 6 || w[1] != "FLOCK") continue;
    unsigned major = 0, minor = 0;
    unsigned long long ino = 0;
    if (std::sscanf(w[5].c_str(), "%x:%x:%llu", &major, &minor, &ino) != 3) continue;
    out.emplace(::makedev(major, minor), ino);
  }
  return out;
}

std::string ChildProcess::Describe() const {
  std::string what = "pid " + std::to_string(pid);
  if (!comm.empty()) what += " (" + comm + ")";
  if (zombie) what += ", exited, not reaped";
  return what;
}

std::vector<ChildProcess> ChildProcesses() {
  std::set<long> pids;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      for (const std::string& w :
           Words(ReadProcText(std::string("/proc/self/task/") + e->d_name + "/children"))) {
        pids.insert(std::strtol(w.c_str(), nullptr, 10));
      }
    }
    ::closedir(d);
  }
  std::vector<ChildProcess> out;
  for (long pid : pids) {
    const std::vector<std::string> f =
        StatFields(ReadProcText("/proc/" + std::to_string(pid) + "/stat"));
    ChildProcess c;
    c.pid = pid;
    if (f.size() > 3) {
      c.comm = f[2];
      c.zombie = f[3] == "Z";
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> StatFields(const std::string& stat) {
  // "N (comm) S ...": comm may hold spaces and parentheses, so up to the last ')'.
  const size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  std::vector<std::string> f = {"", stat.substr(0, open > 0 ? open - 1 : 0),
                                stat.substr(open + 1, close - open - 1)};
  for (std::string& v : Words(std::string_view(stat).substr(close + 1))) f.push_back(std::move(v));
  return f;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    out.emplace_back(text.substr(0, eol));
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return out;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  constexpr std::string_view kBlanks = " \t\n\r\v\f";
  for (size_t at = text.find_first_not_of(kBlanks); at != std::string_view::npos;) {
    const size_t end = text.find_first_of(kBlanks, at);
    out.emplace_back(text.substr(at, end == std::string_view::npos ? end : end - at));
    at = end == std::string_view::npos ? end : text.find_first_not_of(kBlanks, end);
  }
  return out;
}

std::vector<long> ProcessTree(long root) {
  std::vector<long> out;
  if (::access(("/proc/" + std::to_string(root)).c_str(), F_OK) != 0) return out;
  out.push_back(root);
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string task = "/proc/" + std::to_string(out[i]) + "/task";
    DIR* d = ::opendir(task.c_str());
    if (d == nullptr) continue;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      for (const std::string& w : Words(ReadProcText(task + "/" + e->d_name + "/children"))) {
        const long pid = std::strtol(w.c_str(), nullptr, 10);
        if (pid > 0 && std::find(out.begin(), out.end(), pid) == out.end()) out.push_back(pid);
      }
    }
    ::closedir(d);
  }
  return out;
}

std::vector<std::string> ProcessChildren() {
  std::vector<std::string> out;
  for (const ChildProcess& c : ChildProcesses()) out.push_back(c.Describe());
  return out;
}

}  // namespace cairn::transparent
