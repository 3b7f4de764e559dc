#include "transparent/maps.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

namespace cairn::transparent {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Reads characters up to the next blank (or the end) from `*s`, and consumes them.
std::string_view NextToken(std::string_view* s) {
  size_t n = 0;
  while (n < s->size() && !IsBlank((*s)[n])) ++n;
  std::string_view tok = s->substr(0, n);
  s->remove_prefix(n);
  return tok;
}

// Consumes at least one blank; false if there is none.
bool SkipBlanks(std::string_view* s) {
  size_t n = 0;
  while (n < s->size() && IsBlank((*s)[n])) ++n;
  s->remove_prefix(n);
  return n > 0;
}

// The whole of `tok` as a number in `base`; false if empty, not all digits, or overflowing.
template <class T>
bool ParseNumber(std::string_view tok, int base, T* out) {
  if (tok.empty()) return false;
  const char* first = tok.data();
  const char* last = first + tok.size();
  auto [p, ec] = std::from_chars(first, last, *out, base);
  return ec == std::errc() && p == last;
}

Status Malformed(const std::string& what) { return Status::Corruption(what); }

MapRegion::Kind Classify(const std::string& path) {
  if (path.empty()) return MapRegion::kAnonymous;
  if (path[0] == '/') return MapRegion::kFile;
  if (path == "[heap]") return MapRegion::kHeap;
  if (path == "[stack]" || path.starts_with("[stack:")) return MapRegion::kStack;
  if (path == "[vdso]") return MapRegion::kVdso;
  if (path == "[vvar]" || path == "[vvar_vclock]") return MapRegion::kVvar;
  if (path == "[vsyscall]") return MapRegion::kVsyscall;
  return MapRegion::kOther;
}

std::string Hex(uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llx", width, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string MapRegion::PermString() const {
  std::string p = "----";
  if (read) p[0] = 'r';
  if (write) p[1] = 'w';
  if (exec) p[2] = 'x';
  p[3] = shared ? 's' : 'p';
  return p;
}

std::string MapRegion::ToString() const {
  std::string s = Hex(start, 8) + "-" + Hex(end, 8) + " " + PermString() + " " + Hex(offset, 8) +
                  " " + Hex(dev_major, 2) + ":" + Hex(dev_minor, 2) + " " + std::to_string(inode);
  if (!path.empty()) s += " " + path;
  if (deleted) s += kDeletedSuffix;
  return s;
}

const char* KindName(MapRegion::Kind kind) {
  switch (kind) {
    case MapRegion::kAnonymous:
      return "anonymous";
    case MapRegion::kFile:
      return "file";
    case MapRegion::kHeap:
      return "heap";
    case MapRegion::kStack:
      return "stack";
    case MapRegion::kVdso:
      return "vdso";
    case MapRegion::kVvar:
      return "vvar";
    case MapRegion::kVsyscall:
      return "vsyscall";
    case MapRegion::kOther:
      return "other";
  }
  return "?";
}

Result<MapRegion> ParseMapsLine(std::string_view line) {
  MapRegion r;
  std::string_view s = line;

  // start-end
  std::string_view range = NextToken(&s);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return Malformed("address range without '-'");
  if (!ParseNumber(range.substr(0, dash), 16, &r.start) ||
      !ParseNumber(range.substr(dash + 1), 16, &r.end)) {
    return Malformed("bad address range '" + std::string(range) + "'");
  }
  if (r.end < r.start) return Malformed("address range ends before it starts");

  // perms
  if (!SkipBlanks(&s)) return Malformed("missing permissions");
  std::string_view perms = NextToken(&s);
  if (perms.size() != 4 || (perms[0] != 'r' && perms[0] != '-') ||
      (perms[1] != 'w' && perms[1] != '-') || (perms[2] != 'x' && perms[2] != '-') ||
      (perms[3] != 's' && perms[3] != 'p')) {
    return Malformed("bad permissions '" + std::string(perms) + "'");
  }
  r.read = perms[0] == 'r';
  r.write = perms[1] == 'w';
  r.exec = perms[2] == 'x';
  r.shared = perms[3] == 's';

  // offset
  if (!SkipBlanks(&s)) return Malformed("missing offset");
  std::string_view off = NextToken(&s);
  if (!ParseNumber(off, 16, &r.offset)) return Malformed("bad offset '" + std::string(off) + "'");

  // major:minor
  if (!SkipBlanks(&s)) return Malformed("missing device");
  std::string_view dev = NextToken(&s);
  size_t colon = dev.find(':');
  if (colon == std::string_view::npos || !ParseNumber(dev.substr(0, colon), 16, &r.dev_major) ||
      !ParseNumber(dev.substr(colon + 1), 16, &r.dev_minor)) {
    return Malformed("bad device '" + std::string(dev) + "'");
  }

  // inode
  if (!SkipBlanks(&s)) return Malformed("missing inode");
  std::string_view ino = NextToken(&s);
  if (!ParseNumber(ino, 10, &r.inode)) return Malformed("bad inode '" + std::string(ino) + "'");

  // [padding path]: the rest of the line, which may contain blanks.
  SkipBlanks(&s);
  r.path.assign(s);
  if (r.path.size() > kDeletedSuffix.size() && r.path.ends_with(kDeletedSuffix)) {
    r.deleted = true;
    r.path.resize(r.path.size() - kDeletedSuffix.size());
  }
  r.kind = Classify(r.path);
  return r;
}

Result<std::vector<MapRegion>> ParseMaps(const std::string& text) {
  std::vector<MapRegion> regions;
  std::string_view rest = text;
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    Result<MapRegion> r = ParseMapsLine(line);
    if (!r.ok()) {
      constexpr size_t kMaxEcho = 160;
      std::string echo(line.substr(0, kMaxEcho));
      if (line.size() > kMaxEcho) echo += "...";
      return Status::Corruption("maps line " + std::to_string(line_no) + ": " +
                                r.status().message() + ": '" + echo + "'");
    }
    regions.push_back(std::move(r).value());
  }
  return regions;
}

Result<std::vector<MapRegion>> ReadMaps(pid_t pid) {
  std::string path = pid == 0 ? std::string("/proc/self/maps")
                              : "/proc/" + std::to_string(static_cast<long long>(pid)) + "/maps";
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno("open " + path, errno);

  // Large reads: the kernel regenerates the file as it goes, so fewer calls mean a view that
  // is more nearly one moment's.
  std::string text;
  constexpr size_t kChunk = 64 * 1024;
  for (;;) {
    size_t old = text.size();
    text.resize(old + kChunk);
    ssize_t n = ::read(fd, text.data() + old, kChunk);
    if (n < 0) {
      int err = errno;
      text.resize(old);
      if (err == EINTR) continue;
      ::close(fd);
      return Status::FromErrno("read " + path, err);
    }
    text.resize(old + static_cast<size_t>(n));
    if (n == 0) break;
  }
  ::close(fd);

  Result<std::vector<MapRegion>> regions = ParseMaps(text);
  if (!regions.ok()) return regions.status().Annotate(path);
  return regions;
}

bool ShouldSave(const MapRegion& region) {
  if (region.size() == 0) return false;
  switch (region.kind) {
    case MapRegion::kVsyscall:
    case MapRegion::kVvar:
    case MapRegion::kVdso:
      return false;
    default:
      return true;
  }
}

}  // namespace cairn::transparent
