// `cairn inspect IMAGE`: a transparent-checkpoint process image (src/transparent/image.h):
// header, memory regions with the bytes saved for each, threads and open files.
#include "cli/inspect_image.h"

#include <map>

#include "cli/command.h"
#include "cli/json.h"
#include "transparent/image.h"
#include "transparent/image_chain.h"
#include "transparent/objects/event_objects.h"
#include "transparent/objects/file_lock.h"
#include "transparent/objects/socket.h"
#include "transparent/objects/tty.h"

namespace cairn::cli {
namespace {

// The saved state of an event object or a socket in one line; "" for other kinds.
std::string StateOf(const transparent::FileState& f) {
  if (f.kind == transparent::FileKind::kSocket) return transparent::objects::SocketSummary(f);
  if (f.kind == transparent::FileKind::kTty) return transparent::objects::TtySummary(f);
  std::string s = transparent::objects::Summary(f);
  for (const transparent::FileLock& l : f.locks) {
    s += (s.empty() ? "" : ", ") + transparent::objects::Describe(l);
  }
  return s;
}

using transparent::ImageReader;

std::string Prot(uint32_t p) {
  std::string s = "---";
  if (p & transparent::kProtRead) s[0] = 'r';
  if (p & 2) s[1] = 'w';
  if (p & 4) s[2] = 'x';
  return s;
}

std::map<uint64_t, const transparent::PagesInfo*> PagesByRegion(const ImageReader& r) {
  std::map<uint64_t, const transparent::PagesInfo*> out;
  for (const auto& p : r.pages()) out[p.region_start] = &p;
  return out;
}

}  // namespace

bool LooksLikeImage(Env* env, const std::string& path) {
  auto f = env->NewRandomAccessFile(path);
  char magic[8];
  return f.ok() && f.value()->size() >= 8 && f.value()->ReadAt(0, magic, 8).ok() &&
         std::string(magic, 8) == "CAIRNIMG";
}

int InspectImage(const std::string& path, bool json, Context& ctx) {
  transparent::OpenOptions o;
  o.verify_pages = false;  // structure and every section hash; page batches are not read
  auto r = ImageReader::Open(ctx.env, path, o);
  if (!r.ok()) {
    PrintError(ctx, "inspect", r.status().message());
    return ExitCodeFor(r.status());
  }
  const ImageReader& img = *r.value();
  const auto& h = img.header();
  auto pages = PagesByRegion(img);
  uint64_t saved = 0, mapped = 0;
  for (const auto& p : img.pages()) saved += p.raw_bytes;
  for (const auto& reg : img.regions()) mapped += reg.size();
  // An incremental image: its chain back to the full image, and whether all of it is there.
  const transparent::ParentRef* parent = img.parent();
  std::vector<std::string> chain;
  std::string chain_error;
  if (parent != nullptr) {
    auto opened = transparent::OpenChain(ctx.env, path, o);
    if (opened.ok()) {
      for (const auto& member : opened.value()) chain.push_back(BaseName(member->path()));
    } else {
      chain_error = opened.status().message();
    }
  }
  if (json) {
    JsonWriter w(ctx.out);
    w.BeginObject().Field("file", path).Field("kind", "process image");
    w.Field("format_version", h.format_version).Field("image_id", Hex16(h.image_id));
    w.Field("created", IsoTimeUtc(h.created_ns)).Field("pid", h.pid).Field("uid", h.uid);
    w.Field("host", h.hostname).Field("kernel", h.kernel_release).Field("arch", h.arch);
    w.Field("exe", h.exe_path).Field("cwd", h.cwd).Field("compressed", img.compressed());
    w.Field("file_size", img.file_size()).Field("mapped_bytes", mapped).Field("saved_bytes", saved);
    w.Key("argv").BeginArray();
    for (const auto& a : h.argv) w.Value(a);
    w.EndArray();
    if (parent != nullptr) {
      w.Key("parent").BeginObject().Field("name", parent->name);
      w.Field("image_id", Hex16(parent->image_id)).Field("depth", parent->depth);
      w.Field("inherited_bytes", transparent::RangeBytes(parent->inherited));
      w.Field("chain_complete", chain_error.empty());
      if (!chain_error.empty()) w.Field("chain_error", chain_error);
      w.Key("chain").BeginArray();
      for (const auto& c : chain) w.Value(c);
      w.EndArray().EndObject();
    }
    w.Key("regions").BeginArray();
    for (const auto& reg : img.regions()) {
      auto it = pages.find(reg.start);
      w.BeginObject().Field("start", Hex16(reg.start)).Field("end", Hex16(reg.end));
      w.Field("prot", Prot(reg.prot)).Field("path", reg.path).Field("size", reg.size());
      w.Field("saved", it == pages.end() ? 0 : it->second->raw_bytes);
      w.Field("stored", it == pages.end() ? 0 : it->second->stored_bytes).EndObject();
    }
    w.EndArray().Key("threads").BeginArray();
    for (const auto& t : img.threads()) {
      w.BeginObject().Field("tid", t.tid).Field("checkpoint_thread", t.checkpoint_thread);
      w.Field("fs_base", Hex16(t.fs_base)).EndObject();
    }
    w.EndArray().Key("files").BeginArray();
    for (const auto& f : img.files()) {
      w.BeginObject().Field("fd", f.fd).Field("kind", transparent::FileKindName(f.kind));
      w.Field("path", f.path).Field("offset", f.offset);
      if (f.kind == transparent::FileKind::kPipe || f.kind == transparent::FileKind::kFifo) {
        w.Field("pipe_bytes", static_cast<uint64_t>(f.pipe_data.size()));
      }
      if (std::string state = StateOf(f); !state.empty()) w.Field("state", state);
      w.EndObject();
    }
    w.EndArray().EndObject();
    w.Finish();
    return kExitOk;
  }
  ctx.out << "File:           " << path << "\n"
          << "Kind:           process image (format " << h.format_version << ")\n"
          << "Program:        " << h.exe_path << " (pid " << h.pid << ", uid " << h.uid << ")\n"
          << "Created:        " << IsoTimeUtc(h.created_ns) << " on " << h.hostname << " ("
          << h.arch << ", " << h.kernel_release << ")\n"
          << "Size:           " << HumanSize(img.file_size()) << " for " << HumanSize(saved)
          << " of pages saved out of " << HumanSize(mapped) << " mapped"
          << (img.compressed() ? " (compressed)" : "") << "\n";
  if (parent != nullptr) {
    std::string names;
    for (const auto& c : chain) names += (names.empty() ? "" : " <- ") + c;
    ctx.out << "Incremental:    depth " << parent->depth << " after " << parent->name << " ("
            << Hex16(parent->image_id) << "), inherits "
            << HumanSize(transparent::RangeBytes(parent->inherited)) << "\n"
            << "Chain:          "
            << (chain_error.empty() ? names + " (complete)" : "BROKEN: " + chain_error) << "\n";
  }
  ctx.out << "\n";
  std::vector<std::vector<std::string>> rows{{"START", "END", "PROT", "SIZE", "SAVED", "PATH"}};
  for (const auto& reg : img.regions()) {
    auto it = pages.find(reg.start);
    rows.push_back({Hex16(reg.start), Hex16(reg.end), Prot(reg.prot), HumanSize(reg.size()),
                    HumanSize(it == pages.end() ? 0 : it->second->raw_bytes), reg.path});
  }
  PrintTable(ctx.out, rows, {3, 4});
  ctx.out << "\n";
  std::vector<std::vector<std::string>> threads{{"TID", "ROLE", "FS BASE"}};
  for (const auto& t : img.threads()) {
    threads.push_back({std::to_string(t.tid), t.checkpoint_thread ? "checkpoint" : "application",
                       Hex16(t.fs_base)});
  }
  PrintTable(ctx.out, threads, {0});
  ctx.out << "\n";
  std::vector<std::vector<std::string>> files{{"FD", "KIND", "OFFSET", "PATH"}};
  for (const auto& f : img.files()) {
    files.push_back({std::to_string(f.fd), transparent::FileKindName(f.kind),
                     f.offset < 0 ? "-" : std::to_string(f.offset),
                     StateOf(f).empty() ? f.path : f.path + " (" + StateOf(f) + ")"});
  }
  PrintTable(ctx.out, files, {0, 2});
  return kExitOk;
}

}  // namespace cairn::cli
