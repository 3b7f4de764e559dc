// `cairn restart`: restores a process from the newest committed image in --ckpt-dir (or from
// --image FILE) in the foreground: the restored program keeps this command's pid, stdin,
// stdout and stderr.
//
// The image is verified completely (ImageReader) and checked against this host
// (CheckRestorable) first; a foreign, corrupt or truncated image is refused with a message
// and exit status 1 before anything changes (page batches are hashed as the plan is built,
// still before anything changes). The restorer reads uncompressed page data straight from the
// image file (decoded data of a compressed image from a memfd); the layout goes into a plan
// (transparent/restore/plan.h), the saved regular files are reopened at their descriptor numbers
// (0, 1 and 2 stay this command's), the working directory and umask are restored, and the restorer
// (cairn-restorer, beside this binary) is executed to rebuild the memory and jump back into the
// preload library.
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/level_options.h"
#include "cli/node_options.h"
#include "common/hash.h"
#include "coord/job_store.h"
#include "coord/manifest.h"
#include "job/mpi_launch.h"
#include "job/node_launch.h"
#include "transparent/image.h"
#include "transparent/image_chain.h"
#include "transparent/launcher_env.h"
#include "transparent/naming.h"
#include "transparent/process_restore.h"
#include "tree/levels.h"
#include "tree/node_l2.h"
#include "tree/node_rendezvous.h"
#include "tree/restore.h"

namespace cairn::cli {
namespace {

namespace tr = cairn::transparent;
constexpr const char* kName = "restart";
constexpr const char* kRestorerName = "cairn-restorer";

Result<std::string> FindRestorer(Env* env) {
  if (const char* e = std::getenv("CAIRN_RESTORER"); e != nullptr && *e != '\0') {
    return std::string(e);
  }
  const std::string dir = ExecutableDir();
  for (const std::string& p :
       {JoinPath(dir, kRestorerName), JoinPath(dir, "../libexec/" + std::string(kRestorerName))}) {
    if (!dir.empty() && env->Exists(p)) return p;
  }
  return Status::NotFound(std::string("cannot find ") + kRestorerName + " beside '" + dir +
                          "' (set CAIRN_RESTORER)");
}

// The images (*.cimg) in `dir`, newest (by modification time) first.
Result<std::vector<std::string>> ImagesNewestFirst(Env* env, const std::string& dir) {
  auto names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<std::pair<struct timespec, std::string>> found;
  for (const auto& n : names.value()) {
    if (!tr::naming::IsImageName(n)) continue;
    const std::string p = JoinPath(dir, n);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    found.emplace_back(st.st_mtim, p);
  }
  if (found.empty()) return Status::NotFound("no image (*.cimg) in '" + dir + "'");
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.tv_sec != b.first.tv_sec ? a.first.tv_sec > b.first.tv_sec
                                            : a.first.tv_nsec > b.first.tv_nsec;
  });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

// N of an image named "...v<N>.cimg" (0 when it has none).
long VersionOf(const std::string& path) {
  const std::string base = BaseName(path);
  const size_t v = base.rfind(".v");
  return v == std::string::npos ? 0 : std::atol(base.c_str() + v + 2);
}

// The part of an image name before ".v<N>.cimg": its process's lineage.
std::string LineageOf(const std::string& path) {
  const std::string base = BaseName(path);
  const size_t v = base.rfind(".v");
  return v == std::string::npos ? base : base.substr(0, v);
}

// An image that cannot be restored here (vDSO, architecture, no restart information) is a
// failed check (1), like a corrupt one.
int Fail(Context& ctx, const Status& st) {
  PrintError(ctx, kName, st.ToString());
  return st.code() == Code::kFailedPrecondition ? kExitFailed : ExitCodeFor(st);
}

// A checkpoint of `participants` ranks (the manifest `path`) restarts only with as many.
Status SameRanks(const std::string& path, int participants, int size) {
  if (participants == size) return Status::Ok();
  return Status::FailedPrecondition("the checkpoint (" + path + ") has " +
                                    std::to_string(participants) + " ranks, but this launch has " +
                                    std::to_string(size) + "; restart with -np " +
                                    std::to_string(participants));
}

// --mpi: this rank's image in the newest complete job manifest of `dir`; on the launcher's
// rank 0 also a new coordinator for the restarted job. Refuses (starting nothing) a launch
// with another number of ranks than the checkpoint.
Result<std::string> PickRankImage(Context& ctx, const std::string& dir, long interval_s) {
  std::string warnings;
  auto m = coord::NewestValid(dir, &warnings, ctx.env);
  if (!warnings.empty()) ctx.err << "cairn restart: warning: " << warnings;
  if (!m.ok()) {
    return Status::NotFound("no complete MPI checkpoint (job.v<N>.manifest) in '" + dir +
                            "': " + m.status().message());
  }
  const int rank = std::max(0, tr::LauncherRank());
  const int size = std::max(1, tr::LauncherSize());
  CAIRN_RETURN_IF_ERROR(
      SameRanks(coord::ManifestPath(dir, m.value().version), m.value().participants, size));
  const auto& img = m.value().images.at(static_cast<size_t>(rank));
  if (rank == 0) {
    CAIRN_RETURN_IF_ERROR(
        job::StartCoordinator(ExecutablePath(), dir, size, tr::LauncherJobKey(), interval_s));
  }
  return img.path;
}

// --mpi with --config (ranks on one node): the complete MPI checkpoints of scratch and
// persistent, newest version first (tree::RestartCandidates). Rank 0 verifies every image of
// each candidate in turn, pages too, and publishes the first that verifies for this launch
// (DIR/.cairn/restart-<hash of the job key>: the manifest's path, or "ERROR <why>"); the
// other ranks take that one, so that every rank restores the same version. Rank 0 then writes
// the levels file (scratch may have been wiped) and starts the coordinator in DIR, whose
// versions go on from the newest on either level. Bounded: the others wait 600 s at most.
Result<std::string> PickRankImageFromLevels(Context& ctx, const std::string& dir, const Config& cfg,
                                            long interval_s) {
  if (!tr::LauncherOnOneNode()) {
    return Status::InvalidArgument(
        "--config with --mpi needs every rank on one node for now; restart with --ckpt-dir");
  }
  const int rank = std::max(0, tr::LauncherRank());
  const int size = std::max(1, tr::LauncherSize());
  const std::string job_key = tr::LauncherJobKey();
  char key[17];
  std::snprintf(key, sizeof key, "%016llx",
                static_cast<unsigned long long>(Hash64(job_key.data(), job_key.size())));
  const std::string choice = JoinPath(tr::naming::ControlDir(dir), std::string("restart-") + key);
  std::string manifest_path;
  if (rank == 0) {
    std::vector<std::string> dirs = {dir};
    if (!cfg.persistent.empty()) dirs.push_back(JoinPath(cfg.persistent, BaseName(dir)));
    Status why = Status::NotFound("no complete checkpoint of '" + BaseName(dir) + "' in " +
                                  dirs.front() + (dirs.size() > 1 ? " or " + dirs.back() : ""));
    for (const tree::RestartCandidate& c : tree::RestartCandidates(dirs, ctx.env)) {
      if (!c.tree) continue;
      auto m = coord::ReadManifest(c.path, ctx.env);
      Status st = m.ok() ? SameRanks(c.path, m.value().participants, size) : m.status();
      if (m.ok() && !st.ok()) {
        why = st;
        break;  // a newer checkpoint of another size: never fall back past it
      }
      for (size_t i = 0; st.ok() && m.ok() && i < m.value().images.size(); ++i) {
        tr::OpenOptions oo;
        oo.verify_pages = true;
        auto chain = tr::OpenChain(ctx.env, m.value().images[i].path, oo);
        if (!chain.ok()) st = chain.status();
      }
      if (st.ok()) {
        manifest_path = c.path;
        break;
      }
      ctx.err << "cairn restart: warning: " << c.path << " is not usable (" << st.message()
              << "); trying an older copy\n";
    }
    CAIRN_RETURN_IF_ERROR(ctx.env->CreateDirs(tr::naming::ControlDir(dir)));
    CAIRN_RETURN_IF_ERROR(WriteFileAtomic(
        ctx.env, choice, manifest_path.empty() ? "ERROR " + why.message() : manifest_path));
    if (manifest_path.empty()) return why;
    CAIRN_RETURN_IF_ERROR(tree::SaveLevels(dir, cfg, ctx.env));
  } else {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(600);
    for (;;) {
      auto text = ReadFileToString(ctx.env, choice);
      if (text.ok() && text.value().starts_with("ERROR ")) {
        return Status::NotFound("rank 0 found no checkpoint to restart: " + text.value().substr(6));
      }
      if (text.ok() && !text.value().empty()) {
        manifest_path = text.value();
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Unavailable("rank 0 did not choose a checkpoint within 600 s (" + choice +
                                   ")");
      }
      ::usleep(20 * 1000);
    }
  }
  auto m = coord::ReadManifest(manifest_path, ctx.env);
  if (!m.ok()) return m.status();
  if (m.value().participants != size || static_cast<size_t>(rank) >= m.value().images.size()) {
    return Status::FailedPrecondition(manifest_path + " does not have rank " +
                                      std::to_string(rank) + " of " + std::to_string(size));
  }
  ctx.err << "cairn restart: rank " << rank << " from " << manifest_path << "\n";
  if (rank == 0) {
    CAIRN_RETURN_IF_ERROR(job::StartCoordinator(ExecutablePath(), dir, size, job_key, interval_s));
  }
  return m.value().images.at(static_cast<size_t>(rank)).path;
}

// The newest complete tree checkpoint (job manifest of kind "tree") of `dir`, unless the
// single-process image `newest_image` was committed after it (the tree had shrunk to one
// process, whose own checkpoints are single images).
std::optional<coord::Manifest> NewestTree(Context& ctx, const std::string& dir,
                                          const std::string& newest_image) {
  std::string warnings;
  auto m = coord::NewestValid(dir, &warnings, ctx.env);
  if (!warnings.empty()) ctx.err << "cairn restart: warning: " << warnings;
  if (!m.ok() || m.value().kind != "tree") return std::nullopt;
  struct stat ms, is;
  if (!newest_image.empty() && ::stat(newest_image.c_str(), &is) == 0 &&
      ::stat(coord::ManifestPath(dir, m.value().version).c_str(), &ms) == 0 &&
      (is.st_mtim.tv_sec > ms.st_mtim.tv_sec ||
       (is.st_mtim.tv_sec == ms.st_mtim.tv_sec && is.st_mtim.tv_nsec > ms.st_mtim.tv_nsec))) {
    return std::nullopt;
  }
  return m.value();
}

// Restores a whole tree (tree/restore.h): the exit status of its first top-level process, or
// why it was not restored.
Result<int> RunTree(Context& ctx, const coord::Manifest& m, tree::NodeRendezvous* nodes,
                    bool verify_pages_first = false) {
  auto restorer = FindRestorer(ctx.env);
  if (!restorer.ok()) return restorer.status();
  tree::TreeRestoreOptions o;
  o.restorer = restorer.value();
  o.nodes = nodes;
  o.verify_pages_first = verify_pages_first;
  o.env = ctx.env;
  o.warn = [&](const std::string& w) { ctx.err << "cairn restart: warning: " << w << "\n"; };
  auto status = tree::RestoreTree(m, o);
  if (!status.ok()) {
    return status.status().Annotate("the tree of job.v" + std::to_string(m.version) +
                                    ".manifest is not restored");
  }
  const int st = status.value();
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return kExitFailed;
}

// ... and exits as that process did.
int RestartTree(Context& ctx, const coord::Manifest& m, tree::NodeRendezvous* nodes = nullptr) {
  auto rc = RunTree(ctx, m, nodes);
  return rc.ok() ? rc.value() : Fail(ctx, rc.status());
}

constexpr int kNodeWaitMs = 120000;  // for the other nodes of a job, at each step

// The job manifest versions this node can restart: kind "nodes" with `nodes` participants,
// whose node manifest for `node` and every image it names are complete, in the node's
// directory or else (a node launched with --config: `persistent` is its directory there)
// on persistent. Newest first, each with the node manifest to restore.
std::vector<std::pair<uint64_t, std::string>> RestartableVersions(Context& ctx,
                                                                  const job::NodePlacement& p,
                                                                  const std::string& persistent) {
  std::vector<std::pair<uint64_t, std::string>> out;
  auto versions = coord::ListManifests(p.job_dir, ctx.env);
  if (!versions.ok()) return out;
  for (auto it = versions.value().rbegin(); it != versions.value().rend(); ++it) {
    const std::string path = coord::ManifestPath(p.job_dir, *it);
    auto m = coord::ReadManifest(path, ctx.env);
    Status st = m.ok() ? Status::Ok() : m.status();
    if (st.ok() && (m.value().kind != "nodes" || m.value().participants != p.nodes)) {
      st = Status::FailedPrecondition("a checkpoint of " + std::to_string(m.value().participants) +
                                      " node(s) of kind '" + m.value().kind + "', not of " +
                                      std::to_string(p.nodes) + " nodes");
    }
    std::string chosen;
    if (st.ok()) {
      coord::ManifestImage im = m.value().images.at(static_cast<size_t>(p.node));
      std::vector<std::string> copies = {im.path};
      if (!persistent.empty()) copies.push_back(JoinPath(persistent, BaseName(im.path)));
      for (const std::string& copy : copies) {
        im.path = copy;
        Status cs = coord::CheckImages({.version = m.value().version,
                                        .kind = "nodes",
                                        .participants = 1,
                                        .created = 0,
                                        .images = {im}},
                                       ctx.env);
        Result<coord::Manifest> mine = Status::NotFound("unset");
        if (cs.ok()) mine = coord::ReadManifest(copy, ctx.env);
        if (cs.ok() && !mine.ok()) cs = mine.status();
        if (cs.ok()) cs = coord::CheckImages(mine.value(), ctx.env);
        if (cs.ok()) {
          chosen = copy;
          break;
        }
        st = cs;
      }
    }
    if (chosen.empty()) {
      ctx.err << "cairn restart: warning: " << BaseName(path) << ": skipped: " << st.message()
              << "\n";
      continue;
    }
    out.push_back({*it, chosen});
  }
  return out;
}

// --node: this node's part of a job spread over several nodes. Node 0 starts the job's new
// coordinator; every node starts its agent, agrees with the others on the checkpoint, and
// restores its tree with the connections between nodes (tree/node_rendezvous.h).
int RestartNode(Context& ctx, const job::NodePlacement& p, const Config* levels) {
  std::string persistent;  // with --config: the node's checkpoints there
  if (levels != nullptr) {
    // Scratch may have been wiped: the node's directory and its levels file come back first
    // (the agent reads them to flush and number the next checkpoints).
    if (Status st = tree::SaveLevels(p.node_dir, *levels, ctx.env); !st.ok()) return Fail(ctx, st);
    if (!levels->persistent.empty())
      persistent = JoinPath(levels->persistent, BaseName(p.node_dir));
  }
  auto restartable = RestartableVersions(ctx, p, persistent);
  if (Status st = job::StartNodeServices(ExecutablePath(), p); !st.ok()) return Fail(ctx, st);
  auto store = coord::JobStore::Open(p.job_dir, job::NodeJobKey(p.job_dir), kNodeWaitMs);
  if (!store.ok()) return Fail(ctx, store.status());
  const std::string host = p.address.empty() ? store.value().local_host() : p.address;
  tree::NodeRendezvous nodes(store.value(), p.job_dir, job::NodeJobKey(p.job_dir), p.node, p.nodes,
                             host, kNodeWaitMs);
  if (levels != nullptr && levels->ec_scheme != "none") {
    // L2 first: a node whose scratch lost its part gets it back from its set's survivors.
    std::set<uint64_t> scratch, elsewhere;
    for (const auto& [v, path] : restartable)
      (DirName(path) == p.node_dir ? scratch : elsewhere).insert(v);
    auto rebuilt = tree::RecoverNodeParts(
        *levels, {store.value(), host, p.node_dir, p.job_dir, p.node, p.nodes}, scratch, elsewhere,
        kNodeWaitMs, ctx.env);
    if (!rebuilt.ok())
      return Fail(ctx, rebuilt.status().Annotate("L2 (" + levels->ec_scheme + ")"));
    if (rebuilt.value() != 0 && scratch.count(rebuilt.value()) == 0) {
      restartable = RestartableVersions(ctx, p, persistent);
    }
  }
  std::vector<uint64_t> versions;
  for (const auto& [v, path] : restartable) versions.push_back(v);
  auto version = nodes.AgreeOnVersion(versions);
  if (!version.ok()) return Fail(ctx, version.status());
  std::string node_manifest;
  for (const auto& [v, path] : restartable) {
    if (v == version.value()) node_manifest = path;
  }
  auto mine = coord::ReadManifest(node_manifest, ctx.env);
  if (!mine.ok()) return Fail(ctx, mine.status());
  ctx.err << "cairn restart: node " << p.node << " of " << p.nodes << " at " << host
          << ": checkpoint " << version.value() << " (" << mine.value().images.size()
          << " process(es)) from " << node_manifest << "\n";
  return RestartTree(ctx, mine.value(), &nodes);
}

// --config FILE --name NAME: the newest checkpoint that verifies, from the fastest level that
// has it (tree/levels.h); a corrupt copy falls back to the next candidate.
int RestartFromLevels(Context& ctx, const std::string& dir, const Config& cfg) {
  std::vector<std::string> dirs = {dir};
  if (!cfg.persistent.empty()) dirs.push_back(JoinPath(cfg.persistent, BaseName(dir)));
  auto restorer = FindRestorer(ctx.env);
  if (!restorer.ok()) return Fail(ctx, restorer.status());
  const auto candidates = tree::RestartCandidates(dirs, ctx.env);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const tree::RestartCandidate& c = candidates[i];
    Status st;
    if (c.tree) {
      auto m = coord::ReadManifest(c.path, ctx.env);
      auto rc = m.ok() ? RunTree(ctx, m.value(), nullptr, i + 1 < candidates.size())
                       : Result<int>(m.status());
      if (rc.ok()) return rc.value();
      st = rc.status();
    } else {
      tr::ProcessRestoreOptions o;
      o.restorer = restorer.value();
      o.verify_pages_first = i + 1 < candidates.size();  // while an older copy remains
      o.warn = [&](const std::string& w) { ctx.err << "cairn restart: warning: " << w << "\n"; };
      auto prepared = tr::ProcessRestore::Prepare(ctx.env, c.path, o);
      if (prepared.ok()) {
        ctx.err << "cairn restart: from " << c.path << "\n";
        ctx.err.flush();
        return Fail(ctx, prepared.value()->Exec());
      }
      st = prepared.status();
    }
    if (st.code() != Code::kCorruption && st.code() != Code::kNotFound) return Fail(ctx, st);
    ctx.err << "cairn restart: warning: " << c.path << " is not usable (" << st.message()
            << "); trying an older copy\n";
  }
  return Fail(
      ctx, Status::NotFound("no checkpoint of '" + BaseName(dir) + "' verifies in " + dirs.front() +
                            (dirs.size() > 1 ? " or " + dirs.back() : std::string())));
}

int Run(const Args& args, Context& ctx) {
  Config level_cfg;
  std::string level_dir, level_err;
  const bool levels = ParseLevelDir(args, "", &level_dir, &level_cfg, &level_err);
  if (!level_err.empty() || (levels && args.Has("image"))) {
    PrintError(ctx, kName, level_err.empty() ? "--config excludes --image" : level_err);
    return kExitUsage;
  }
  if (levels && !args.Has("mpi") && !args.Has("node")) {
    return RestartFromLevels(ctx, level_dir, level_cfg);
  }
  job::NodePlacement node;
  std::string node_err;
  const bool on_node = ParseNodePlacement(
      args, levels ? level_dir : args.Get("ckpt-dir").value_or(""), &node, &node_err);
  if (node_err.empty() && on_node &&
      (args.Has("mpi") || args.Has("image") || (!levels && !args.Has("ckpt-dir")))) {
    node_err =
        "--node needs --ckpt-dir DIR (the node's) or --config FILE --name NAME, and excludes "
        "--mpi and --image";
  }
  if (!node_err.empty()) {
    PrintError(ctx, kName, node_err);
    return kExitUsage;
  }
  const std::string interval = args.Get("interval").value_or("0");
  if (!WholeNumber(interval)) {
    PrintError(ctx, kName, "--interval must be a whole number of seconds, got '" + interval + "'");
    return kExitUsage;
  }
  if (on_node) {
    node.interval_s = std::stol(interval);
    return RestartNode(ctx, node, levels ? &level_cfg : nullptr);
  }
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  std::string path;
  std::vector<std::string> fallbacks;  // --ckpt-dir: older images of the same process
  const bool mpi = args.Has("mpi");
  int pmi_fd = -1;  // MPICH's connection to its launcher: kept for the new lower half
  if (mpi) {
    auto dir = levels ? std::optional<std::string>(level_dir) : args.Get("ckpt-dir");
    if (!dir || dir->empty()) {
      PrintError(ctx, kName, "--mpi needs --ckpt-dir DIR (or --config FILE --name NAME)");
      return kExitUsage;
    }
    auto picked = levels ? PickRankImageFromLevels(ctx, *dir, level_cfg, std::stol(interval))
                         : PickRankImage(ctx, *dir, std::stol(interval));
    if (!picked.ok()) return Fail(ctx, picked.status());
    path = picked.value();
    if (const char* p = std::getenv("PMI_FD"); p != nullptr && *p != '\0') pmi_fd = std::atoi(p);
  } else if (auto img = args.Get("image"); img && !img->empty()) {
    path = *img;
  } else if (auto dir = args.Get("ckpt-dir"); dir && !dir->empty()) {
    auto images = ImagesNewestFirst(ctx.env, *dir);
    auto tree = NewestTree(ctx, *dir, images.ok() ? images.value().front() : "");
    if (tree) return RestartTree(ctx, *tree);
    if (!images.ok()) return Fail(ctx, images.status());
    path = images.value().front();
    // Older images of the same process, newest version first, for an incremental image
    // whose chain is broken.
    for (size_t i = 1; i < images.value().size(); ++i) {
      if (LineageOf(images.value()[i]) == LineageOf(path)) fallbacks.push_back(images.value()[i]);
    }
    std::stable_sort(fallbacks.begin(), fallbacks.end(),
                     [](const auto& a, const auto& b) { return VersionOf(a) > VersionOf(b); });
  } else {
    PrintError(ctx, kName, "--ckpt-dir DIR or --image FILE is required");
    return kExitUsage;
  }
  auto restorer = FindRestorer(ctx.env);
  if (!restorer.ok()) return Fail(ctx, restorer.status());

  tr::ProcessRestoreOptions o;
  o.restorer = restorer.value();
  o.bind_sockets = !mpi;
  o.warn = [&](const std::string& w) { ctx.err << "cairn restart: warning: " << w << "\n"; };
  auto prepared = tr::ProcessRestore::Prepare(ctx.env, path, o);
  // A chain that lost a member, or a member that does not verify (found while its pages are
  // gathered), falls back to the newest older image of the process that is complete.
  for (size_t i = 0; !prepared.ok() && i < fallbacks.size(); ++i) {
    const Status& st = prepared.status();
    if (st.code() != Code::kCorruption && st.code() != Code::kNotFound) break;
    ctx.err << "cairn restart: warning: " << path << " is not usable (" << st.message()
            << "); trying " << fallbacks[i] << "\n";
    path = fallbacks[i];
    prepared = tr::ProcessRestore::Prepare(ctx.env, path, o);
  }
  if (!prepared.ok()) return Fail(ctx, prepared.status());
  ctx.err.flush();
  tr::ProcessRestore& restore = *prepared.value();
  if (mpi) {
    // The launcher's connection (MPICH) and environment, above every saved descriptor.
    if (pmi_fd >= 0) {
      auto moved = restore.KeepAbove(pmi_fd);
      if (!moved.ok()) return Fail(ctx, moved.status());
      pmi_fd = moved.value();
    }
    auto envfd = job::LauncherEnvironmentFd(pmi_fd);
    if (!envfd.ok()) return Fail(ctx, envfd.status());
    auto moved = restore.KeepAbove(envfd.value());
    if (!moved.ok()) return Fail(ctx, moved.status());
  }
  ctx.err.flush();
  Status st = restore.Exec();
  return Fail(ctx, st);
}

}  // namespace

const Command& RestartCommand() {
  static const Command kCommand{
      kName,
      "Restart a program from its newest transparent checkpoint image",
      "(--ckpt-dir DIR | --image FILE | --config FILE --name NAME) [--mpi [--interval "
      "SECONDS]] [--node N --nodes M --job-dir DIR [--node-address HOST]]",
      "Restores the process saved in the newest image (*.cimg) of DIR, or in FILE, in the\n"
      "foreground: the restored program takes over this command's pid, stdin, stdout and\n"
      "stderr, and can be checkpointed again with `cairn checkpoint --ckpt-dir DIR`.\n"
      "The image is verified first; a corrupt, truncated or foreign image is refused\n"
      "(exit status 1), as is one whose vDSO does not match this kernel's.\n"
      "With --node N --nodes M --job-dir JOB (on every node of a job started with\n"
      "`cairn launch --node`), each node restores its own tree from its --ckpt-dir: the\n"
      "nodes agree on the newest checkpoint all of them still have, re-create the TCP\n"
      "connections between them on their new addresses, and start together. With\n"
      "--config FILE --name NAME instead of --ckpt-dir, a node's part is taken from\n"
      "<scratch>/NAME.node<N>, else from <persistent>/NAME.node<N>.\n"
      "With --config FILE --name NAME (a job launched with --config) the newest checkpoint\n"
      "is taken from the fastest level that has it: <scratch>/NAME, else\n"
      "<persistent>/NAME; a copy that does not verify falls back to the next one.\n"
      "With --mpi too (`mpirun -np N cairn restart --mpi --config FILE --name NAME`, every\n"
      "rank on one node), rank 0 picks the newest job checkpoint whose every image\n"
      "verifies on either level and every rank restarts from that one.\n",
      WithLevelOptions(WithNodeOptions(
          {{"ckpt-dir", "DIR", "restart from the newest image in DIR"},
           {"image", "FILE", "restart from this image"},
           {"interval", "SECONDS",
            "with --mpi or --node: the restarted job also checkpoints every SECONDS"},
           {"mpi", nullptr,
            "an MPI rank (mpirun -np N cairn restart --mpi --ckpt-dir DIR): this rank's image of "
            "the newest complete job manifest, under the new launcher (docs/mpi.md)"}})),
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
