#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <exception>
#include <map>
#include <string_view>
#include <utility>

#include "common/log.h"

namespace cairn {
namespace {

// Every key cairn knows, in the order DescribeConfig() prints them and the order in which
// values are validated. Only these are read from the environment.
constexpr std::string_view kKnownKeys[] = {
    "scratch",
    "persistent",
    "mode",
    "persistent_interval",
    "ec_interval",
    "max_versions",
    "scratch_versions",
    "chksum",
    "meta",
    "failure_domain",
    "watchdog_interval",
    "ec_scheme",
    "ec_set_size",
    "ec_parity",
    "compress",
    "shuffle",
    "scratch_fsync",
    "scratch_compress",
    "backend_workers",
    "backend_idle_timeout",
    "backend_max_bandwidth",
    "scratch_capacity",
    "scratch_spill",
    "ec_every",
    "persistent_every",
    "checkpoint_interval",
    "mtbf",
    "job_end_margin",
    "axl_type",
};

bool IsKnownKey(std::string_view k) {
  for (std::string_view known : kKnownKeys) {
    if (known == k) return true;
  }
  return false;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// "value   # comment" -> "value": a '#' or ';' preceded by white space starts a comment.
std::string_view StripInlineComment(std::string_view v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if ((v[i] == '#' || v[i] == ';') && (v[i - 1] == ' ' || v[i - 1] == '\t')) {
      return v.substr(0, i);
    }
  }
  return v;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Strict: the whole (already trimmed) string, optional leading '-', no overflow.
std::optional<long long> ParseInt(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v, 10);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "localhost";
  buf[sizeof(buf) - 1] = 0;
  return buf;
}

// One raw value and where it came from.
struct Entry {
  std::string value;   // trimmed
  std::string source;  // "file.cfg:3" or "CAIRN_SCRATCH"
  bool from_env = false;
};

// "config file.cfg:3" or "config environment variable CAIRN_SCRATCH".
std::string Where(const Entry& e) {
  return e.from_env ? "config environment variable " + e.source : "config " + e.source;
}

Status Bad(const std::string& key, const Entry& e, const std::string& expected) {
  return Status::InvalidArgument(Where(e) + ": key '" + key + "' has value '" + e.value +
                                 "'; expected " + expected);
}

class Builder {
 public:
  Builder(const std::string& origin, std::map<std::string, Entry> entries)
      : origin_(origin), entries_(std::move(entries)) {}

  Result<Config> Build() {
    Config c;
    CAIRN_RETURN_IF_ERROR(Dir("scratch", true, &c.scratch));
    CAIRN_RETURN_IF_ERROR(Dir("persistent", false, &c.persistent));
    if (const Entry* e = Find("mode")) {
      std::string m = Lower(e->value);
      if (m == "sync") {
        c.mode = Mode::kSync;
      } else if (m == "async") {
        c.mode = Mode::kAsync;
      } else {
        return Bad("mode", *e, "sync or async");
      }
    }
    CAIRN_RETURN_IF_ERROR(Int("persistent_interval", LLONG_MIN, LLONG_MAX, &c.persistent_interval));
    CAIRN_RETURN_IF_ERROR(Int("ec_interval", LLONG_MIN, LLONG_MAX, &c.ec_interval));
    CAIRN_RETURN_IF_ERROR(Int("max_versions", 0, INT_MAX, &c.max_versions));
    CAIRN_RETURN_IF_ERROR(Int("scratch_versions", 0, INT_MAX, &c.scratch_versions));
    CAIRN_RETURN_IF_ERROR(Bool("chksum", &c.chksum));
    CAIRN_RETURN_IF_ERROR(Dir("meta", false, &c.meta));
    if (const Entry* e = Find("failure_domain")) {
      if (e->value.empty()) return Bad("failure_domain", *e, "a non-empty name");
      c.failure_domain = e->value;
    } else {
      c.failure_domain = HostName();
    }
    CAIRN_RETURN_IF_ERROR(Int("watchdog_interval", 0, LLONG_MAX, &c.watchdog_interval));
    CAIRN_RETURN_IF_ERROR(Choice("ec_scheme", {"none", "partner", "xor", "rs"},
                                 "none, partner, xor or rs", &c.ec_scheme));
    CAIRN_RETURN_IF_ERROR(Int("ec_set_size", 2, 256, &c.ec_set_size));
    // Checked against the final ec_set_size, wherever either was set.
    CAIRN_RETURN_IF_ERROR(Int("ec_parity", 1, c.ec_set_size - 1, &c.ec_parity));
    CAIRN_RETURN_IF_ERROR(
        Choice("compress", {"none", "zstd", "lz4"}, "none, zstd or lz4", &c.compress));
    CAIRN_RETURN_IF_ERROR(Bool("shuffle", &c.shuffle));
    CAIRN_RETURN_IF_ERROR(Bool("scratch_fsync", &c.scratch_fsync));
    CAIRN_RETURN_IF_ERROR(Choice("scratch_compress", {"none", "zstd", "lz4"}, "none, zstd or lz4",
                                 &c.scratch_compress));
    CAIRN_RETURN_IF_ERROR(Int("backend_workers", 1, 64, &c.backend_workers));
    CAIRN_RETURN_IF_ERROR(Int("backend_idle_timeout", 0, 86400, &c.backend_idle_timeout));
    CAIRN_RETURN_IF_ERROR(Int("backend_max_bandwidth", 0, 1000000, &c.backend_max_bandwidth));
    CAIRN_RETURN_IF_ERROR(Int("ec_every", 0, INT_MAX, &c.ec_every));
    CAIRN_RETURN_IF_ERROR(Int("persistent_every", 0, INT_MAX, &c.persistent_every));
    // Seconds; bounded to a year so that every later sum or product of them stays finite.
    constexpr long long kYear = 366LL * 86400;
    CAIRN_RETURN_IF_ERROR(Int("checkpoint_interval", 0, kYear, &c.checkpoint_interval));
    CAIRN_RETURN_IF_ERROR(Int("mtbf", 0, 100 * kYear, &c.mtbf));
    CAIRN_RETURN_IF_ERROR(Int("job_end_margin", 0, kYear, &c.job_end_margin));
    if (const Entry* e = Find("scratch_capacity")) {
      auto bytes = ParseSize(e->value);
      if (!bytes) return Bad("scratch_capacity", *e, "a size such as 512M, 2G or 0 (unlimited)");
      c.scratch_capacity = *bytes;
    }
    if (const Entry* e = Find("scratch_spill")) {
      c.scratch_spill.clear();
      size_t start = 0;
      while (start <= e->value.size()) {
        size_t comma = e->value.find(',', start);
        std::string d(Trim(std::string_view(e->value).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (!d.empty()) {
          if (d.front() != '/') return Bad("scratch_spill", *e, "absolute directories, comma-separated");
          while (d.size() > 1 && d.back() == '/') d.pop_back();
          c.scratch_spill.push_back(d);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    if (const Entry* e = Find("axl_type")) {
      log::Warn(Where(*e), ": key 'axl_type' (value '", e->value,
                "') ignored; cairn does not use AXL");
    }

    for (std::string_view k : kKnownKeys) {
      if (k == "axl_type") continue;  // no value of its own
      if (const Entry* e = Find(k)) c.sources.emplace_back(std::string(k), e->source);
    }
    return c;
  }

 private:
  const Entry* Find(std::string_view key) const {
    auto it = entries_.find(std::string(key));
    return it == entries_.end() ? nullptr : &it->second;
  }

  Status Dir(const std::string& key, bool required, std::string* out) const {
    const Entry* e = Find(key);
    if (e == nullptr) {
      if (!required) return Status::Ok();
      return Status::InvalidArgument("config " + origin_ + ": key '" + key +
                                     "' is required (set it in the file or in CAIRN_" + Upper(key) +
                                     " / VELOC_" + Upper(key) + ")");
    }
    if (e->value.empty() && !required) {
      out->clear();  // "persistent =": explicitly no such level
      return Status::Ok();
    }
    if (e->value.empty() || e->value.front() != '/') {
      return Bad(key, *e, "an absolute directory path");
    }
    std::string v = e->value;
    while (v.size() > 1 && v.back() == '/') v.pop_back();
    *out = std::move(v);
    return Status::Ok();
  }

  template <class T>
  Status Int(const std::string& key, long long lo, long long hi, T* out) const {
    const Entry* e = Find(key);
    if (e == nullptr) return Status::Ok();
    std::optional<long long> v = ParseInt(e->value);
    if (!v || *v < lo || *v > hi) {
      std::string expected;
      if (lo == LLONG_MIN) {
        expected = "an integer";
      } else if (hi == LLONG_MAX) {
        expected = "an integer >= " + std::to_string(lo);
      } else {
        expected = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
      }
      return Bad(key, *e, expected);
    }
    *out = static_cast<T>(*v);
    return Status::Ok();
  }

  Status Bool(const std::string& key, bool* out) const {
    const Entry* e = Find(key);
    if (e == nullptr) return Status::Ok();
    std::optional<bool> b = ParseBool(e->value);
    if (!b) return Bad(key, *e, "a boolean (true/false, yes/no, on/off, 1/0)");
    *out = *b;
    return Status::Ok();
  }

  Status Choice(const std::string& key, std::initializer_list<std::string_view> allowed,
                const std::string& expected, std::string* out) const {
    const Entry* e = Find(key);
    if (e == nullptr) return Status::Ok();
    std::string v = Lower(e->value);
    for (std::string_view a : allowed) {
      if (v == a) {
        *out = std::move(v);
        return Status::Ok();
      }
    }
    return Bad(key, *e, expected);
  }

  std::string origin_;
  std::map<std::string, Entry> entries_;
};

// Splits `text` into entries (known keys only; last occurrence wins). Warns about unknown
// keys and section headers; a line that is not a comment, a header or "key = value" is
// an error.
Status ParseLines(const std::string& text, const std::string& origin,
                  std::map<std::string, Entry>* entries) {
  std::string_view rest(text);
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);  // UTF-8 BOM
  int line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    std::string_view raw = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    std::string where = origin + ":" + std::to_string(line_no);
    if (line.front() == '[' && line.back() == ']') {
      log::Warn("config ", where, ": section header '", line,
                "' ignored (the configuration has no sections)");
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("config " + where + ": expected 'key = value', got '" +
                                     std::string(line) + "'");
    }
    std::string key = Lower(Trim(line.substr(0, eq)));
    if (key.empty()) {
      return Status::InvalidArgument("config " + where + ": missing key before '=' in '" +
                                     std::string(line) + "'");
    }
    if (!IsKnownKey(key)) {
      log::Warn("config ", where, ": unknown key '", key, "' ignored");
      continue;
    }
    (*entries)[key] = Entry{std::string(Trim(StripInlineComment(line.substr(eq + 1)))), where,
                            false};
  }
  return Status::Ok();
}

// CAIRN_<KEY> beats VELOC_<KEY> beats the file. An empty variable counts as unset.
void ApplyEnv(std::map<std::string, Entry>* entries) {
  for (std::string_view k : kKnownKeys) {
    std::string up = Upper(k);
    for (const char* prefix : {"CAIRN_", "VELOC_"}) {
      std::string name = prefix + up;
      const char* v = std::getenv(name.c_str());
      if (v == nullptr || *v == 0) continue;
      (*entries)[std::string(k)] = Entry{std::string(Trim(v)), name, true};
      break;
    }
  }
}

Status ReadFile(const std::string& path, std::string* out) {
  const std::string context = "cannot read config file '" + path + "'";
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(context, errno);
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return Status::FromErrno(context, err);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return Status::Ok();
}

std::string ValueString(const Config& c, std::string_view k) {
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  if (k == "scratch") return c.scratch;
  if (k == "persistent") return c.persistent;
  if (k == "mode") return c.mode == Mode::kAsync ? "async" : "sync";
  if (k == "persistent_interval") return std::to_string(c.persistent_interval);
  if (k == "ec_interval") return std::to_string(c.ec_interval);
  if (k == "max_versions") return std::to_string(c.max_versions);
  if (k == "scratch_versions") return std::to_string(c.scratch_versions);
  if (k == "chksum") return b(c.chksum);
  if (k == "meta") return c.meta;
  if (k == "failure_domain") return c.failure_domain;
  if (k == "watchdog_interval") return std::to_string(c.watchdog_interval);
  if (k == "ec_scheme") return c.ec_scheme;
  if (k == "ec_set_size") return std::to_string(c.ec_set_size);
  if (k == "ec_parity") return std::to_string(c.ec_parity);
  if (k == "compress") return c.compress;
  if (k == "shuffle") return b(c.shuffle);
  if (k == "scratch_fsync") return b(c.scratch_fsync);
  if (k == "scratch_compress") return c.scratch_compress;
  if (k == "backend_workers") return std::to_string(c.backend_workers);
  if (k == "backend_idle_timeout") return std::to_string(c.backend_idle_timeout);
  if (k == "backend_max_bandwidth") return std::to_string(c.backend_max_bandwidth);
  if (k == "scratch_capacity") return std::to_string(c.scratch_capacity);
  if (k == "ec_every") return std::to_string(c.ec_every);
  if (k == "persistent_every") return std::to_string(c.persistent_every);
  if (k == "checkpoint_interval") return std::to_string(c.checkpoint_interval);
  if (k == "mtbf") return std::to_string(c.mtbf);
  if (k == "job_end_margin") return std::to_string(c.job_end_margin);
  if (k == "scratch_spill") {
    std::string out;
    for (const auto& d : c.scratch_spill) out += (out.empty() ? "" : ",") + d;
    return out;
  }
  return "";
}

}  // namespace

std::optional<bool> ParseBool(const std::string& v) {
  std::string s = Lower(Trim(v));
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

Result<Config> ParseConfig(const std::string& text, const std::string& origin, bool apply_env) {
  try {
    std::map<std::string, Entry> entries;
    CAIRN_RETURN_IF_ERROR(ParseLines(text, origin, &entries));
    if (apply_env) ApplyEnv(&entries);
    return Builder(origin, std::move(entries)).Build();
  } catch (const std::exception& e) {
    return Status::Internal("config " + origin + ": " + e.what());
  }
}

Result<Config> LoadConfig(const std::string& path) {
  try {
    if (path.empty()) return ParseConfig("", "environment", true);
    std::string text;
    CAIRN_RETURN_IF_ERROR(ReadFile(path, &text));
    return ParseConfig(text, path, true);
  } catch (const std::exception& e) {
    return Status::Internal("config '" + path + "': " + e.what());
  }
}

std::optional<uint64_t> ParseSize(const std::string& text) {
  std::string v(Trim(text));
  if (v.empty()) return std::nullopt;
  uint64_t mult = 1;
  char last = static_cast<char>(std::toupper(static_cast<unsigned char>(v.back())));
  if (last == 'B') {
    v.pop_back();
    if (v.empty()) return std::nullopt;
    last = static_cast<char>(std::toupper(static_cast<unsigned char>(v.back())));
  }
  if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
    mult = last == 'K' ? 1ULL << 10 : last == 'M' ? 1ULL << 20 : last == 'G' ? 1ULL << 30 : 1ULL << 40;
    v.pop_back();
  }
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  if (n > UINT64_MAX / mult) return std::nullopt;
  return n * mult;
}

std::string SerializeConfig(const Config& c) {
  std::string out;
  for (std::string_view k : kKnownKeys) {
    if (k == "axl_type") continue;
    std::string v = ValueString(c, k);
    if (!v.empty()) out.append(k).append(" = ").append(v).append("\n");
  }
  return out;
}

std::string DescribeConfig(const Config& c) {
  try {
    std::string out;
    for (std::string_view k : kKnownKeys) {
      if (k == "axl_type") continue;
      std::string source = "default";
      for (const auto& [key, src] : c.sources) {
        if (key == k) source = src;  // last entry wins
      }
      std::string v = ValueString(c, k);
      out.append(k).append(" = ").append(v.empty() ? "(unset)" : v);
      out.append("  (").append(source).append(")\n");
    }
    return out;
  } catch (const std::exception&) {
    return std::string();
  }
}

}  // namespace cairn
