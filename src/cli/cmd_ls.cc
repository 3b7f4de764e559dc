// cairn ls: list the checkpoints in one or more level directories, and the segments of the
// `cairn job` runs logged there (DIR/.cairn/job-<jobid>.log).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/job_manifests.h"
#include "cli/json.h"
#include "job/segment_log.h"
#include "job/slurm_time.h"
#include "storage/catalog.h"
#include "storage/layout.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "ls";

std::string RanksColumn(const CatalogVersion& v) {
  return std::to_string(v.ranks.size()) + "/" + (v.nranks > 0 ? std::to_string(v.nranks) : "?");
}

// A directory without checkpoints that holds v<N> directories or rank files was probably
// meant as its parent: say so.
void HintIfMisplaced(Context& ctx, const std::string& dir) {
  auto entries = ctx.env->ListDir(dir);
  if (!entries.ok()) return;
  for (const auto& e : entries.value()) {
    if (Layout::ParseVersionDir(e)) {
      PrintError(ctx, kName,
                 "warning: '" + dir +
                     "' looks like the directory of one checkpoint; pass the level directory "
                     "that contains it");
      return;
    }
    if (Layout::ParseRankFile(e)) {
      PrintError(ctx, kName,
                 "warning: '" + dir +
                     "' looks like a version directory; pass the level directory two levels up");
      return;
    }
  }
}

void WriteFiles(JsonWriter& w, const char* key, const std::vector<CatalogFile>& files) {
  w.Key(key).BeginArray();
  for (const auto& f : files) {
    w.BeginObject().Field("name", f.name).Field("path", f.path).Field("size", f.size).EndObject();
  }
  w.EndArray();
}

void WriteVersion(JsonWriter& w, const std::string& root, const std::string& name,
                  const CatalogVersion& v) {
  w.BeginObject();
  w.Field("dir", root).Field("name", name).Field("version", v.version);
  w.Field("state", VersionStateName(v.state));
  w.Key("reason");
  if (v.reason.empty()) {
    w.Null();
  } else {
    w.Value(v.reason);
  }
  w.Field("path", v.dir);
  w.Field("nranks", v.nranks).Field("ranks_present", v.ranks.size());
  w.Field("size", v.DataBytes() + v.TemporaryBytes() + v.commit_size);
  w.Field("data_size", v.DataBytes()).Field("temporary_size", v.TemporaryBytes());
  w.Key("missing_ranks").BeginArray();
  for (int r : v.missing_ranks) w.Value(r);
  w.EndArray();
  w.Key("rank_files").BeginArray();
  for (const auto& r : v.ranks) {
    w.BeginObject().Field("rank", r.rank).Field("path", r.path).Field("size", r.size);
    w.Field("ok", r.ok).Key("problem");
    if (r.ok) {
      w.Null();
    } else {
      w.Value(WithoutPath(r.problem, r.path));
    }
    w.EndObject();
  }
  w.EndArray();
  WriteFiles(w, "routed_files", v.routed);
  WriteFiles(w, "temporary_files", v.temporaries);
  w.Key("commit");
  if (!v.has_commit) {
    w.Null();
  } else {
    w.BeginObject().Field("size", v.commit_size).Field("ok", v.commit_problem.empty());
    w.Key("problem");
    if (v.commit_problem.empty()) {
      w.Null();
    } else {
      w.Value(v.commit_problem);
    }
    w.EndObject();
  }
  w.EndObject();
}

// The job segments logged under one DIR.
struct DirSegments {
  std::string dir;
  std::string log_path;
  std::vector<job::SegmentRecord> segments;
};

std::vector<DirSegments> ReadSegments(Context& ctx, const std::string& dir) {
  std::vector<DirSegments> out;
  for (const auto& path : job::FindSegmentLogs(dir)) {
    auto log = job::ReadSegmentLog(path);
    if (!log.ok()) {
      PrintError(ctx, kName, "warning: " + log.status().message());
      continue;
    }
    if (log.value().bad_lines > 0) {
      PrintError(ctx, kName,
                 "warning: '" + path + "': " + std::to_string(log.value().bad_lines) +
                     " line(s) that are not segment records skipped");
    }
    out.push_back({dir, path, job::SegmentsOf(log.value())});
  }
  return out;
}

std::string Seconds(int64_t v) { return v < 0 ? "-" : job::FormatSlurmTime(v); }

std::string Decimal(double v) {
  if (!(v >= 0)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void WriteOptional(JsonWriter& w, const char* key, int64_t v) {
  w.Key(key);
  if (v < 0) {
    w.Null();
  } else {
    w.Value(v);
  }
}

void WriteOptional(JsonWriter& w, const char* key, const std::string& v) {
  w.Key(key);
  if (v.empty()) {
    w.Null();
  } else {
    w.Value(v);
  }
}

void WriteSegment(JsonWriter& w, const DirSegments& d, const job::SegmentRecord& r) {
  w.BeginObject();
  w.Field("dir", d.dir).Field("log", d.log_path).Field("job", r.job);
  w.Field("segment", r.segment).Field("action", r.action);
  WriteOptional(w, "mode", r.mode);
  WriteOptional(w, "start", r.start);
  WriteOptional(w, "end", r.end);
  WriteOptional(w, "time_limit", r.time_limit);
  WriteOptional(w, "used", r.used);
  WriteOptional(w, "trigger", r.trigger);
  // Fractional seconds as milliseconds: the JSON writer has integers only.
  WriteOptional(w, "ckpt_start_ms",
                r.ckpt_start >= 0 ? static_cast<int64_t>(std::llround(r.ckpt_start * 1000)) : -1);
  WriteOptional(w, "ckpt_cost_ms",
                r.ckpt_cost >= 0 ? static_cast<int64_t>(std::llround(r.ckpt_cost * 1000)) : -1);
  WriteOptional(w, "remaining", r.remaining);
  WriteOptional(w, "next_limit", r.next_limit);
  WriteOptional(w, "exit_status", r.exit_status);
  WriteOptional(w, "message", r.message);
  w.EndObject();
}

int Run(const Args& args, Context& ctx) {
  const auto& dirs = args.positional();
  if (dirs.empty()) {
    PrintError(ctx, kName, "missing DIR (a scratch or persistent directory)");
    ctx.err << "Usage: cairn ls [--json] DIR...\n";
    return kExitUsage;
  }
  const bool json = args.Has("json");
  int rc = kExitOk;
  std::vector<Catalog> catalogs;
  std::vector<std::pair<std::string, std::string>> errors;  // dir, message
  for (const auto& dir : dirs) {
    auto cat = ScanDirectory(ctx.env, dir);
    if (!cat.ok()) {
      PrintError(ctx, kName, cat.status().message());
      errors.emplace_back(dir, cat.status().message());
      rc = kExitNotFound;
      continue;
    }
    for (const auto& w : cat.value().warnings) {
      PrintError(ctx, kName, "warning: " + w.message());
    }
    if (cat.value().checkpoints.empty()) HintIfMisplaced(ctx, dir);
    catalogs.push_back(std::move(cat.value()));
  }
  std::vector<DirSegments> jobs;
  for (const auto& cat : catalogs) {
    for (auto& d : ReadSegments(ctx, cat.root)) jobs.push_back(std::move(d));
  }
  // Transparent checkpoints of whole jobs (MPI): their manifests.
  std::vector<std::pair<std::string, std::vector<ManifestRow>>> manifests;
  for (const auto& dir : dirs) {
    auto rows = ReadManifestRows(ctx.env, dir);
    if (!rows.empty()) manifests.emplace_back(dir, std::move(rows));
  }

  if (json) {
    JsonWriter w(ctx.out);
    w.BeginObject();
    w.Key("versions").BeginArray();
    for (const auto& cat : catalogs) {
      for (const auto& ck : cat.checkpoints) {
        for (const auto& v : ck.versions) WriteVersion(w, cat.root, ck.name, v);
      }
    }
    w.EndArray();
    w.Key("segments").BeginArray();
    for (const auto& d : jobs) {
      for (const auto& r : d.segments) WriteSegment(w, d, r);
    }
    w.EndArray();
    w.Key("job_checkpoints").BeginArray();
    for (const auto& [dir, rows] : manifests) {
      w.BeginObject().Field("dir", dir).Key("manifests");
      WriteManifestsJson(w, rows);
      w.EndObject();
    }
    w.EndArray();
    w.Key("errors").BeginArray();
    for (const auto& [dir, msg] : errors) {
      w.BeginObject().Field("dir", dir).Field("error", msg).EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.Finish();
    return rc;
  }

  if (catalogs.empty()) return rc;  // every DIR failed: nothing to show
  for (const auto& [dir, rows] : manifests) {
    ctx.out << dir << ":\n";
    PrintManifests(ctx.out, rows);
    ctx.out << "\n";
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "VERSION", "RANKS", "SIZE", "STATE", "DIR"});
  for (const auto& cat : catalogs) {
    for (const auto& ck : cat.checkpoints) {
      for (const auto& v : ck.versions) {
        rows.push_back({ck.name, std::to_string(v.version), RanksColumn(v),
                        HumanSize(v.DataBytes() + v.TemporaryBytes() + v.commit_size),
                        VersionStateName(v.state), cat.root});
      }
    }
  }
  PrintTable(ctx.out, rows, {1, 2, 3});
  if (jobs.empty()) return rc;
  std::vector<std::vector<std::string>> seg_rows;
  seg_rows.push_back({"JOB", "SEGMENT", "START", "LIMIT", "USED", "CKPT_AT", "CKPT_COST", "ACTION",
                      "REMAINING", "DIR"});
  for (const auto& d : jobs) {
    for (const auto& r : d.segments) {
      seg_rows.push_back(
          {r.job, std::to_string(r.segment),
           r.start >= 0 ? IsoTimeUtc(static_cast<uint64_t>(r.start) * 1000000000ull) : "-",
           Seconds(r.time_limit), r.used >= 0 ? std::to_string(r.used) : "-", Decimal(r.ckpt_start),
           Decimal(r.ckpt_cost), r.action, r.remaining >= 0 ? Seconds(r.remaining) : "unlimited",
           d.dir});
    }
  }
  ctx.out << "\n";
  PrintTable(ctx.out, seg_rows, {1, 4, 5, 6});
  return rc;
}

}  // namespace

const Command& LsCommand() {
  static const Command kCommand{
      kName,
      "List the checkpoints in level directories",
      "[--json] DIR...",
      "Lists every checkpoint version found under each DIR (a scratch or persistent\n"
      "directory, laid out as DIR/<name>/v<version>/r<rank>.ckpt), one line per version:\n"
      "  NAME     checkpoint name\n"
      "  VERSION  version number\n"
      "  RANKS    rank files present / ranks the checkpoint was written by\n"
      "  SIZE     bytes on disk (rank, routed, temporary files and commit record)\n"
      "  STATE    committed   every rank file present and sound\n"
      "           partial     some rank files missing\n"
      "           incomplete  no rank file yet (only temporary files)\n"
      "           damaged     a rank file or the commit record does not open or agree\n"
      "  DIR      the directory it was found in\n"
      "Then, if DIR/.cairn holds `cairn job` logs, one line per job segment:\n"
      "  JOB        Slurm job id        SEGMENT  0, 1, ... (SLURM_RESTART_COUNT)\n"
      "  START      when it started     LIMIT    its time limit (D-HH:MM:SS)\n"
      "  USED       seconds it ran      CKPT_AT  seconds after START the final checkpoint\n"
      "  CKPT_COST  seconds the final checkpoint took\n"
      "  ACTION     running, requeue, done, failed, out-of-time, stopped, requeue-failed,\n"
      "             or lost (killed without warning: a later segment exists)\n"
      "  REMAINING  total run time left after it\n"
      "Only headers, tables and footers are read; use 'cairn verify' to check the data.\n"
      "An empty directory lists nothing. A missing DIR is reported on stderr (exit 3)\n"
      "after the others are listed.\n",
      {{"json", nullptr, "print one JSON document (sizes in bytes, per-file details)"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
