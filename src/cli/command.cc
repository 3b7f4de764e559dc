#include "cli/command.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace cairn::cli {

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kCorruption:
    case Code::kInvalidArgument:
      return kExitFailed;
    default:
      return kExitNotFound;
  }
}

void PrintError(Context& ctx, const char* command, const std::string& message) {
  ctx.err << "cairn " << command << ": " << message << "\n";
  ctx.err.flush();
}

std::string WithoutPath(const std::string& message, const std::string& path) {
  for (const std::string& prefix : {"'" + path + "': ", "'" + path + "' "}) {
    if (message.compare(0, prefix.size(), prefix) == 0) return message.substr(prefix.size());
  }
  return message;
}

std::string ExecutablePath() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

std::string AbsolutePath(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return p;
  return p.empty() || p == "." ? std::string(cwd) : JoinPath(cwd, p);
}

std::string ExecutableDir() {
  const std::string p = ExecutablePath();
  return p.empty() ? p : DirName(p);
}

std::string HumanSize(uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (v < 1023.95) {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[u]);
  } else if (u + 1 < std::size(kUnits)) {
    std::snprintf(buf, sizeof(buf), "1.0 %s", kUnits[u + 1]);  // 1023.96 KiB rounds up
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f %s", v, kUnits[u]);
  }
  return buf;
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

std::string IsoTimeUtc(uint64_t ns) {
  const time_t secs = static_cast<time_t>(ns / 1000000000ull);
  const unsigned millis = static_cast<unsigned>((ns / 1000000ull) % 1000ull);
  struct tm tm {};
  if (gmtime_r(&secs, &tm) == nullptr) return "?";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

void PrintTable(std::ostream& os, const std::vector<std::vector<std::string>>& rows,
                const std::vector<size_t>& right_aligned) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool right =
          std::find(right_aligned.begin(), right_aligned.end(), c) != right_aligned.end();
      const std::string pad(width[c] - row[c].size(), ' ');
      if (c > 0) line += "  ";
      if (right) {
        line += pad + row[c];
      } else {
        line += row[c] + pad;
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks
    os << line << "\n";
  }
}

}  // namespace cairn::cli
