#include "job/segment_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "env/env.h"
#include "transparent/naming.h"

namespace cairn::job {
namespace {

void AppendQuoted(std::string* out, const std::string& s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

class ObjectBuilder {
 public:
  void Str(const char* key, const std::string& v) {
    if (v.empty()) return;
    KeyOf(key);
    AppendQuoted(&s_, v);
  }
  void Int(const char* key, int64_t v, bool always = false) {
    if (v < 0 && !always) return;
    KeyOf(key);
    s_ += std::to_string(v);
  }
  void Real(const char* key, double v) {
    if (!(v >= 0) || !std::isfinite(v)) return;
    KeyOf(key);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    s_ += buf;
  }
  std::string Done() { return s_ + "}"; }

 private:
  void KeyOf(const char* key) {
    s_ += first_ ? "" : ",";
    first_ = false;
    AppendQuoted(&s_, key);
    s_ += ":";
  }
  std::string s_ = "{";
  bool first_ = true;
};

// A flat JSON object of strings, numbers and null -> key -> raw value (strings unescaped,
// numbers as text). Nested values are refused.
struct FlatValue {
  bool is_string = false;
  bool is_null = false;
  std::string text;
};

class FlatParser {
 public:
  explicit FlatParser(const std::string& s) : s_(s) {}

  Result<std::map<std::string, FlatValue>> Parse() {
    std::map<std::string, FlatValue> out;
    Skip();
    if (!Eat('{')) return Bad("expected '{'");
    Skip();
    if (Eat('}')) return Finish(std::move(out));
    while (true) {
      Skip();
      std::string key;
      if (!String(&key)) return Bad("expected a key");
      Skip();
      if (!Eat(':')) return Bad("expected ':'");
      Skip();
      FlatValue v;
      if (Peek() == '"') {
        v.is_string = true;
        if (!String(&v.text)) return Bad("bad string");
      } else if (s_.compare(i_, 4, "null") == 0) {
        v.is_null = true;
        i_ += 4;
      } else {
        size_t start = i_;
        while (i_ < s_.size() &&
               (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                s_[i_] == '+' || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
          ++i_;
        }
        if (start == i_) return Bad("expected a string, number or null");
        v.text = s_.substr(start, i_ - start);
      }
      out[key] = std::move(v);
      Skip();
      if (Eat(',')) continue;
      if (Eat('}')) return Finish(std::move(out));
      return Bad("expected ',' or '}'");
    }
  }

 private:
  Result<std::map<std::string, FlatValue>> Finish(std::map<std::string, FlatValue> m) {
    Skip();
    if (i_ != s_.size()) return Bad("trailing characters");
    return m;
  }
  Status Bad(const std::string& what) {
    return Status::Corruption("bad segment record at offset " + std::to_string(i_) + ": " + what);
  }
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }
  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            char h = s_[i_++];
            v <<= 4;
            if (h >= '0' && h <= '9') {
              v |= static_cast<unsigned>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
              v |= static_cast<unsigned>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
              v |= static_cast<unsigned>(h - 'A' + 10);
            } else {
              return false;
            }
          }
          if (v < 0x80) {
            out->push_back(static_cast<char>(v));
          } else if (v < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (v >> 6)));
            out->push_back(static_cast<char>(0x80 | (v & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (v >> 12)));
            out->push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (v & 0x3F)));
          }
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  const std::string& s_;
  size_t i_ = 0;
};

Status GetInt(const std::map<std::string, FlatValue>& m, const char* key, int64_t* out) {
  auto it = m.find(key);
  if (it == m.end() || it->second.is_null) return Status::Ok();
  if (it->second.is_string) {
    return Status::Corruption(std::string("segment record: '") + key + "' is not a number");
  }
  const std::string& t = it->second.text;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || end == t.c_str() || *end != '\0') {
    return Status::Corruption(std::string("segment record: '") + key + "' = '" + t +
                              "' is not an integer");
  }
  *out = v;
  return Status::Ok();
}

Status GetReal(const std::map<std::string, FlatValue>& m, const char* key, double* out) {
  auto it = m.find(key);
  if (it == m.end() || it->second.is_null) return Status::Ok();
  if (it->second.is_string) {
    return Status::Corruption(std::string("segment record: '") + key + "' is not a number");
  }
  const std::string& t = it->second.text;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0') {
    return Status::Corruption(std::string("segment record: '") + key + "' = '" + t +
                              "' is not a number");
  }
  *out = v;
  return Status::Ok();
}

Status GetStr(const std::map<std::string, FlatValue>& m, const char* key, std::string* out) {
  auto it = m.find(key);
  if (it == m.end() || it->second.is_null) return Status::Ok();
  if (!it->second.is_string) {
    return Status::Corruption(std::string("segment record: '") + key + "' is not a string");
  }
  *out = it->second.text;
  return Status::Ok();
}

}  // namespace

std::string SegmentLogPath(const std::string& dir, const std::string& job) {
  return transparent::naming::JobLog(dir, job);
}

std::string EncodeSegmentRecord(const SegmentRecord& r) {
  ObjectBuilder b;
  b.Str("job", r.job);
  b.Int("segment", r.segment, true);
  b.Str("mode", r.mode);
  b.Str("action", r.action);
  b.Int("start", r.start);
  b.Int("end", r.end);
  b.Int("time_limit", r.time_limit);
  b.Int("used", r.used);
  b.Str("trigger", r.trigger);
  b.Real("ckpt_start", r.ckpt_start);
  b.Real("ckpt_cost", r.ckpt_cost);
  b.Int("remaining", r.remaining);
  b.Int("next_limit", r.next_limit);
  b.Int("exit_status", r.exit_status);
  b.Str("message", r.message);
  return b.Done();
}

Result<SegmentRecord> DecodeSegmentRecord(const std::string& line) {
  auto m = FlatParser(line).Parse();
  if (!m.ok()) return m.status();
  SegmentRecord r;
  const auto& v = m.value();
  CAIRN_RETURN_IF_ERROR(GetStr(v, "job", &r.job));
  r.segment = -1;
  CAIRN_RETURN_IF_ERROR(GetInt(v, "segment", &r.segment));
  if (r.segment < 0) return Status::Corruption("segment record without a segment number");
  CAIRN_RETURN_IF_ERROR(GetStr(v, "mode", &r.mode));
  CAIRN_RETURN_IF_ERROR(GetStr(v, "action", &r.action));
  if (r.action.empty()) return Status::Corruption("segment record without an action");
  CAIRN_RETURN_IF_ERROR(GetInt(v, "start", &r.start));
  CAIRN_RETURN_IF_ERROR(GetInt(v, "end", &r.end));
  CAIRN_RETURN_IF_ERROR(GetInt(v, "time_limit", &r.time_limit));
  CAIRN_RETURN_IF_ERROR(GetInt(v, "used", &r.used));
  CAIRN_RETURN_IF_ERROR(GetStr(v, "trigger", &r.trigger));
  CAIRN_RETURN_IF_ERROR(GetReal(v, "ckpt_start", &r.ckpt_start));
  CAIRN_RETURN_IF_ERROR(GetReal(v, "ckpt_cost", &r.ckpt_cost));
  CAIRN_RETURN_IF_ERROR(GetInt(v, "remaining", &r.remaining));
  CAIRN_RETURN_IF_ERROR(GetInt(v, "next_limit", &r.next_limit));
  CAIRN_RETURN_IF_ERROR(GetInt(v, "exit_status", &r.exit_status));
  CAIRN_RETURN_IF_ERROR(GetStr(v, "message", &r.message));
  return r;
}

Status AppendSegmentRecord(const std::string& path, const SegmentRecord& r) {
  CAIRN_RETURN_IF_ERROR(Env::Default()->CreateDirs(DirName(path)));
  const std::string line = EncodeSegmentRecord(r) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot open the job log '" + path + "'", errno);
  ssize_t n = ::write(fd, line.data(), line.size());
  int e = errno;
  if (n != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    if (n >= 0) return Status::IOError("short write to the job log '" + path + "'");
    return Status::FromErrno("cannot write the job log '" + path + "'", e);
  }
  if (::fdatasync(fd) != 0) {
    e = errno;
    ::close(fd);
    return Status::FromErrno("cannot sync the job log '" + path + "'", e);
  }
  if (::close(fd) != 0) return Status::FromErrno("cannot close the job log '" + path + "'", errno);
  return Status::Ok();
}

Result<SegmentLog> ReadSegmentLog(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open the job log '" + path + "'", errno);
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::FromErrno("cannot read the job log '" + path + "'", e);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  SegmentLog log;
  log.path = path;
  size_t start = 0;
  while (start < data.size()) {
    size_t nl = data.find('\n', start);
    std::string line = data.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? data.size() : nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto r = DecodeSegmentRecord(line);
    if (r.ok()) {
      log.records.push_back(std::move(r.value()));
    } else {
      ++log.bad_lines;
    }
  }
  return log;
}

std::vector<SegmentRecord> SegmentsOf(const SegmentLog& log) {
  std::map<int64_t, SegmentRecord> by_segment;
  for (const auto& r : log.records) {
    auto it = by_segment.find(r.segment);
    if (it == by_segment.end()) {
      by_segment.emplace(r.segment, r);
      continue;
    }
    const int64_t start = it->second.start;
    const int64_t limit = it->second.time_limit;
    it->second = r;
    if (it->second.start < 0) it->second.start = start;
    if (it->second.time_limit < 0) it->second.time_limit = limit;
  }
  std::vector<SegmentRecord> out;
  for (auto& [seg, r] : by_segment) out.push_back(r);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i].action == "running") out[i].action = "lost";
  }
  return out;
}

std::vector<std::string> FindSegmentLogs(const std::string& dir) {
  std::vector<std::string> out;
  const std::string sub = transparent::naming::ControlDir(dir);
  auto names = Env::Default()->ListDir(sub);
  if (!names.ok()) return out;
  for (const auto& n : names.value()) {
    if (n.size() > 8 && n.compare(0, 4, "job-") == 0 && n.compare(n.size() - 4, 4, ".log") == 0) {
      out.push_back(JoinPath(sub, n));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cairn::job
