#include "coord/manifest.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "common/hash.h"
#include "common/log.h"
#include "transparent/image_chain.h"
#include "transparent/naming.h"

namespace cairn::coord {
namespace {

constexpr char kMagic[] = "cairn-job-manifest";
constexpr uint64_t kMaxManifestBytes = 64u << 20;

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// An absolute, lexically normal form of `dir` without a trailing '/'.
std::string AbsoluteDir(const std::string& dir) {
  std::filesystem::path p(dir.empty() ? "." : dir);
  if (p.is_relative()) {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) p = std::filesystem::path(cwd) / p;
  }
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// `path` relative to `dir` when it lies inside it (also through dir's real path), else
// `path` unchanged.
std::string RelativeIfInside(const std::string& dir, const std::string& path) {
  const std::string norm = std::filesystem::path(path).lexically_normal().string();
  std::vector<std::string> roots{AbsoluteDir(dir)};
  char real[PATH_MAX];
  if (::realpath(roots[0].c_str(), real) != nullptr && roots[0] != real) roots.push_back(real);
  for (const std::string& root : roots) {
    const std::string prefix = root == "/" ? "/" : root + "/";
    if (norm.size() > prefix.size() && norm.compare(0, prefix.size(), prefix) == 0) {
      return norm.substr(prefix.size());
    }
  }
  return norm;
}

// The real path of `p` when it exists, else its lexically normal form.
std::string Canonical(const std::string& p) {
  char real[PATH_MAX];
  if (::realpath(p.c_str(), real) != nullptr) return real;
  return std::filesystem::path(p).lexically_normal().string();
}

template <class T>
bool ParseInt(const std::string& s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits off the first blank-separated word of `*rest`.
std::string NextWord(std::string* rest) {
  size_t sp = rest->find(' ');
  std::string w = rest->substr(0, sp);
  *rest = sp == std::string::npos ? "" : rest->substr(sp + 1);
  return w;
}

Result<std::string> ReadSmallFile(Env* env, const std::string& path) {
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  if (f.value()->size() > kMaxManifestBytes) {
    return Status::Corruption("'" + path + "': manifest larger than 64 MiB");
  }
  std::string text(f.value()->size(), '\0');
  CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(0, text.data(), text.size()));
  return text;
}

}  // namespace

std::string ManifestPath(const std::string& dir, uint64_t version) {
  return transparent::naming::ManifestPath(dir, version);
}

uint64_t ManifestVersionFromName(const std::string& name) {
  return transparent::naming::ManifestVersionFromName(name);
}

Result<std::string> EncodeManifest(const std::string& dir, const Manifest& m) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("manifest version " + std::to_string(m.version) + ": " + why);
  };
  if (m.version == 0) return bad("version 0");
  if (m.participants < 1) return bad("fewer than 1 participant");
  if (m.kind.empty() || m.kind.find_first_of(" \t\r\n") != std::string::npos) {
    return bad("kind '" + m.kind + "' is empty or has blanks");
  }
  std::vector<ManifestImage> images = m.images;
  std::sort(images.begin(), images.end(),
            [](const ManifestImage& a, const ManifestImage& b) { return a.rank < b.rank; });
  if (images.size() != static_cast<size_t>(m.participants)) {
    return bad(std::to_string(images.size()) + " images for " + std::to_string(m.participants) +
               " participants");
  }
  for (size_t i = 0; i < images.size(); ++i) {
    const ManifestImage& im = images[i];
    if (im.rank != static_cast<int>(i)) {
      return bad("rank " + std::to_string(i) + " is missing or duplicated");
    }
    if (im.hash.empty() || im.hash.find_first_of(" \t\r\n") != std::string::npos) {
      return bad("rank " + std::to_string(i) + ": hash '" + im.hash + "' is empty or has blanks");
    }
    if (im.path.empty() || im.path[0] != '/' ||
        im.path.find_first_of("\r\n") != std::string::npos) {
      return bad("rank " + std::to_string(i) + ": image path '" + im.path +
                 "' is not an absolute path on one line");
    }
  }
  int64_t created = m.created;
  if (created == 0) created = static_cast<int64_t>(std::time(nullptr));
  std::ostringstream os;
  os << kMagic << " " << kManifestFormat << "\nversion " << m.version << "\nkind " << m.kind
     << "\nparticipants " << m.participants << "\ncreated " << created << "\n";
  for (const ManifestImage& im : images) {
    os << "image " << im.rank << " " << im.bytes << " " << im.hash << " "
       << RelativeIfInside(dir, im.path) << "\n";
  }
  for (const ManifestImage& im : images) {
    if (im.pid <= 0) continue;
    os << "process " << im.rank << " " << im.pid << " " << im.ppid << " " << im.pgid << " "
       << im.sid << "\n";
  }
  for (const ManifestImage& im : images) {
    for (const auto& e : im.exited) {
      os << "exited " << im.rank << " " << e.pid << " " << e.status << "\n";
    }
  }
  std::string body = os.str();
  body += "checksum " + Hex16(Hash64(body.data(), body.size())) + "\n";
  return body;
}

Result<Manifest> DecodeManifest(const std::string& dir, const std::string& path,
                                const std::string& text) {
  auto bad = [&](const std::string& why) { return Status::Corruption("'" + path + "': " + why); };
  // The checksum line is the last line; it covers every byte before it.
  if (text.empty() || text.back() != '\n') return bad("not a job manifest (truncated)");
  const size_t last = text.rfind('\n', text.size() - 2);
  const size_t body_len = last == std::string::npos ? 0 : last + 1;
  const std::string sum_line = text.substr(body_len, text.size() - 1 - body_len);
  if (sum_line.compare(0, 9, "checksum ") != 0) {
    return bad("not a job manifest (no checksum line)");
  }
  if (sum_line.substr(9) != Hex16(Hash64(text.data(), body_len))) {
    return bad("job manifest checksum mismatch");
  }
  Manifest m;
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < body_len;) {
    size_t nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() < 5) return bad("not a job manifest (too short)");
  {
    std::string rest = lines[0];
    if (NextWord(&rest) != kMagic) return bad("not a job manifest");
    int fmt = 0;
    if (!ParseInt(rest, &fmt)) return bad("not a job manifest (bad format line)");
    if (fmt != kManifestFormat) {
      return bad("unknown job manifest format " + rest + " (this cairn reads " +
                 std::to_string(kManifestFormat) + ")");
    }
  }
  auto field = [&](size_t i, const char* key, std::string* out) -> bool {
    std::string rest = lines[i];
    if (NextWord(&rest) != key) return false;
    *out = rest;
    return !rest.empty();
  };
  std::string v;
  if (!field(1, "version", &v) || !ParseInt(v, &m.version) || m.version == 0) {
    return bad("bad 'version' line");
  }
  if (!field(2, "kind", &m.kind) || m.kind.find(' ') != std::string::npos) {
    return bad("bad 'kind' line");
  }
  if (!field(3, "participants", &v) || !ParseInt(v, &m.participants) || m.participants < 1) {
    return bad("bad 'participants' line");
  }
  if (!field(4, "created", &v) || !ParseInt(v, &m.created)) return bad("bad 'created' line");
  const uint64_t named = ManifestVersionFromName(BaseName(path));
  if (named != 0 && named != m.version) {
    return bad("records version " + std::to_string(m.version) + " but is named version " +
               std::to_string(named));
  }
  const std::string root = AbsoluteDir(dir);
  std::set<int> seen, with_process;
  bool exited_lines = false;
  for (size_t i = 5; i < lines.size(); ++i) {
    std::string rest = lines[i];
    const std::string key = NextWord(&rest);
    if (key == "exited") {
      int rank = -1, pid = 0, status = 0;
      bool ok = ParseInt(NextWord(&rest), &rank) && ParseInt(NextWord(&rest), &pid) &&
                ParseInt(NextWord(&rest), &status) && rest.empty() && pid > 0 && status >= 0 &&
                status <= 0xffff;
      auto it = std::find_if(m.images.begin(), m.images.end(),
                             [&](const ManifestImage& im) { return im.rank == rank; });
      if (!ok || it == m.images.end()) {
        return bad("bad exited line " + std::to_string(i + 1) + ": '" + lines[i] + "'");
      }
      it->exited.push_back({pid, status});
      exited_lines = true;
      continue;
    }
    if (key == "process") {
      if (exited_lines) return bad("process line " + std::to_string(i + 1) + " after exited lines");
      int rank = -1;
      int ids[4] = {0, 0, 0, 0};
      bool ok = ParseInt(NextWord(&rest), &rank);
      for (int& id : ids) ok = ok && ParseInt(NextWord(&rest), &id);
      if (!ok || !rest.empty() || ids[0] <= 0 || ids[1] < 0 || ids[2] < 0 || ids[3] < 0) {
        return bad("bad process line " + std::to_string(i + 1) + ": '" + lines[i] + "'");
      }
      auto it = std::find_if(m.images.begin(), m.images.end(),
                             [&](const ManifestImage& im) { return im.rank == rank; });
      if (it == m.images.end() || !with_process.insert(rank).second) {
        return bad("process line " + std::to_string(i + 1) + " names no image or repeats one");
      }
      it->pid = ids[0];
      it->ppid = ids[1];
      it->pgid = ids[2];
      it->sid = ids[3];
      continue;
    }
    if (key != "image" || !with_process.empty() || exited_lines) {
      return bad("unexpected line " + std::to_string(i + 1) + ": '" + lines[i] + "'");
    }
    ManifestImage im;
    const std::string rank = NextWord(&rest), bytes = NextWord(&rest);
    im.hash = NextWord(&rest);
    if (!ParseInt(rank, &im.rank) || !ParseInt(bytes, &im.bytes) || im.hash.empty() ||
        rest.empty()) {
      return bad("bad image line " + std::to_string(i + 1) + ": '" + lines[i] + "'");
    }
    if (im.rank < 0 || im.rank >= m.participants) {
      return bad("image of rank " + rank + " outside 0.." + std::to_string(m.participants - 1));
    }
    if (!seen.insert(im.rank).second) return bad("rank " + rank + " listed twice");
    im.path = rest[0] == '/' ? rest : JoinPath(root, rest);
    m.images.push_back(std::move(im));
  }
  if (seen.size() != static_cast<size_t>(m.participants)) {
    std::string missing;
    for (int r = 0; r < m.participants; ++r) {
      if (seen.count(r) == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    }
    return bad("no image for rank(s) " + missing);
  }
  std::sort(m.images.begin(), m.images.end(),
            [](const ManifestImage& a, const ManifestImage& b) { return a.rank < b.rank; });
  return m;
}

Result<std::string> WriteManifest(const std::string& dir, const Manifest& m, Env* env) {
  auto text = EncodeManifest(dir, m);
  if (!text.ok()) return text.status();
  const std::string path = ManifestPath(dir, m.version);
  const std::string tmp = path + ".tmp";
  auto f = env->NewWritableFile(tmp);
  if (!f.ok()) return f.status();
  Status st = f.value()->Append(text.value().data(), text.value().size());
  if (st.ok()) st = f.value()->Sync();
  Status cst = f.value()->Close();
  if (st.ok()) st = cst;
  if (st.ok()) st = env->Rename(tmp, path);
  if (!st.ok()) {
    (void)env->RemoveFile(tmp);
    return st;
  }
  CAIRN_RETURN_IF_ERROR(env->SyncDir(dir.empty() ? "." : dir));
  return path;
}

Result<Manifest> ReadManifest(const std::string& path, Env* env) {
  auto text = ReadSmallFile(env, path);
  if (!text.ok()) return text.status();
  return DecodeManifest(DirName(path), path, text.value());
}

Result<std::vector<uint64_t>> ListManifests(const std::string& dir, Env* env) {
  std::vector<uint64_t> out;
  if (!env->Exists(dir)) return out;
  auto names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  for (const std::string& n : names.value()) {
    const uint64_t v = ManifestVersionFromName(n);
    if (v != 0) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status CheckImages(const Manifest& m, Env* env) {
  for (const ManifestImage& im : m.images) {
    auto st = env->Stat(im.path);
    if (!st.ok()) {
      return Status::NotFound("image of rank " + std::to_string(im.rank) + " '" + im.path +
                              "' is missing");
    }
    if (st.value().size != im.bytes) {
      return Status::Corruption("image of rank " + std::to_string(im.rank) + " '" + im.path +
                                "' has " + std::to_string(st.value().size) +
                                " bytes, the manifest records " + std::to_string(im.bytes));
    }
  }
  return Status::Ok();
}

Result<Manifest> NewestValid(const std::string& dir, std::string* warnings, Env* env) {
  auto versions = ListManifests(dir, env);
  if (!versions.ok()) return versions.status();
  auto warn = [&](uint64_t v, const std::string& why) {
    if (warnings != nullptr) {
      *warnings += BaseName(ManifestPath(dir, v)) + ": " + why + "\n";
    }
  };
  for (auto it = versions.value().rbegin(); it != versions.value().rend(); ++it) {
    const std::string path = ManifestPath(dir, *it);
    auto m = ReadManifest(path, env);
    if (!m.ok()) {
      warn(*it, "skipped: " + m.status().message());
      continue;
    }
    if (Status st = CheckImages(m.value(), env); !st.ok()) {
      warn(*it, "skipped: " + st.message());
      continue;
    }
    return std::move(m.value());
  }
  return Status::NotFound("no valid job manifest in '" + dir + "'" +
                          (versions.value().empty() ? "" : " (every one was skipped)"));
}

Status Prune(const std::string& dir, int keep, Env* env) {
  if (keep < 1) return Status::Ok();
  auto versions = ListManifests(dir, env);
  if (!versions.ok()) return versions.status();
  std::map<uint64_t, Manifest> readable;  // by version
  std::vector<uint64_t> unreadable;
  for (uint64_t v : versions.value()) {
    auto m = ReadManifest(ManifestPath(dir, v), env);
    if (m.ok()) {
      readable.emplace(v, std::move(m.value()));
    } else {
      unreadable.push_back(v);
    }
  }
  if (readable.size() <= static_cast<size_t>(keep)) return Status::Ok();
  // Versions below `oldest_kept` go.
  auto kept_begin = std::prev(readable.end(), keep);
  const uint64_t oldest_kept = kept_begin->first;
  std::set<std::string> kept_images, removed_images;
  for (auto it = kept_begin; it != readable.end(); ++it) {
    // An incremental image keeps the images of its chain (transparent/image_chain.h).
    for (const ManifestImage& im : it->second.images) {
      for (const std::string& p : transparent::ChainFiles(env, im.path)) {
        kept_images.insert(Canonical(p));
      }
    }
  }
  Status first_error;
  auto remove = [&](const std::string& path) {
    Status st = env->RemoveFile(path);
    if (!st.ok()) {
      log::Warn("cannot remove '", path, "': ", st.message());
      if (first_error.ok()) first_error = st;
    }
  };
  for (auto it = readable.begin(); it != kept_begin; ++it) {
    for (const ManifestImage& im : it->second.images) removed_images.insert(Canonical(im.path));
    remove(ManifestPath(dir, it->first));
  }
  for (uint64_t v : unreadable) {
    if (v < oldest_kept) remove(ManifestPath(dir, v));
  }
  // Only images directly in DIR, never one a kept manifest names (compared by real path).
  const std::string root = Canonical(AbsoluteDir(dir));
  for (const std::string& p : removed_images) {
    if (kept_images.count(p) != 0) continue;
    if (DirName(p) != root || !p.ends_with(kImageSuffix)) continue;
    remove(p);
  }
  Status sync = env->SyncDir(dir.empty() ? "." : dir);
  if (first_error.ok()) first_error = sync;
  return first_error;
}

}  // namespace cairn::coord
