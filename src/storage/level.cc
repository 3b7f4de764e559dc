#include "storage/level.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "common/hash.h"
#include "common/log.h"

namespace cairn {

const char* LevelName(LevelKind k) {
  switch (k) {
    case LevelKind::kScratch:
      return "scratch";
    case LevelKind::kPartner:
      return "redundancy";
    case LevelKind::kPersistent:
      return "persistent";
  }
  return "unknown";
}

Status Level::Prepare() const {
  return env_->EnsureWritableDir(layout_.root())
      .Annotate(std::string(LevelName(kind_)) + " directory");
}

Status Level::PrepareVersion(const std::string& name, long long version) const {
  return env_->CreateDirs(layout_.VersionDir(name, version));
}

std::vector<long long> Level::ListVersions(const std::string& name, int rank,
                                           long long max_version) const {
  std::vector<long long> out;
  auto dirs = env_->ListDir(layout_.NameDir(name));
  if (!dirs.ok()) return out;
  const std::string want = Layout::RankFileName(rank);
  for (const auto& d : dirs.value()) {
    auto v = Layout::ParseVersionDir(d);
    if (!v || (max_version > 0 && *v > max_version)) continue;
    if (env_->Exists(JoinPath(layout_.VersionDir(name, *v), want))) out.push_back(*v);
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

std::vector<std::string> Level::ListNames() const {
  std::vector<std::string> out;
  auto names = env_->ListDir(layout_.root());
  if (!names.ok()) return out;
  for (const auto& n : names.value()) {
    auto st = env_->Stat(JoinPath(layout_.root(), n));
    if (st.ok() && st.value().is_dir) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Level::Publish(const std::vector<std::string>& finals) const {
  for (const auto& f : finals) CAIRN_RETURN_IF_ERROR(env_->Rename(f + kTmpSuffix, f));
  if (sync_ && !finals.empty()) CAIRN_RETURN_IF_ERROR(env_->SyncDir(DirName(finals.front())));
  return Status::Ok();
}

Status Level::RemoveVersion(const std::string& name, long long version, int rank,
                            bool remove_commit) const {
  const std::string dir = layout_.VersionDir(name, version);
  if (remove_commit) CAIRN_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(dir, kCommitRecordName)));
  auto files = env_->ListDir(dir);
  if (!files.ok()) return files.status().code() == Code::kNotFound ? Status::Ok() : files.status();
  // The rank file goes first: once it is gone the version no longer counts for this rank.
  CAIRN_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(dir, Layout::RankFileName(rank))));
  for (const auto& f : files.value()) {
    if (Layout::BelongsToRank(f, rank)) CAIRN_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(dir, f)));
  }
  auto left = env_->ListDir(dir);
  if (left.ok() && left.value().empty()) (void)env_->RemoveDir(dir);
  return Status::Ok();
}

Status Level::RemoveTemporaries(int rank) const {
  for (const auto& name : ListNames()) {
    auto dirs = env_->ListDir(layout_.NameDir(name));
    if (!dirs.ok()) continue;
    for (const auto& d : dirs.value()) {
      if (!Layout::ParseVersionDir(d)) continue;
      std::string vdir = JoinPath(layout_.NameDir(name), d);
      auto files = env_->ListDir(vdir);
      if (!files.ok()) continue;
      for (const auto& f : files.value()) {
        // Rank 0 writes the commit record, so its leftovers are rank 0's to remove.
        const bool mine = Layout::BelongsToRank(f, rank) ||
                          (rank == 0 && f == std::string(kCommitRecordName) + kTmpSuffix);
        if (Layout::IsTemporary(f) && mine) {
          log::Info("removing leftover temporary file ", JoinPath(vdir, f));
          CAIRN_RETURN_IF_ERROR(env_->RemoveFile(JoinPath(vdir, f)));
        }
      }
    }
  }
  return Status::Ok();
}

Status Level::Retain(const std::string& name, int rank, int keep, bool remove_commit,
                     long long floor) const {
  if (keep <= 0) return Status::Ok();
  std::vector<long long> versions = ListVersions(name, rank);
  for (size_t i = static_cast<size_t>(keep); i < versions.size(); ++i) {
    if (versions[i] >= floor) continue;
    log::Debug("retention: removing ", LevelName(kind_), " version ", versions[i], " of '", name,
               "' (rank ", rank, ")");
    CAIRN_RETURN_IF_ERROR(RemoveVersion(name, versions[i], rank, remove_commit));
  }
  return Status::Ok();
}

Status CopyFile(const std::string& src, const std::string& dst, bool sync,
                std::atomic<uint64_t>* progress, Pacer* pacer) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::FromErrno("cannot open '" + src + "'", errno);
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return Status::FromErrno("cannot create '" + dst + "'", e);
  }
  Status st;
  off_t off = 0;
  for (;;) {
    ssize_t n = ::sendfile(out, in, &off, pacer != nullptr ? (1u << 20) : (16u << 20));
    if (n < 0) {
      if (errno == EINTR) continue;
      st = Status::FromErrno("cannot copy '" + src + "' to '" + dst + "'",
                             errno == EFBIG ? ENOSPC : errno);
      break;
    }
    if (n == 0) break;
    if (progress != nullptr) *progress += static_cast<uint64_t>(n);
    if (pacer != nullptr) pacer->Pace(static_cast<uint64_t>(n));
  }
  if (st.ok() && sync && ::fdatasync(out) != 0) {
    st = Status::FromErrno("cannot sync '" + dst + "'", errno);
  }
  ::close(in);
  if (::close(out) != 0 && st.ok()) st = Status::FromErrno("cannot close '" + dst + "'", errno);
  return st;
}

Status Level::CopyFileIn(const std::string& src, const std::string& dst,
                         std::atomic<uint64_t>* progress, Pacer* pacer) const {
  return CopyFile(src, dst, sync_, progress, pacer);
}

namespace {
std::string Hex(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof(b), "%016" PRIx64, v);
  return b;
}
}  // namespace

Status WriteCommitRecord(const Level& level, const CommitRecord& rec) {
  std::ostringstream os;
  os << "cairn-commit 1\nname " << rec.name << "\nversion " << rec.version << "\nnranks "
     << rec.nranks << "\n";
  for (size_t r = 0; r < rec.rank_hashes.size(); ++r) {
    os << "rank " << r << " " << Hex(rec.rank_hashes[r]) << "\n";
  }
  std::string body = os.str();
  body += "checksum " + Hex(Hash64(body.data(), body.size())) + "\n";
  const std::string path = level.layout().CommitRecord(rec.name, rec.version);
  auto f = level.env()->NewWritableFile(path + kTmpSuffix);
  if (!f.ok()) return f.status();
  CAIRN_RETURN_IF_ERROR(f.value()->Append(body.data(), body.size()));
  if (level.sync()) CAIRN_RETURN_IF_ERROR(f.value()->Sync());
  CAIRN_RETURN_IF_ERROR(f.value()->Close());
  return level.Publish({path});
}

Result<CommitRecord> ReadCommitRecord(Env* env, const std::string& path) {
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  uint64_t size = f.value()->size();
  if (size > (1u << 24)) return Status::Corruption("'" + path + "': commit record too large");
  std::string text(size, '\0');
  CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(0, text.data(), text.size()));
  size_t pos = text.rfind("checksum ");
  if (pos == std::string::npos || text.substr(pos + 9, 16) != Hex(Hash64(text.data(), pos))) {
    return Status::Corruption("'" + path + "': commit record checksum mismatch");
  }
  std::istringstream is(text.substr(0, pos));
  CommitRecord rec;
  std::string key, magic;
  int fmt = 0;
  is >> magic >> fmt;
  if (magic != "cairn-commit" || fmt != 1) {
    return Status::Corruption("'" + path + "': not a cairn commit record");
  }
  while (is >> key) {
    if (key == "name") {
      is >> rec.name;
    } else if (key == "version") {
      is >> rec.version;
    } else if (key == "nranks") {
      is >> rec.nranks;
    } else if (key == "rank") {
      size_t r = 0;
      std::string h;
      is >> r >> h;
      if (r != rec.rank_hashes.size()) return Status::Corruption("'" + path + "': bad rank list");
      rec.rank_hashes.push_back(std::stoull(h, nullptr, 16));
    } else {
      return Status::Corruption("'" + path + "': unknown field '" + key + "'");
    }
  }
  if (rec.nranks <= 0 || rec.rank_hashes.size() != static_cast<size_t>(rec.nranks)) {
    return Status::Corruption("'" + path + "': rank count does not match");
  }
  return rec;
}

}  // namespace cairn
