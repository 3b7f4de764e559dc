// Level: one storage level's directory (scratch = L1, persistent = L3) and the
// operations the engine performs on it for one rank. Atomicity rules:
//   - data is written under "*.tmp" names and only renamed to final names after it
//     is complete (and, in collective mode, after every rank succeeded);
//   - on a level with `sync` set, files are fdatasync'ed before the rename and the
//     version directory is fsync'ed after it;
//   - readers (ListVersions, restart, the CLI) ignore "*.tmp" files entirely.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/pacer.h"
#include "env/env.h"
#include "storage/layout.h"

namespace cairn {

enum class LevelKind { kScratch = 1, kPartner = 2, kPersistent = 3 };
const char* LevelName(LevelKind k);

class Level {
 public:
  Level(LevelKind kind, std::string root, Env* env, bool sync)
      : kind_(kind), layout_(std::move(root)), env_(env), sync_(sync) {}

  LevelKind kind() const { return kind_; }
  const Layout& layout() const { return layout_; }
  Env* env() const { return env_; }
  bool sync() const { return sync_; }

  // Creates the root (0700) and checks it is writable.
  Status Prepare() const;
  Status PrepareVersion(const std::string& name, long long version) const;

  // Versions of `name` with a committed file of `rank`, newest first; max_version > 0
  // limits them to <= max_version.
  std::vector<long long> ListVersions(const std::string& name, int rank,
                                      long long max_version = 0) const;
  // Checkpoint names present on this level.
  std::vector<std::string> ListNames() const;

  // Renames each "<final>.tmp" in `finals` to "<final>", then syncs the directory.
  Status Publish(const std::vector<std::string>& finals) const;
  // Removes rank's files of one version (final and temporary); with remove_commit
  // also the commit record; then the version directory if it is empty.
  Status RemoveVersion(const std::string& name, long long version, int rank,
                       bool remove_commit) const;
  // Removes rank's temporary files under every name and version (crash leftovers); rank 0
  // also removes half-written commit records.
  Status RemoveTemporaries(int rank) const;
  // Keeps the newest `keep` versions of rank's files (keep == 0: keep all). Versions
  // >= `floor` are never removed: callers pass the newest version known to be
  // committed on every rank, so a job always keeps one version complete everywhere.
  Status Retain(const std::string& name, int rank, int keep, bool remove_commit,
                long long floor = std::numeric_limits<long long>::max()) const;

  // Copies `src` to `dst` (a path on this level), fdatasync'ing if the level syncs.
  // `progress`, if given, is advanced by the bytes copied as they go.
  Status CopyFileIn(const std::string& src, const std::string& dst,
                    std::atomic<uint64_t>* progress = nullptr, Pacer* pacer = nullptr) const;

 private:
  LevelKind kind_;
  Layout layout_;
  Env* env_;
  bool sync_;
};

// Copies `src` to `dst` (created 0600, truncated) with sendfile, fdatasync'ing `dst` when
// `sync`; `progress` (if given) grows by the bytes copied, `pacer` (if given) bounds the rate.
// ENOSPC/EFBIG are kNoSpace. The one file copy of the storage layer (Level::CopyFileIn, the
// backend's flush of transparent images).
Status CopyFile(const std::string& src, const std::string& dst, bool sync,
                std::atomic<uint64_t>* progress = nullptr, Pacer* pacer = nullptr);

// The commit record of a version in collective mode: written by rank 0 after every
// rank's files are durable. Text, self-checksummed (see docs/format.md).
struct CommitRecord {
  std::string name;
  long long version = 0;
  int nranks = 0;
  std::vector<uint64_t> rank_hashes;  // file hash (footer) of each rank's file
};
Status WriteCommitRecord(const Level& level, const CommitRecord& rec);
Result<CommitRecord> ReadCommitRecord(Env* env, const std::string& path);

}  // namespace cairn
