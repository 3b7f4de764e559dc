// cairn inspect: show the header and region table of one checkpoint file (or a commit
// record).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/inspect_image.h"
#include "cli/json.h"
#include "format/reader.h"
#include "storage/layout.h"
#include "storage/level.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "inspect";

std::string FlagNames(uint32_t flags) {
  std::string out;
  if (flags & format::kFlagChecksums) out = "checksums";
  uint32_t unknown = flags & ~format::kFlagChecksums;
  if (unknown != 0) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%x", unknown);
    out += (out.empty() ? "unknown " : ", unknown ") + std::string(buf);
  }
  return out.empty() ? "none" : out;
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

void PrintFields(std::ostream& os, const std::vector<std::pair<std::string, std::string>>& f) {
  size_t width = 0;
  for (const auto& [k, v] : f) width = std::max(width, k.size());
  for (const auto& [k, v] : f) {
    os << k << ":" << std::string(width - k.size() + 2, ' ') << v << "\n";
  }
}

int InspectCommit(const std::string& path, bool json, Context& ctx) {
  auto rec = ReadCommitRecord(ctx.env, path);
  if (!rec.ok()) {
    PrintError(ctx, kName, rec.status().message());
    return ExitCodeFor(rec.status());
  }
  const CommitRecord& c = rec.value();
  if (json) {
    JsonWriter w(ctx.out);
    w.BeginObject().Field("path", path).Field("type", "commit record");
    w.Field("name", c.name).Field("version", c.version).Field("nranks", c.nranks);
    w.Key("rank_hashes").BeginArray();
    for (uint64_t h : c.rank_hashes) w.Value(Hex16(h));
    w.EndArray().EndObject();
    w.Finish();
    return kExitOk;
  }
  PrintFields(ctx.out, {{"Commit record", path},
                        {"Checkpoint", c.name},
                        {"Version", std::to_string(c.version)},
                        {"Ranks", std::to_string(c.nranks)}});
  ctx.out << "\n";
  std::vector<std::vector<std::string>> rows{{"RANK", "FILE HASH"}};
  for (size_t r = 0; r < c.rank_hashes.size(); ++r) {
    rows.push_back({std::to_string(r), Hex16(c.rank_hashes[r])});
  }
  PrintTable(ctx.out, rows, {0});
  return kExitOk;
}

void WriteJson(std::ostream& os, const format::CheckpointFileReader& r) {
  const format::Manifest& m = r.manifest();
  const format::Header& h = m.header;
  JsonWriter w(os);
  w.BeginObject().Field("path", r.path()).Field("type", "checkpoint file");
  w.Field("name", m.name);
  w.Key("header").BeginObject();
  w.Field("format_version", h.format_version);
  w.Field("flags", h.flags).Field("checksums", r.checksums());
  w.Field("rank", h.rank).Field("nranks", h.nranks).Field("version", h.version);
  w.Field("created", IsoTimeUtc(h.created_ns)).Field("created_ns", h.created_ns);
  w.Field("entry_count", h.entry_count);
  w.Field("data_offset", h.data_offset).Field("table_offset", h.table_offset);
  w.Field("table_size", h.table_size).Field("file_size", h.file_size);
  w.Field("header_hash", Hex16(h.header_hash));
  w.EndObject();
  w.Key("footer").BeginObject();
  w.Field("table_hash", Hex16(m.footer.table_hash)).Field("file_hash", Hex16(m.footer.file_hash));
  w.Field("file_size", m.footer.file_size);
  w.EndObject();
  w.Key("entries").BeginArray();
  for (const auto& e : m.entries) {
    const bool file = e.kind == format::EntryKind::kFile;
    w.BeginObject().Field("kind", format::EntryKindName(e.kind));
    w.Key("id");
    if (file) {
      w.Null();
    } else {
      w.Value(e.id);
    }
    w.Key("offset");
    if (file) {
      w.Null();
    } else {
      w.Value(e.offset);
    }
    w.Field("size", e.size).Field("stored_size", e.stored_size);
    w.Field("codec", format::CodecName(e.codec));
    w.Field("shuffle", e.filter == format::Filter::kShuffle8);
    w.Key("hash");
    if (r.checksums() || file) {
      w.Value(Hex16(e.hash));
    } else {
      w.Null();
    }
    if (file) {
      w.Field("file", e.stored).Field("stored_path", r.StoredPath(e)).Field("original", e.name);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  w.Finish();
}

void WriteText(std::ostream& os, const format::CheckpointFileReader& r) {
  const format::Manifest& m = r.manifest();
  const format::Header& h = m.header;
  PrintFields(
      os, {
              {"File", r.path()},
              {"Checkpoint", m.name},
              {"Format version", std::to_string(h.format_version)},
              {"Rank", std::to_string(h.rank) + " of " + std::to_string(h.nranks)},
              {"Version", std::to_string(h.version)},
              {"Created", IsoTimeUtc(h.created_ns)},
              {"Flags", Hex32(h.flags) + " (" + FlagNames(h.flags) + ")"},
              {"File size", std::to_string(h.file_size) + " (" + HumanSize(h.file_size) + ")"},
              {"Data offset", std::to_string(h.data_offset)},
              {"Table",
               std::to_string(h.table_size) + " bytes at offset " + std::to_string(h.table_offset)},
              {"Entries", std::to_string(h.entry_count)},
              {"Header hash", Hex16(h.header_hash)},
              {"Table hash", Hex16(m.footer.table_hash)},
              {"File hash", Hex16(m.footer.file_hash)},
          });
  os << "\n";
  std::vector<std::vector<std::string>> rows{
      {"KIND", "ID", "OFFSET", "SIZE", "STORED", "CODEC", "HASH", "FILE"}};
  for (const auto& e : m.entries) {
    const bool file = e.kind == format::EntryKind::kFile;
    rows.push_back({format::EntryKindName(e.kind), file ? "-" : std::to_string(e.id),
                    file ? "-" : std::to_string(e.offset), std::to_string(e.size),
                    std::to_string(e.stored_size),
                    std::string(format::CodecName(e.codec)) +
                        (e.filter == format::Filter::kShuffle8 ? "+shuffle" : ""),
                    (r.checksums() || file) ? Hex16(e.hash) : "-",
                    file ? e.stored + " (" + e.name + ")" : ""});
  }
  PrintTable(os, rows, {1, 2, 3, 4});
}

int Run(const Args& args, Context& ctx) {
  const auto& pos = args.positional();
  if (pos.size() != 1) {
    PrintError(ctx, kName, pos.empty() ? "missing FILE" : "expects exactly one FILE");
    ctx.err << "Usage: cairn inspect [--json] FILE\n";
    return kExitUsage;
  }
  const std::string& path = pos.front();
  auto st = ctx.env->Stat(path);
  if (!st.ok()) {
    PrintError(ctx, kName, st.status().message());
    return kExitNotFound;
  }
  if (st.value().is_dir) {
    PrintError(ctx, kName,
               "'" + path + "' is a directory (use 'cairn ls' or 'cairn verify' on directories)");
    return kExitUsage;
  }
  const bool json = args.Has("json");
  if (BaseName(path) == kCommitRecordName) return InspectCommit(path, json, ctx);
  if (LooksLikeImage(ctx.env, path)) return InspectImage(path, json, ctx);
  auto reader = format::CheckpointFileReader::Open(ctx.env, path);
  if (!reader.ok()) {
    PrintError(ctx, kName, reader.status().message());
    return ExitCodeFor(reader.status());
  }
  if (json) {
    WriteJson(ctx.out, *reader.value());
  } else {
    WriteText(ctx.out, *reader.value());
  }
  return kExitOk;
}

}  // namespace

const Command& InspectCommand() {
  static const Command kCommand{
      kName,
      "Show the header and region table of a checkpoint file",
      "[--json] FILE",
      "Reads the header, region table and footer of FILE (a rank file such as\n"
      "DIR/<name>/v<version>/r<rank>.ckpt) and checks their checksums; the data itself\n"
      "is not read (use 'cairn verify' for that). Shows the format version, rank, number\n"
      "of ranks, version, creation time (ISO-8601, UTC), flags, sizes, and one line per\n"
      "entry: kind (memory, serialized, file), region id, offset, size, XXH3-64 hash and,\n"
      "for routed files, the stored file name and the application's original path.\n"
      "Given a COMMIT file, shows the commit record instead.\n"
      "Exit status 1 when FILE is not a valid checkpoint file, 3 when it cannot be read.\n",
      {{"json", nullptr, "print one JSON document (hashes as 16 hex digits)"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
