// cairn verify: check every byte of the checkpoints under one or more directories.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/json.h"
#include "common/hash.h"
#include "common/names.h"
#include "format/reader.h"
#include "format/writer.h"
#include "redundancy/ec_file.h"
#include "storage/catalog.h"
#include "storage/layout.h"
#include "transparent/image_chain.h"
#include "transparent/naming.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "verify";

enum class Outcome { kOk, kCorrupt, kSkipped };

struct Line {
  Outcome outcome;
  std::string path;
  std::string reason;
};

class Verifier {
 public:
  Verifier(Context& ctx, bool json) : ctx_(ctx), json_(json) {}

  // Verifies whatever `path` is: a level directory, a checkpoint's directory, a version
  // directory or a single file.
  void VerifyPath(const std::string& path);
  int ExitCode() const;
  void PrintSummary();

 private:
  void Report(Outcome o, const std::string& path, const std::string& reason = "");
  void Warn(const std::string& message) { PrintError(ctx_, kName, "warning: " + message); }
  void VerifyVersion(const CatalogVersion& v);
  // Open + VerifyData of one rank file, then one line for it and one per routed file it
  // lists. `known_problem`: what the catalog found wrong with its header (or empty).
  // Adds the names of the routed files it listed to *claimed.
  void VerifyRankFile(const std::string& path, const std::string& known_problem,
                      std::set<std::string>* claimed);
  void VerifyFile(const std::string& path);
  // A transparent process image, every byte, and for an incremental one its whole chain.
  void VerifyImage(const std::string& path);

  Context& ctx_;
  bool json_;
  std::vector<Line> results_;
  std::vector<std::pair<std::string, std::string>> errors_;  // path, message
  size_t ok_ = 0, corrupt_ = 0, skipped_ = 0;
};

void Verifier::Report(Outcome o, const std::string& path, const std::string& reason) {
  switch (o) {
    case Outcome::kOk:
      ++ok_;
      break;
    case Outcome::kCorrupt:
      ++corrupt_;
      break;
    case Outcome::kSkipped:
      ++skipped_;
      break;
  }
  if (json_) {
    results_.push_back({o, path, reason});
    return;
  }
  static const char* const kWords[] = {"OK", "CORRUPT", "SKIPPED"};
  ctx_.out << kWords[static_cast<int>(o)] << " " << path;
  if (!reason.empty()) ctx_.out << ": " << reason;
  ctx_.out << "\n";
  ctx_.out.flush();
}

// Hashes the memory/serialized entries of a rank file (not the routed files): used only
// to tell, after VerifyData failed, whether the rank file itself is bad.
Status CheckRegions(Env* env, const format::CheckpointFileReader& r) {
  if (!r.checksums()) return Status::Ok();
  auto f = env->NewRandomAccessFile(r.path());
  if (!f.ok()) return f.status();
  std::vector<char> buf;
  for (const auto& e : r.manifest().entries) {
    if (e.kind == format::EntryKind::kFile) continue;
    if (buf.empty()) buf.resize(4u << 20);
    Hasher h;
    for (uint64_t off = 0; off < e.stored_size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), e.stored_size - off));
      CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(e.offset + off, buf.data(), n));
      h.Update(buf.data(), n);
      off += n;
    }
    if (h.Digest() != e.hash) {
      return Status::Corruption("region " + std::to_string(e.id) + " checksum mismatch");
    }
  }
  return Status::Ok();
}

void Verifier::VerifyRankFile(const std::string& path, const std::string& known_problem,
                              std::set<std::string>* claimed) {
  auto reader = format::CheckpointFileReader::Open(ctx_.env, path);
  if (!reader.ok()) {
    Report(Outcome::kCorrupt, path, WithoutPath(reader.status().message(), path));
    return;
  }
  const format::CheckpointFileReader& r = *reader.value();
  std::vector<const format::Entry*> files;
  for (const auto& e : r.manifest().entries) {
    if (e.kind == format::EntryKind::kFile) {
      files.push_back(&e);
      if (claimed != nullptr) claimed->insert(e.stored);
    }
  }
  std::string rank_problem = WithoutPath(known_problem, path);
  const Status st = r.VerifyData();
  if (st.ok()) {
    Report(rank_problem.empty() ? Outcome::kOk : Outcome::kCorrupt, path, rank_problem);
    for (const auto* e : files) Report(Outcome::kOk, r.StoredPath(*e));
    return;
  }
  // Something is wrong: find out which of the files it is.
  std::vector<Line> routed;
  for (const auto* e : files) {
    const std::string stored = r.StoredPath(*e);
    auto d = format::DigestFile(ctx_.env, stored);
    if (!d.ok()) {
      routed.push_back({Outcome::kCorrupt, stored,
                        d.status().code() == Code::kNotFound
                            ? "missing (listed in " + BaseName(path) + ")"
                            : WithoutPath(d.status().message(), stored)});
    } else if (d.value().size != e->size) {
      routed.push_back({Outcome::kCorrupt, stored,
                        "size " + std::to_string(d.value().size) + ", expected " +
                            std::to_string(e->size) + " (truncated or overwritten)"});
    } else if (r.checksums() && d.value().hash != e->hash) {
      routed.push_back({Outcome::kCorrupt, stored, "checksum mismatch"});
    } else {
      routed.push_back({Outcome::kOk, stored, ""});
    }
  }
  const bool routed_bad = std::any_of(routed.begin(), routed.end(),
                                      [](const Line& x) { return x.outcome == Outcome::kCorrupt; });
  if (rank_problem.empty()) {
    if (!routed_bad) {
      rank_problem = WithoutPath(st.message(), path);
    } else if (Status rs = CheckRegions(ctx_.env, r); !rs.ok()) {
      rank_problem = WithoutPath(rs.message(), path);
    }
  }
  Report(rank_problem.empty() ? Outcome::kOk : Outcome::kCorrupt, path, rank_problem);
  for (const auto& x : routed) Report(x.outcome, x.path, x.reason);
}

void Verifier::VerifyVersion(const CatalogVersion& v) {
  std::set<std::string> claimed;
  for (const auto& rf : v.ranks) {
    if (!rf.opened) {
      Report(Outcome::kCorrupt, rf.path, WithoutPath(rf.problem, rf.path));
    } else {
      VerifyRankFile(rf.path, rf.ok ? "" : rf.problem, &claimed);
    }
  }
  if (!v.missing_ranks.empty()) {
    if (v.commit) {
      for (int r : v.missing_ranks) {
        Report(Outcome::kCorrupt, JoinPath(v.dir, Layout::RankFileName(r)),
               "missing (the commit record lists " + std::to_string(v.nranks) + " ranks)");
      }
    } else {
      Warn("'" + v.dir + "' is a partial version: " + std::to_string(v.missing_ranks.size()) +
           " of " + std::to_string(v.nranks) + " rank files missing");
    }
  }
  for (const auto& f : v.routed) {
    if (claimed.count(f.name) != 0) continue;
    const auto id = ParseRoutedFile(f.name);
    const CatalogRankFile* owner = nullptr;
    for (const auto& rf : v.ranks) {
      if (id && rf.rank == id->rank) owner = &rf;
    }
    std::string reason;
    if (owner == nullptr) {
      reason = "cannot check: its rank file is missing";
    } else if (!owner->opened) {
      reason = "cannot check: its rank file is damaged";
    } else {
      reason = "not listed in " + BaseName(owner->path) + " (leftover)";
    }
    Report(Outcome::kSkipped, f.path, reason);
  }
  for (const auto& f : v.temporaries) Report(Outcome::kSkipped, f.path, "temporary file");
  // L2 redundancy files (r<rank>.ec): header, payload and checksum.
  if (auto names = ctx_.env->ListDir(v.dir); names.ok()) {
    std::sort(names.value().begin(), names.value().end());
    for (const auto& n : names.value()) {
      if (n.size() > 4 && n.compare(n.size() - 3, 3, ".ec") == 0) VerifyFile(JoinPath(v.dir, n));
    }
  }
  if (v.has_commit) {
    const std::string path = JoinPath(v.dir, kCommitRecordName);
    if (v.commit_problem.empty()) {
      Report(Outcome::kOk, path);
    } else {
      Report(Outcome::kCorrupt, path, WithoutPath(v.commit_problem, path));
    }
  }
}

void Verifier::VerifyImage(const std::string& path) {
  transparent::OpenOptions o;
  o.verify_pages = true;
  auto chain = transparent::OpenChain(ctx_.env, path, o);
  if (chain.ok()) {
    Report(Outcome::kOk, path);
  } else {
    Report(Outcome::kCorrupt, path, WithoutPath(chain.status().message(), path));
  }
}

void Verifier::VerifyFile(const std::string& path) {
  const std::string base = BaseName(path);
  if (base.ends_with(transparent::naming::kImageSuffix)) {
    VerifyImage(path);
  } else if (Layout::IsTemporary(base)) {
    Report(Outcome::kSkipped, path, "temporary file");
  } else if (base == kCommitRecordName) {
    auto rec = ReadCommitRecord(ctx_.env, path);
    if (rec.ok()) {
      Report(Outcome::kOk, path);
    } else {
      Report(Outcome::kCorrupt, path, WithoutPath(rec.status().message(), path));
    }
  } else if (base.size() > 3 && base.compare(base.size() - 3, 3, ".ec") == 0) {
    std::string payload;
    auto h = redundancy::ReadEcFile(ctx_.env, path, &payload);
    if (h.ok()) {
      Report(Outcome::kOk, path);
    } else {
      Report(Outcome::kCorrupt, path, WithoutPath(h.status().message(), path));
    }
  } else if (ParseRoutedFile(base)) {
    Report(Outcome::kSkipped, path, "a routed file is checked through its rank file");
  } else {
    VerifyRankFile(path, "", nullptr);
  }
}

std::string StripTrailingSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

void Verifier::VerifyPath(const std::string& arg) {
  const std::string path = StripTrailingSlashes(arg);
  auto st = ctx_.env->Stat(path);
  if (!st.ok()) {
    PrintError(ctx_, kName, st.status().message());
    errors_.emplace_back(arg, st.status().message());
    return;
  }
  if (!st.value().is_dir) {
    VerifyFile(path);
    return;
  }
  auto cat = ScanDirectory(ctx_.env, path);
  if (!cat.ok()) {
    PrintError(ctx_, kName, cat.status().message());
    errors_.emplace_back(arg, cat.status().message());
    return;
  }
  for (const auto& w : cat.value().warnings) Warn(w.message());
  if (!cat.value().checkpoints.empty()) {
    for (const auto& ck : cat.value().checkpoints) {
      for (const auto& v : ck.versions) VerifyVersion(v);
    }
    return;
  }
  // Not a level directory: maybe one checkpoint's directory, or one version directory.
  auto entries = ctx_.env->ListDir(path);
  std::vector<std::string> names = entries.ok() ? entries.value() : std::vector<std::string>{};
  std::sort(names.begin(), names.end());
  const std::string base = BaseName(path);
  const auto this_version = Layout::ParseVersionDir(base);
  const bool has_files = std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return Layout::ParseRankFile(n) || Layout::IsTemporary(n) || n == kCommitRecordName;
  });
  if (this_version && has_files) {
    auto v = ScanVersion(ctx_.env, BaseName(DirName(path)), *this_version, path);
    if (v.ok()) {
      VerifyVersion(v.value());
    } else {
      Warn(v.status().message());
    }
    return;
  }
  std::vector<std::pair<long long, std::string>> versions;
  for (const auto& n : names) {
    auto ver = Layout::ParseVersionDir(n);
    if (ver) versions.emplace_back(*ver, JoinPath(path, n));
  }
  std::sort(versions.begin(), versions.end());
  bool any = false;
  for (const auto& n : names) {  // transparent process images
    if (!n.ends_with(transparent::naming::kImageSuffix)) continue;
    VerifyImage(JoinPath(path, n));
    any = true;
  }
  if (ValidateName(base).ok()) {
    for (const auto& [ver, vdir] : versions) {
      auto vst = ctx_.env->Stat(vdir);
      if (!vst.ok() || !vst.value().is_dir) continue;
      auto v = ScanVersion(ctx_.env, base, ver, vdir);
      if (!v.ok()) {
        Warn(v.status().message());
        continue;
      }
      VerifyVersion(v.value());
      any = true;
    }
  }
  if (!any) Warn("no checkpoints found under '" + path + "'");
}

int Verifier::ExitCode() const {
  if (corrupt_ > 0) return kExitFailed;
  if (!errors_.empty()) return kExitNotFound;
  return kExitOk;
}

void Verifier::PrintSummary() {
  const size_t verified = ok_ + corrupt_;
  if (json_) {
    static const char* const kWords[] = {"ok", "corrupt", "skipped"};
    JsonWriter w(ctx_.out);
    w.BeginObject();
    w.Key("files").BeginArray();
    for (const auto& r : results_) {
      w.BeginObject().Field("path", r.path).Field("status", kWords[static_cast<int>(r.outcome)]);
      w.Key("reason");
      if (r.reason.empty()) {
        w.Null();
      } else {
        w.Value(r.reason);
      }
      w.EndObject();
    }
    w.EndArray();
    w.Field("verified", verified).Field("corrupt", corrupt_).Field("skipped", skipped_);
    w.Key("errors").BeginArray();
    for (const auto& [path, msg] : errors_) {
      w.BeginObject().Field("path", path).Field("error", msg).EndObject();
    }
    w.EndArray();
    w.Field("ok", ExitCode() == kExitOk);
    w.EndObject();
    w.Finish();
    return;
  }
  ctx_.out << verified << (verified == 1 ? " file" : " files") << " verified, " << corrupt_
           << " corrupt";
  if (skipped_ > 0) ctx_.out << ", " << skipped_ << " skipped";
  ctx_.out << "\n";
}

int Run(const Args& args, Context& ctx) {
  const auto& paths = args.positional();
  if (paths.empty()) {
    PrintError(ctx, kName, "missing DIR (a scratch or persistent directory)");
    ctx.err << "Usage: cairn verify [--json] DIR...\n";
    return kExitUsage;
  }
  Verifier v(ctx, args.Has("json"));
  for (const auto& p : paths) v.VerifyPath(p);
  v.PrintSummary();
  return v.ExitCode();
}

}  // namespace

const Command& VerifyCommand() {
  static const Command kCommand{
      kName,
      "Check every byte of the checkpoints in directories",
      "[--json] DIR...",
      "Opens every rank file under each DIR, checks its header, table and footer, hashes\n"
      "all of its data and every routed file it lists, and checks commit records against\n"
      "the rank files. DIR is normally a scratch or persistent directory; a checkpoint's\n"
      "directory (DIR/<name>), a version directory or a single file also work.\n"
      "Transparent process images (*.cimg, `cairn launch`) in DIR are checked too, every\n"
      "byte; an incremental image is sound only when every image of its chain back to its\n"
      "full image is there and sound.\n"
      "Prints one line per file:\n"
      "  OK <path>\n"
      "  CORRUPT <path>: <reason>\n"
      "  SKIPPED <path>: <reason>   (temporary files: a checkpoint in progress or abandoned)\n"
      "then a summary: \"N files verified, M corrupt\". A version with missing ranks and no\n"
      "commit record is reported as a warning on stderr; when its commit record lists the\n"
      "missing ranks, they are reported as CORRUPT.\n"
      "Exit status: 0 when everything verified is sound, 1 when anything is corrupt,\n"
      "3 when a DIR is missing or unreadable (and nothing is corrupt).\n",
      {{"json", nullptr, "print one JSON document instead of lines"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
