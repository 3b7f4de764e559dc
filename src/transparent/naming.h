// The names cairn gives to what it keeps in a checkpoint directory DIR: one place for every
// path, so that the writers (the preload library, the coordinator, `cairn job`) and the
// readers (`cairn restart / status / ls`, retention) agree.
//
//   DIR/<program>-<pid>[-<k>].v<N>.cimg   a process image (transparent/image.h): <program> is
//                                         the executable's base name, <pid> the launched
//                                         process's, -<k> set when an older lineage of that
//                                         pid is in DIR, N its lineage's version
//   DIR/job.v<N>.manifest                 a job manifest (coord/manifest.h): MPI or tree
//   DIR/.cairn/                           control files (0700):
//     <pid>.sock                          a running process's control socket
//     <pid>-<ns>.lock                     a lineage lock (preload/control.h)
//     coordinator, coordinator.log        a job coordinator's address and log
//     job-<jobid>.log                     a `cairn job` segment log
#pragma once

#include <cstdint>
#include <string>

namespace cairn::transparent::naming {

inline constexpr char kImageSuffix[] = ".cimg";
inline constexpr char kSocketSuffix[] = ".sock";
inline constexpr char kLockSuffix[] = ".lock";

// DIR/.cairn
std::string ControlDir(const std::string& dir);
// DIR/.cairn/<pid>.sock
std::string ControlSocket(const std::string& dir, long pid);
// DIR/.cairn/<pid>-<ns>.lock
std::string LineageLock(const std::string& dir, long pid, int64_t ns);
// Whether `path` is a lineage lock (a *.lock in a .cairn directory).
bool IsLineageLock(const std::string& path);
// DIR/.cairn/coordinator, DIR/.cairn/coordinator.log, DIR/.cairn/job-<job>.log
std::string CoordinatorFile(const std::string& dir);
std::string CoordinatorLog(const std::string& dir);
std::string JobLog(const std::string& dir, const std::string& job);
// DIR/.cairn/node-agent.log: the log of a node's agent (tree/node_agent.h)
std::string NodeAgentLog(const std::string& dir);
// DIR/.cairn/interval.log: the output of the periodic checkpoints of a tree
// (preload/interval_round.h).
std::string IntervalLog(const std::string& dir);

// "<program>-<pid>.v" or "<program>-<pid>-<k>.v" (k >= 2): the prefix of a lineage's images.
std::string ImagePrefix(const std::string& program, long pid, int k = 1);
// DIR/<prefix><version>.cimg
std::string ImagePath(const std::string& dir, const std::string& prefix, long version);
bool IsImageName(const std::string& name);
// "<prefix><version>.cimg" -> prefix and version; false when `name` is not such a name.
bool SplitImageName(const std::string& name, std::string* prefix, long* version);
// DIR/.cairn/levels.cfg: the configuration of a job launched with --config (levels.h)
std::string LevelsFile(const std::string& dir);

// DIR/job.v<version>.manifest; the version of such a name, or 0.
std::string ManifestPath(const std::string& dir, uint64_t version);
uint64_t ManifestVersionFromName(const std::string& name);

}  // namespace cairn::transparent::naming
