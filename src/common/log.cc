#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace cairn::log {
namespace {

struct State {
  std::mutex mu;
  std::atomic<int> level{static_cast<int>(Level::kWarn)};
  int fd = 2;
  std::string tag;
  bool configured = false;
};

State& S() {
  static State* s = new State();  // never destroyed: usable from atexit paths
  return *s;
}

Level ParseLevel(const char* v) {
  if (v == nullptr || *v == 0) return Level::kWarn;
  std::string s(v);
  if (s == "off" || s == "none" || s == "0") return Level::kOff;
  if (s == "error") return Level::kError;
  if (s == "warn" || s == "warning") return Level::kWarn;
  if (s == "info") return Level::kInfo;
  if (s == "debug" || s == "trace") return Level::kDebug;
  return Level::kWarn;
}

void ConfigureLocked(State& s) {
  s.level = static_cast<int>(ParseLevel(std::getenv("CAIRN_LOG")));
  if (s.fd != 2) close(s.fd);
  s.fd = 2;
  const char* file = std::getenv("CAIRN_LOG_FILE");
  if (file != nullptr && *file != 0) {
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) s.fd = fd;
  }
  s.configured = true;
}

void EnsureConfigured() {
  State& s = S();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.configured) ConfigureLocked(s);
}

const char* LevelName(Level l) {
  switch (l) {
    case Level::kError: return "ERROR";
    case Level::kWarn: return "WARN";
    case Level::kInfo: return "INFO";
    case Level::kDebug: return "DEBUG";
    default: return "";
  }
}

}  // namespace

void Reconfigure() {
  State& s = S();
  std::lock_guard<std::mutex> g(s.mu);
  ConfigureLocked(s);
}

Level CurrentLevel() {
  EnsureConfigured();
  return static_cast<Level>(S().level.load());
}

bool Enabled(Level l) { return l != Level::kOff && static_cast<int>(l) <= static_cast<int>(CurrentLevel()); }

void SetTag(const std::string& tag) {
  State& s = S();
  std::lock_guard<std::mutex> g(s.mu);
  s.tag = tag;
}

void Write(Level l, const std::string& msg) {
  EnsureConfigured();
  State& s = S();
  std::string line;
  {
    std::lock_guard<std::mutex> g(s.mu);
    line = "cairn";
    if (!s.tag.empty()) line += "[" + s.tag + "]";
    line += " ";
    line += LevelName(l);
    line += ": ";
    line += msg;
    line += "\n";
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(s.fd, p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
}

}  // namespace cairn::log
