#include "storage/layout.h"

#include <charconv>

#include "env/env.h"

namespace cairn {
namespace {

template <class T>
std::optional<T> ParseNumber(const std::string& s, size_t begin, size_t end) {
  if (begin >= end || end > s.size()) return std::nullopt;
  T v{};
  auto [p, ec] = std::from_chars(s.data() + begin, s.data() + end, v);
  if (ec != std::errc() || p != s.data() + end || v < 0) return std::nullopt;
  // Canonical form only: no leading zeros except "0" itself.
  if (end - begin > 1 && s[begin] == '0') return std::nullopt;
  return v;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string Layout::NameDir(const std::string& name) const { return JoinPath(root_, name); }
std::string Layout::VersionDir(const std::string& name, long long version) const {
  return JoinPath(NameDir(name), VersionDirName(version));
}
std::string Layout::RankFile(const std::string& name, long long version, int rank) const {
  return JoinPath(VersionDir(name, version), RankFileName(rank));
}
std::string Layout::RoutedFile(const std::string& name, long long version, int rank,
                               int k) const {
  return JoinPath(VersionDir(name, version), RoutedFileName(rank, k));
}
std::string Layout::CommitRecord(const std::string& name, long long version) const {
  return JoinPath(VersionDir(name, version), kCommitRecordName);
}

std::string Layout::VersionDirName(long long version) { return "v" + std::to_string(version); }
std::string Layout::RankFileName(int rank) { return "r" + std::to_string(rank) + ".ckpt"; }
std::string Layout::RoutedFileName(int rank, int k) {
  return "r" + std::to_string(rank) + ".f" + std::to_string(k);
}

std::optional<long long> Layout::ParseVersionDir(const std::string& d) {
  if (d.size() < 2 || d[0] != 'v') return std::nullopt;
  return ParseNumber<long long>(d, 1, d.size());
}

std::optional<int> Layout::ParseRankFile(const std::string& f) {
  if (f.size() < 7 || f[0] != 'r' || !EndsWith(f, ".ckpt")) return std::nullopt;
  return ParseNumber<int>(f, 1, f.size() - 5);
}

bool Layout::BelongsToRank(const std::string& f, int rank) {
  std::string prefix = "r" + std::to_string(rank) + ".";
  return f.compare(0, prefix.size(), prefix) == 0;
}

bool Layout::IsTemporary(const std::string& f) { return EndsWith(f, kTmpSuffix); }

}  // namespace cairn
