// See naming.h.
#include "transparent/naming.h"

#include <charconv>

#include "env/env.h"

namespace cairn::transparent::naming {
namespace {
constexpr char kControlDir[] = ".cairn";
constexpr char kManifestPrefix[] = "job.v";
constexpr char kManifestSuffix[] = ".manifest";
}  // namespace

std::string ControlDir(const std::string& dir) { return JoinPath(dir, kControlDir); }

std::string ControlSocket(const std::string& dir, long pid) {
  return JoinPath(ControlDir(dir), std::to_string(pid) + kSocketSuffix);
}

std::string LineageLock(const std::string& dir, long pid, int64_t ns) {
  return JoinPath(ControlDir(dir), std::to_string(pid) + "-" + std::to_string(ns) + kLockSuffix);
}

bool IsLineageLock(const std::string& path) {
  return path.ends_with(kLockSuffix) &&
         path.find(std::string("/") + kControlDir + "/") != std::string::npos;
}

std::string CoordinatorFile(const std::string& dir) {
  return JoinPath(ControlDir(dir), "coordinator");
}
std::string NodeAgentLog(const std::string& dir) {
  return JoinPath(ControlDir(dir), "node-agent.log");
}

std::string CoordinatorLog(const std::string& dir) {
  return JoinPath(ControlDir(dir), "coordinator.log");
}
std::string IntervalLog(const std::string& dir) {
  return JoinPath(ControlDir(dir), "interval.log");
}
std::string JobLog(const std::string& dir, const std::string& job) {
  return JoinPath(ControlDir(dir), "job-" + job + ".log");
}

std::string ImagePrefix(const std::string& program, long pid, int k) {
  return program + "-" + std::to_string(pid) + (k >= 2 ? "-" + std::to_string(k) : "") + ".v";
}

std::string ImagePath(const std::string& dir, const std::string& prefix, long version) {
  return JoinPath(dir, prefix + std::to_string(version) + kImageSuffix);
}

bool IsImageName(const std::string& name) {
  return name.size() > sizeof(kImageSuffix) - 1 && name.ends_with(kImageSuffix);
}

bool SplitImageName(const std::string& name, std::string* prefix, long* version) {
  if (!IsImageName(name)) return false;
  const std::string stem = name.substr(0, name.size() - (sizeof(kImageSuffix) - 1));
  const size_t v = stem.rfind(".v");
  if (v == std::string::npos || v + 2 >= stem.size() ||
      stem.find_first_not_of("0123456789", v + 2) != std::string::npos || stem.size() - v > 20) {
    return false;
  }
  *prefix = stem.substr(0, v + 2);
  *version = std::stol(stem.substr(v + 2));
  return true;
}

std::string LevelsFile(const std::string& dir) { return JoinPath(ControlDir(dir), "levels.cfg"); }

std::string ManifestPath(const std::string& dir, uint64_t version) {
  return JoinPath(dir, kManifestPrefix + std::to_string(version) + kManifestSuffix);
}

uint64_t ManifestVersionFromName(const std::string& name) {
  const size_t pl = sizeof(kManifestPrefix) - 1, sl = sizeof(kManifestSuffix) - 1;
  if (name.size() <= pl + sl || name.compare(0, pl, kManifestPrefix) != 0 ||
      name.compare(name.size() - sl, sl, kManifestSuffix) != 0) {
    return 0;
  }
  const std::string digits = name.substr(pl, name.size() - pl - sl);
  if (digits.empty() || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  return ec == std::errc() && p == digits.data() + digits.size() ? v : 0;
}

}  // namespace cairn::transparent::naming
