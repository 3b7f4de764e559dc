#include "storage/catalog.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/names.h"
#include "format/reader.h"
#include "storage/layout.h"

namespace cairn {
namespace {

// A canonical non-negative decimal number filling s[begin, end).
std::optional<int> ParseCanonicalInt(const std::string& s, size_t begin, size_t end) {
  if (begin >= end || end > s.size()) return std::nullopt;
  if (s[begin] < '0' || s[begin] > '9') return std::nullopt;
  if (end - begin > 1 && s[begin] == '0') return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data() + begin, s.data() + end, v);
  if (ec != std::errc() || p != s.data() + end || v < 0) return std::nullopt;
  return v;
}

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

std::string RankList(const std::vector<int>& ranks) {
  constexpr size_t kShown = 8;
  std::string out;
  for (size_t i = 0; i < ranks.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(ranks[i]);
  }
  if (ranks.size() > kShown) out += ", ... (" + std::to_string(ranks.size()) + " in all)";
  return out;
}

// The most common header nranks among the rank files that opened (ties: the lowest
// rank's); 0 when none opened.
int MajorityNranks(const std::vector<CatalogRankFile>& ranks) {
  std::map<int, size_t> count;
  for (const auto& r : ranks) {
    if (r.opened) ++count[r.nranks];
  }
  int best = 0;
  size_t best_count = 0;
  for (const auto& r : ranks) {
    if (!r.opened) continue;
    size_t c = count[r.nranks];
    if (c > best_count) {
      best = r.nranks;
      best_count = c;
    }
  }
  return best;
}

void OpenRankFile(Env* env, const std::string& name, long long version, CatalogRankFile* rf) {
  auto reader = format::CheckpointFileReader::Open(env, rf->path);
  if (!reader.ok()) {
    rf->problem = reader.status().message();
    return;
  }
  const format::Manifest& m = reader.value()->manifest();
  rf->opened = true;
  rf->nranks = m.header.nranks;
  rf->file_hash = m.footer.file_hash;
  const std::string what = Quoted(rf->path) + ": ";
  if (m.header.rank != rf->rank) {
    rf->problem = what + "the header says rank " + std::to_string(m.header.rank);
  } else if (m.header.version != version) {
    rf->problem = what + "the header says version " + std::to_string(m.header.version);
  } else if (m.name != name) {
    rf->problem = what + "the file belongs to checkpoint '" + m.name + "'";
  } else if (m.header.nranks < 0 || (m.header.nranks > 0 && rf->rank >= m.header.nranks)) {
    // nranks 0: independent mode (VELOC_Init_single), each rank file stands alone.
    rf->problem = what + "rank " + std::to_string(rf->rank) + " is outside the " +
                  std::to_string(m.header.nranks) + " ranks its header declares";
  }
}

void Classify(CatalogVersion* v) {
  std::vector<std::string> problems;
  for (const auto& r : v->ranks) {
    if (!r.ok) problems.push_back(r.problem);
  }
  if (!v->commit_problem.empty()) problems.push_back(v->commit_problem);
  if (!problems.empty()) {
    v->state = VersionState::kDamaged;
    v->reason = problems.front();
    if (problems.size() > 1) {
      v->reason += " (and " + std::to_string(problems.size() - 1) + " more problem" +
                   (problems.size() > 2 ? "s" : "") + ")";
    }
    return;
  }
  if (v->ranks.empty() && !v->commit) {
    v->state = VersionState::kIncomplete;
    v->reason = v->temporaries.empty() ? "no rank file" : "only temporary files";
    return;
  }
  if (!v->missing_ranks.empty()) {
    v->state = VersionState::kPartial;
    v->reason = (v->missing_ranks.size() == 1 ? "rank " : "ranks ") + RankList(v->missing_ranks) +
                " of " + std::to_string(v->nranks) + " missing";
    if (v->commit) v->reason += " (listed in the commit record)";
    return;
  }
  v->state = VersionState::kCommitted;
  v->reason.clear();
}

}  // namespace

const char* VersionStateName(VersionState s) {
  switch (s) {
    case VersionState::kCommitted:
      return "committed";
    case VersionState::kPartial:
      return "partial";
    case VersionState::kIncomplete:
      return "incomplete";
    case VersionState::kDamaged:
      return "damaged";
  }
  return "unknown";
}

uint64_t CatalogVersion::DataBytes() const {
  uint64_t n = 0;
  for (const auto& r : ranks) n += r.size;
  for (const auto& f : routed) n += f.size;
  return n;
}

uint64_t CatalogVersion::TemporaryBytes() const {
  uint64_t n = 0;
  for (const auto& f : temporaries) n += f.size;
  return n;
}

std::optional<RoutedFileId> ParseRoutedFile(const std::string& f) {
  if (f.size() < 5 || f[0] != 'r') return std::nullopt;
  size_t dot = f.find(".f");
  if (dot == std::string::npos) return std::nullopt;
  auto rank = ParseCanonicalInt(f, 1, dot);
  auto k = ParseCanonicalInt(f, dot + 2, f.size());
  if (!rank || !k) return std::nullopt;
  return RoutedFileId{*rank, *k};
}

Result<CatalogVersion> ScanVersion(Env* env, const std::string& name, long long version,
                                   const std::string& dir) {
  auto listing = env->ListDir(dir);
  if (!listing.ok()) return listing.status();
  std::vector<std::string> files = std::move(listing.value());
  std::sort(files.begin(), files.end());

  CatalogVersion v;
  v.version = version;
  v.dir = dir;
  for (const auto& f : files) {
    const std::string path = JoinPath(dir, f);
    auto st = env->Stat(path);
    if (!st.ok() || st.value().is_dir) continue;  // vanished meanwhile, or not a file
    const uint64_t size = st.value().size;
    if (Layout::IsTemporary(f)) {
      v.temporaries.push_back({f, path, size});
    } else if (f == kCommitRecordName) {
      v.has_commit = true;
      v.commit_size = size;
    } else if (auto rank = Layout::ParseRankFile(f)) {
      CatalogRankFile rf;
      rf.rank = *rank;
      rf.path = path;
      rf.size = size;
      v.ranks.push_back(std::move(rf));
    } else if (ParseRoutedFile(f)) {
      v.routed.push_back({f, path, size});
    }
  }
  std::sort(v.ranks.begin(), v.ranks.end(),
            [](const CatalogRankFile& a, const CatalogRankFile& b) { return a.rank < b.rank; });

  for (auto& rf : v.ranks) OpenRankFile(env, name, version, &rf);
  v.nranks = MajorityNranks(v.ranks);

  if (v.has_commit) {
    const std::string path = JoinPath(dir, kCommitRecordName);
    auto rec = ReadCommitRecord(env, path);
    if (!rec.ok()) {
      v.commit_problem = rec.status().message();
    } else {
      const CommitRecord& c = rec.value();
      if (c.name != name) {
        v.commit_problem = Quoted(path) + ": the record names checkpoint '" + c.name + "'";
      } else if (c.version != version) {
        v.commit_problem = Quoted(path) + ": the record names version " + std::to_string(c.version);
      } else if (v.nranks != 0 && c.nranks != v.nranks) {
        v.commit_problem = Quoted(path) + ": the record lists " + std::to_string(c.nranks) +
                           " ranks but the rank files say " + std::to_string(v.nranks);
      } else {
        if (v.nranks == 0) v.nranks = c.nranks;
        v.commit = c;
      }
    }
  }

  for (auto& rf : v.ranks) {
    if (!rf.opened || !rf.problem.empty()) continue;
    if (rf.nranks != v.nranks) {
      rf.problem = Quoted(rf.path) + ": the header says " + std::to_string(rf.nranks) +
                   " ranks, the other rank files say " + std::to_string(v.nranks);
    } else if (v.commit && static_cast<size_t>(rf.rank) < v.commit->rank_hashes.size() &&
               v.commit->rank_hashes[static_cast<size_t>(rf.rank)] != rf.file_hash) {
      rf.problem = Quoted(rf.path) + ": the file is not the one the commit record lists";
    }
    rf.ok = rf.problem.empty();
  }

  size_t next = 0;
  for (int r = 0; r < v.nranks; ++r) {
    while (next < v.ranks.size() && v.ranks[next].rank < r) ++next;
    if (next < v.ranks.size() && v.ranks[next].rank == r) continue;
    v.missing_ranks.push_back(r);
  }
  Classify(&v);
  return v;
}

Result<Catalog> ScanDirectory(Env* env, const std::string& root) {
  auto st = env->Stat(root);
  if (!st.ok()) return st.status();
  if (!st.value().is_dir) return Status::IOError("'" + root + "' is not a directory");
  auto names = env->ListDir(root);
  if (!names.ok()) return names.status();
  std::sort(names.value().begin(), names.value().end());

  Catalog cat;
  cat.root = root;
  for (const auto& name : names.value()) {
    if (!ValidateName(name).ok()) continue;
    const std::string ndir = JoinPath(root, name);
    auto nst = env->Stat(ndir);
    if (!nst.ok() || !nst.value().is_dir) continue;
    auto dirs = env->ListDir(ndir);
    if (!dirs.ok()) {
      cat.warnings.push_back(dirs.status());
      continue;
    }
    CatalogCheckpoint ck;
    ck.name = name;
    ck.dir = ndir;
    for (const auto& d : dirs.value()) {
      auto version = Layout::ParseVersionDir(d);
      if (!version) continue;
      const std::string vdir = JoinPath(ndir, d);
      auto vst = env->Stat(vdir);
      if (!vst.ok() || !vst.value().is_dir) continue;
      auto v = ScanVersion(env, name, *version, vdir);
      if (!v.ok()) {
        cat.warnings.push_back(v.status());
        continue;
      }
      ck.versions.push_back(std::move(v.value()));
    }
    if (ck.versions.empty()) continue;
    std::sort(
        ck.versions.begin(), ck.versions.end(),
        [](const CatalogVersion& a, const CatalogVersion& b) { return a.version < b.version; });
    cat.checkpoints.push_back(std::move(ck));
  }
  return cat;
}

}  // namespace cairn
