// Transparent images through cairn's levels (issue 12): a job launched with `cairn launch
// --config FILE --name NAME` writes its images to the node-local level, DIR =
// <scratch>/<NAME> (tmpfs or SSD; the program resumes once its image is committed there), and
// after each commit the node's async backend (backend/server.h FLUSH, pipeline/flush.h)
// copies the checkpoint to <persistent>/<NAME> in the background, at low priority.
//
// Contract:
//   - SaveLevels writes the job's configuration to DIR/.cairn/levels.cfg (0600, atomically);
//     LoadLevels reads it back (kNotFound when DIR was not launched with --config), so that
//     whoever commits in DIR (the process itself, `cairn checkpoint`) and `cairn restart`
//     know the levels. The persistent directory is <persistent>/<basename of DIR>.
//   - PlanFlush(levels): the files to copy, oldest checkpoint first: every committed
//     checkpoint of DIR that is not complete on persistent (a tree's images, then its job
//     manifest; a single-process image alone), so one request also finishes what a killed
//     backend left; and the files to remove on persistent afterwards: checkpoints beyond
//     max_versions (0: all kept), per lineage for single images, by manifest for trees (an
//     image a kept manifest names is never removed).
//   - RequestFlush sends that plan to the backend of the job's configuration (started first
//     with `binary` when none runs; "" only connects) and returns once it is ACCEPTED (the
//     copy runs on), or with `wait` once it is DONE (its status: the checkpoint is on
//     persistent). Nothing to flush is Ok without a request. Bounded: 20 s to be accepted.
//   - Who asks: `cairn checkpoint` after each commit in DIR; the program's own periodic
//     checkpoints are rounds run by `cairn checkpoint` too (CAIRN_LEVELS=1, preload/control),
//     so the flush never runs in the program's process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "coord/manifest.h"
#include "env/env.h"

namespace cairn::tree {

struct Levels {
  std::string dir;         // the node-local directory (DIR)
  std::string persistent;  // <persistent>/<basename of DIR>; "" without a persistent level
  Config config;
};

struct FlushPlan {
  std::vector<std::string> copy, remove;  // file names
};

Status SaveLevels(const std::string& dir, const Config& config, Env* env = Env::Default());
Result<Levels> LoadLevels(const std::string& dir, Env* env = Env::Default());

// The files of the tree checkpoint committed by `manifest_path` (its manifest `m`), as names in
// the manifest's directory: every image, each after the older images of its chain, and last
// the manifest. kNotFound / kCorruption when an image is missing or has another size,
// kFailedPrecondition when one is outside that directory.
Result<std::vector<std::string>> TreeCheckpointFiles(const std::string& manifest_path,
                                                     const coord::Manifest& m, Env* env);

Result<FlushPlan> PlanFlush(const Levels& levels, Env* env = Env::Default());
Status RequestFlush(const Levels& levels, const std::string& binary, bool wait,
                    Env* env = Env::Default());

// The lowest version a new job manifest in levels.dir may take: one past the newest on
// persistent (1 when there is none). A restart from persistent after scratch was wiped then
// goes on numbering from there instead of starting again at 1, which would name a newer
// checkpoint as an older one there (and max_versions would drop it first).
uint64_t FirstVersion(const Levels& levels, Env* env = Env::Default());

// What a restart of a job launched with --config may use, in the order to try: the complete
// checkpoints of every level (`dirs`, fastest first: scratch, then persistent), newest
// version first and, for one version, the fastest level first. A job with tree checkpoints
// (job manifests) lists those, else its single-process images. The caller tries each until
// one verifies (a corrupt or truncated copy falls back to the next).
struct RestartCandidate {
  bool tree = false;
  long version = 0;
  std::string path;  // the job manifest, or the image
};
std::vector<RestartCandidate> RestartCandidates(const std::vector<std::string>& dirs,
                                                Env* env = Env::Default());

}  // namespace cairn::tree
