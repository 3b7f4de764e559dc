#include "job/slurm_time.h"

#include <cinttypes>
#include <cstdio>
#include <vector>

namespace cairn::job {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// One field of digits -> value, refusing empty fields, non-digits and overflow.
Status ParseField(std::string_view field, std::string_view whole, const char* what, int64_t* out) {
  if (field.empty()) {
    return Status::InvalidArgument("bad Slurm time '" + std::string(whole) + "': empty " + what +
                                   " field");
  }
  int64_t v = 0;
  for (char ch : field) {
    if (ch < '0' || ch > '9') {
      return Status::InvalidArgument("bad Slurm time '" + std::string(whole) + "': '" +
                                     std::string(field) + "' is not a whole number of " + what);
    }
    if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, ch - '0', &v)) {
      return Status::InvalidArgument("bad Slurm time '" + std::string(whole) + "': " + what +
                                     " value too large");
    }
  }
  *out = v;
  return Status::Ok();
}

Status CheckRange(int64_t v, int64_t limit, std::string_view whole, const char* what) {
  if (v >= limit) {
    return Status::InvalidArgument("bad Slurm time '" + std::string(whole) + "': " + what +
                                   " must be below " + std::to_string(limit) + ", got " +
                                   std::to_string(v));
  }
  return Status::Ok();
}

// total = sum(value_i * unit_i), overflow-checked.
Result<int64_t> Combine(const std::vector<std::pair<int64_t, int64_t>>& parts,
                        std::string_view whole) {
  int64_t total = 0;
  for (const auto& [value, unit] : parts) {
    int64_t term = 0;
    if (__builtin_mul_overflow(value, unit, &term) || __builtin_add_overflow(total, term, &total) ||
        total > kSlurmTimeMaxSeconds) {
      return Status::InvalidArgument("bad Slurm time '" + std::string(whole) + "': too large");
    }
  }
  return total;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

}  // namespace

Result<int64_t> ParseSlurmTime(std::string_view text) {
  const std::string_view s = Trim(text);
  if (s.empty()) return Status::InvalidArgument("bad Slurm time '': empty");
  if (EqualsIgnoreCase(s, "UNLIMITED") || EqualsIgnoreCase(s, "INFINITE")) {
    return kSlurmTimeUnlimited;
  }
  const size_t dash = s.find('-');
  if (dash != std::string_view::npos) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    if (s.find('-', dash + 1) != std::string_view::npos || dash == 0) {
      return Status::InvalidArgument("bad Slurm time '" + std::string(s) +
                                     "': expected D-HH[:MM[:SS]] with one '-' after the days");
    }
    int64_t days = 0;
    CAIRN_RETURN_IF_ERROR(ParseField(s.substr(0, dash), s, "days", &days));
    const auto f = Split(s.substr(dash + 1), ':');
    if (f.size() > 3) {
      return Status::InvalidArgument("bad Slurm time '" + std::string(s) +
                                     "': too many ':' fields after the days (D-HH:MM:SS)");
    }
    int64_t h = 0, m = 0, sec = 0;
    CAIRN_RETURN_IF_ERROR(ParseField(f[0], s, "hours", &h));
    CAIRN_RETURN_IF_ERROR(CheckRange(h, 24, s, "hours after the days"));
    if (f.size() > 1) {
      CAIRN_RETURN_IF_ERROR(ParseField(f[1], s, "minutes", &m));
      CAIRN_RETURN_IF_ERROR(CheckRange(m, 60, s, "minutes"));
    }
    if (f.size() > 2) {
      CAIRN_RETURN_IF_ERROR(ParseField(f[2], s, "seconds", &sec));
      CAIRN_RETURN_IF_ERROR(CheckRange(sec, 60, s, "seconds"));
    }
    return Combine({{days, 86400}, {h, 3600}, {m, 60}, {sec, 1}}, s);
  }
  const auto f = Split(s, ':');
  switch (f.size()) {
    case 1: {  // MM
      int64_t m = 0;
      CAIRN_RETURN_IF_ERROR(ParseField(f[0], s, "minutes", &m));
      return Combine({{m, 60}}, s);
    }
    case 2: {  // MM:SS
      int64_t m = 0, sec = 0;
      CAIRN_RETURN_IF_ERROR(ParseField(f[0], s, "minutes", &m));
      CAIRN_RETURN_IF_ERROR(ParseField(f[1], s, "seconds", &sec));
      CAIRN_RETURN_IF_ERROR(CheckRange(sec, 60, s, "seconds"));
      return Combine({{m, 60}, {sec, 1}}, s);
    }
    case 3: {  // HH:MM:SS
      int64_t h = 0, m = 0, sec = 0;
      CAIRN_RETURN_IF_ERROR(ParseField(f[0], s, "hours", &h));
      CAIRN_RETURN_IF_ERROR(ParseField(f[1], s, "minutes", &m));
      CAIRN_RETURN_IF_ERROR(CheckRange(m, 60, s, "minutes"));
      CAIRN_RETURN_IF_ERROR(ParseField(f[2], s, "seconds", &sec));
      CAIRN_RETURN_IF_ERROR(CheckRange(sec, 60, s, "seconds"));
      return Combine({{h, 3600}, {m, 60}, {sec, 1}}, s);
    }
    default:
      return Status::InvalidArgument(
          "bad Slurm time '" + std::string(s) +
          "': expected MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED");
  }
}

std::string FormatSlurmTime(int64_t seconds) {
  if (seconds == kSlurmTimeUnlimited) return "UNLIMITED";
  if (seconds < 0) seconds = 0;
  const int64_t days = seconds / 86400;
  const int64_t rest = seconds % 86400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%" PRId64 "-%02d:%02d:%02d", days, static_cast<int>(rest / 3600),
                static_cast<int>(rest % 3600 / 60), static_cast<int>(rest % 60));
  return buf;
}

}  // namespace cairn::job
