// See levels.h.
#include "tree/levels.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/log.h"
#include "coord/manifest.h"
#include "ipc/backend_start.h"
#include "ipc/identity.h"
#include "ipc/wire.h"
#include "transparent/image_chain.h"
#include "transparent/naming.h"

namespace cairn::tree {
namespace {

constexpr int kAnswerMs = 20000;

// A committed checkpoint of a directory: its files, the last one committing it.
struct Checkpoint {
  uint64_t order = 0;  // trees: manifest version; single images: modification order
  std::vector<std::string> files;
  std::string lineage;  // single images: their prefix; trees: ""
  long version = 0;
};

// Adds image `name` of `dir` to `files`, after the older images of its chain (an incremental
// image needs them: they are copied with it and kept while it is).
void AddWithChain(Env* env, const std::string& dir, const std::string& name,
                  std::vector<std::string>* files) {
  std::vector<std::string> chain = transparent::ChainFiles(env, JoinPath(dir, name));
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const std::string base = BaseName(*it);
    if (std::find(files->begin(), files->end(), base) == files->end()) files->push_back(base);
  }
}

// Every committed checkpoint of `dir`, oldest first: trees by manifest, then single images
// (those no manifest names). A checkpoint's files are its images (each after the older images
// of its chain) and last the file that commits it.
std::vector<Checkpoint> Committed(const std::string& dir, Env* env) {
  std::vector<Checkpoint> out;
  std::set<std::string> in_trees;
  auto versions = coord::ListManifests(dir, env);
  for (uint64_t v : versions.ok() ? versions.value() : std::vector<uint64_t>()) {
    auto m = coord::ReadManifest(coord::ManifestPath(dir, v), env);
    if (!m.ok()) continue;
    Checkpoint c;
    c.order = v;
    c.version = static_cast<long>(v);
    for (const auto& im : m.value().images) in_trees.insert(BaseName(im.path));
    auto files = TreeCheckpointFiles(coord::ManifestPath(dir, v), m.value(), env);
    if (!files.ok()) continue;  // incomplete, or images elsewhere: not this level's to flush
    c.files = std::move(files.value());
    out.push_back(std::move(c));
  }
  auto names = env->ListDir(dir);
  for (const std::string& n : names.ok() ? names.value() : std::vector<std::string>()) {
    Checkpoint c;
    if (in_trees.count(n) != 0 || !transparent::naming::SplitImageName(n, &c.lineage, &c.version))
      continue;
    AddWithChain(env, dir, n, &c.files);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> TreeCheckpointFiles(const std::string& manifest_path,
                                                     const coord::Manifest& m, Env* env) {
  const std::string dir = DirName(manifest_path);
  CAIRN_RETURN_IF_ERROR(coord::CheckImages(m, env));
  std::vector<std::string> files;
  for (const auto& im : m.images) {
    if (DirName(im.path) != dir) {
      return Status::FailedPrecondition("image '" + im.path + "' is outside '" + dir + "'");
    }
    AddWithChain(env, dir, BaseName(im.path), &files);
  }
  files.push_back(BaseName(manifest_path));
  return files;
}

Status SaveLevels(const std::string& dir, const Config& config, Env* env) {
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(transparent::naming::ControlDir(dir)));
  return WriteFileAtomic(env, transparent::naming::LevelsFile(dir), SerializeConfig(config));
}

Result<Levels> LoadLevels(const std::string& dir, Env* env) {
  const std::string path = transparent::naming::LevelsFile(dir);
  if (!env->Exists(path)) return Status::NotFound("'" + dir + "' was not launched with --config");
  auto text = ReadFileToString(env, path);
  if (!text.ok()) return text.status();
  auto cfg = ParseConfig(text.value(), path, /*apply_env=*/false);
  if (!cfg.ok()) return cfg.status();
  Levels l;
  l.dir = dir;
  l.config = cfg.value();
  if (!l.config.persistent.empty()) l.persistent = JoinPath(l.config.persistent, BaseName(dir));
  return l;
}

Result<FlushPlan> PlanFlush(const Levels& levels, Env* env) {
  FlushPlan plan;
  if (levels.persistent.empty()) return plan;
  // Copy: every file of a committed checkpoint not on persistent with its size.
  std::vector<Checkpoint> mine = Committed(levels.dir, env);
  std::set<std::string> planned;
  for (const Checkpoint& c : mine) {
    for (const std::string& f : c.files) {
      auto here = env->Stat(JoinPath(levels.dir, f));
      auto there = env->Stat(JoinPath(levels.persistent, f));
      if (here.ok() && (!there.ok() || there.value().size != here.value().size) &&
          planned.insert(f).second) {
        plan.copy.push_back(f);
      }
    }
  }
  // Remove: what persistent holds, plus what is copied, beyond the newest max_versions.
  const int keep = levels.config.max_versions;
  if (keep <= 0) return plan;
  std::vector<Checkpoint> all = Committed(levels.persistent, env);
  for (const Checkpoint& c : mine) {
    if (std::none_of(all.begin(), all.end(),
                     [&](const Checkpoint& a) { return a.files == c.files; })) {
      all.push_back(c);
    }
  }
  std::map<std::string, std::vector<const Checkpoint*>> by_lineage;  // "" = trees
  for (const Checkpoint& c : all) by_lineage[c.lineage].push_back(&c);
  std::set<std::string> kept, dropped;
  for (auto& [lineage, list] : by_lineage) {
    std::sort(list.begin(), list.end(),
              [](const Checkpoint* a, const Checkpoint* b) { return a->version > b->version; });
    for (size_t i = 0; i < list.size(); ++i) {
      for (const std::string& f : list[i]->files) {
        (static_cast<int>(i) < keep ? kept : dropped).insert(f);
      }
    }
  }
  for (const std::string& f : dropped) {
    if (kept.count(f) != 0) continue;
    plan.remove.push_back(f);
    plan.copy.erase(std::remove(plan.copy.begin(), plan.copy.end(), f), plan.copy.end());
  }
  return plan;
}

Status RequestFlush(const Levels& levels, const std::string& binary, bool wait, Env* env) {
  auto plan = PlanFlush(levels, env);
  if (!plan.ok()) return plan.status();
  if (plan.value().copy.empty() && plan.value().remove.empty()) return Status::Ok();
  auto rundir = ipc::RuntimeDir();
  if (!rundir.ok()) return rundir.status();
  const std::string text = SerializeConfig(levels.config);
  const auto paths = ipc::PathsFor(rundir.value(), ipc::BackendKey(ipc::JobId(), text));
  auto fd = ipc::ConnectOrStartBackend(paths, text, binary);
  if (!fd.ok()) return fd.status().Annotate("flushing '" + levels.dir + "' to persistent");
  ipc::Message m("FLUSH");
  m.Add("seq", 1LL).Add("from", levels.dir).Add("to", levels.persistent);
  for (const std::string& f : plan.value().copy) m.Add("copy", f);
  for (const std::string& f : plan.value().remove) m.Add("remove", f);
  Status st = ipc::SendMessage(fd.value(), m);
  if (st.ok()) {
    auto ready = ipc::WaitReadable(fd.value(), kAnswerMs);
    if (!ready.ok() || !ready.value()) st = Status::Unavailable("the backend does not answer");
  }
  if (st.ok()) {
    auto in = ipc::RecvMessage(fd.value());
    if (!in.ok()) {
      st = in.status();
    } else if (in.value().msg.type() != "ACCEPTED") {
      st = Status::Unavailable("the backend refused the flush: " +
                               in.value().msg.GetOr("message", in.value().msg.type()));
    }
  }
  while (st.ok() && wait) {  // DONE {status, message} once the files are on persistent
    auto ready = ipc::WaitReadable(fd.value(), -1);
    auto in = ready.ok() ? ipc::RecvMessage(fd.value()) : Result<ipc::Received>(ready.status());
    if (!in.ok()) {
      st = Status::Unavailable("the backend died during the flush: " + in.status().message());
    } else if (in.value().msg.type() == "DONE") {
      const long long code = in.value().msg.GetInt("status", 0);
      if (code != 0) st = Status::FromCode(code, in.value().msg.GetOr("message", "flush failed"));
      break;
    }
  }
  ::close(fd.value());
  if (st.ok()) {
    log::Info("flush of ", plan.value().copy.size(), " file(s) of '", levels.dir, "' to '",
              levels.persistent, "' queued");
  }
  return st.Annotate("flushing '" + levels.dir + "' to persistent");
}

uint64_t FirstVersion(const Levels& levels, Env* env) {
  if (levels.persistent.empty()) return 1;
  auto there = coord::ListManifests(levels.persistent, env);
  return there.ok() && !there.value().empty() ? there.value().back() + 1 : 1;
}

std::vector<RestartCandidate> RestartCandidates(const std::vector<std::string>& dirs, Env* env) {
  std::vector<std::pair<size_t, RestartCandidate>> trees, singles;  // (level, candidate)
  for (size_t level = 0; level < dirs.size(); ++level) {
    for (const Checkpoint& c : Committed(dirs[level], env)) {
      RestartCandidate r;
      r.tree = c.lineage.empty();
      r.version = c.version;
      r.path = JoinPath(dirs[level], c.files.back());
      (r.tree ? trees : singles).push_back({level, r});
    }
  }
  auto& list = trees.empty() ? singles : trees;
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return a.second.version != b.second.version ? a.second.version > b.second.version
                                                : a.first < b.first;
  });
  std::vector<RestartCandidate> out;
  for (auto& [level, c] : list) out.push_back(std::move(c));
  return out;
}

}  // namespace cairn::tree
