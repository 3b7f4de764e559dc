// `cairn launch`: runs an unmodified, dynamically linked program under transparent
// checkpointing: sets CAIRN_CKPT_DIR / CAIRN_CKPT_INTERVAL / CAIRN_COMPRESS and prepends
// libcairn_preload.so to LD_PRELOAD, then execvp()s the program (stdin/stdout/stderr and
// the pid are the program's from then on). Returns only on a usage error or if the exec
// fails.
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/level_options.h"
#include "cli/node_options.h"
#include "job/mpi_launch.h"
#include "transparent/launcher_env.h"
#include "tree/levels.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "launch";
constexpr const char* kPreloadName = "libcairn_preload.so";

// $CAIRN_PRELOAD_LIB (for the preload library), else beside the cairn binary (build tree),
// else ../lib (install tree).
Result<std::string> FindLib(Env* env, const std::string& name) {
  const char* e = std::getenv("CAIRN_PRELOAD_LIB");
  if (name == kPreloadName && e != nullptr && *e != '\0') {
    std::string p = AbsolutePath(e);
    if (!env->Exists(p)) return Status::NotFound("CAIRN_PRELOAD_LIB='" + p + "' does not exist");
    return p;
  }
  std::string dir = ExecutableDir();
  if (name != kPreloadName && e != nullptr && *e != '\0') dir = DirName(AbsolutePath(e));
  for (const std::string& p : {JoinPath(dir, name), JoinPath(dir, "../lib/" + name)}) {
    if (!dir.empty() && env->Exists(p)) return p;
  }
  return Status::NotFound("cannot find " + name + " beside '" + dir + "' or in '" + dir +
                          "/../lib' (set CAIRN_PRELOAD_LIB)");
}

// --mpi: the shim for the program's MPI after the preload library; on the launcher's rank 0
// the job's coordinator.
Result<std::string> MpiSetup(const Args& args, Context& ctx, const std::string& program,
                             const std::string& dir) {
  std::string abi = args.Get("mpi-abi").value_or("");
  if (abi.empty()) {
    auto detected = job::DetectMpiAbi(program);
    if (!detected.ok()) return detected.status();
    abi = detected.value();
  }
  if (abi != "ompi" && abi != "mpich") {
    return Status::InvalidArgument("--mpi-abi must be ompi or mpich, got '" + abi + "'");
  }
  auto shim = FindLib(ctx.env, "libcairn_mpi_" + abi + ".so");
  if (!shim.ok()) return shim.status();
  const int rank = transparent::LauncherRank();
  if (rank <= 0) {
    const int size = std::max(1, transparent::LauncherSize());
    CAIRN_RETURN_IF_ERROR(job::StartCoordinator(
        ExecutablePath(), dir, size, transparent::LauncherJobKey(),
        std::stol(args.Get("interval").value_or("0")), std::stoi(args.Get("keep").value_or("2"))));
  }
  return shim.value();
}

int Run(const Args& args, Context& ctx) {
  const auto& prog = args.positional();
  if (prog.empty()) {
    PrintError(ctx, kName, "missing PROGRAM (usage: cairn launch [options] -- PROGRAM [ARGS...])");
    return kExitUsage;
  }
  Config level_cfg;
  std::string level_dir, level_err;
  const bool levels = ParseLevelDir(args, BaseName(prog[0]), &level_dir, &level_cfg, &level_err);
  if (levels && level_err.empty() && args.Has("mpi") && !transparent::LauncherOnOneNode()) {
    level_err =
        "--config with --mpi needs every rank on one node for now (scratch is node-local and "
        "the flush runs on the coordinator's node); this job spans several nodes: use "
        "--ckpt-dir on a shared file system";
  }
  if (!level_err.empty()) {
    PrintError(ctx, kName, level_err);
    return kExitUsage;
  }
  const std::string dir = levels ? level_dir : AbsolutePath(args.Get("ckpt-dir").value_or("."));
  std::string interval = args.Get("interval").value_or("0");
  if (!WholeNumber(interval)) {
    PrintError(ctx, kName, "--interval must be a whole number of seconds, got '" + interval + "'");
    return kExitUsage;
  }
  const std::string keep = args.Get("keep").value_or(
      levels && level_cfg.scratch_versions > 0 ? std::to_string(level_cfg.scratch_versions) : "2");
  if (!WholeNumber(keep, 1, 999999)) {
    PrintError(ctx, kName, "--keep must be a whole number >= 1, got '" + keep + "'");
    return kExitUsage;
  }
  const std::string incremental = args.Get("incremental").value_or("0");
  if (!WholeNumber(incremental, 0, 1000)) {
    PrintError(ctx, kName,
               "--incremental must be a whole number 0..1000, got '" + incremental + "'");
    return kExitUsage;
  }
  const std::string compress =
      args.Get("compress").value_or(levels && level_cfg.compress == "zstd" ? "zstd" : "none");
  if (compress != "none" && compress != "zstd") {
    PrintError(ctx, kName, "--compress must be none or zstd, got '" + compress + "'");
    return kExitUsage;
  }
  job::NodePlacement node;
  std::string node_err;
  const bool on_node = ParseNodePlacement(args, dir, &node, &node_err);
  if (node_err.empty() && on_node && args.Has("mpi"))
    node_err = "--node and --mpi exclude each other";
  if (!node_err.empty()) {
    PrintError(ctx, kName, node_err);
    return kExitUsage;
  }
  Status st = ctx.env->CreateDirs(dir);
  if (st.ok() && on_node) st = ctx.env->CreateDirs(node.job_dir);
  // One writer of the job's levels file: rank 0 of an MPI job (before it starts the
  // coordinator, which reads it).
  if (st.ok() && levels && (!args.Has("mpi") || transparent::LauncherRank() <= 0)) {
    st = tree::SaveLevels(dir, level_cfg, ctx.env);
  }
  if (!st.ok()) {
    PrintError(ctx, kName, st.ToString());
    return kExitNotFound;
  }
  auto lib = FindLib(ctx.env, kPreloadName);
  if (!lib.ok()) {
    PrintError(ctx, kName, lib.status().message());
    return kExitNotFound;
  }
  std::string preload = lib.value();
  if (args.Has("mpi")) {
    auto shim = MpiSetup(args, ctx, prog[0], dir);
    if (!shim.ok()) {
      PrintError(ctx, kName, shim.status().message());
      return shim.status().code() == Code::kInvalidArgument ? kExitUsage : kExitNotFound;
    }
    preload += ":" + shim.value();
    job::DisableMemoryHooks();
  }
  if (on_node) {  // node 0's coordinator checkpoints every node together (and on --interval)
    node.keep = std::stoi(keep);
    node.interval_s = std::stol(interval);
    if (Status ns = job::StartNodeServices(ExecutablePath(), node); !ns.ok()) {
      PrintError(ctx, kName, ns.message());
      return kExitNotFound;
    }
    interval = "0";
  }
  if (const char* old = std::getenv("LD_PRELOAD"); old != nullptr && *old != '\0') {
    preload += std::string(":") + old;
  }
  ::setenv("CAIRN_CKPT_DIR", dir.c_str(), 1);
  ::setenv("CAIRN_CKPT_INTERVAL", interval.c_str(), 1);
  ::setenv("CAIRN_COMPRESS", compress.c_str(), 1);
  ::setenv("CAIRN_KEEP", keep.c_str(), 1);
  ::setenv("CAIRN_INCREMENTAL", incremental.c_str(), 1);
  ::setenv("CAIRN_CKPT_FORK", args.Has("fork") ? "1" : "0", 1);
  ::setenv("CAIRN_LEVELS", levels ? "1" : "0", 1);
  // Periodic checkpoints of a tree run `cairn checkpoint` (preload/interval_round.h).
  char self[4096];
  if (ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1); n > 0) {
    self[n] = '\0';
    ::setenv("CAIRN_BIN", self, 1);
  }
  // The program keeps this pid across the exec: its descendants are told apart by it.
  ::setenv("CAIRN_LAUNCH_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LD_PRELOAD", preload.c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : prog) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ctx.out.flush();
  ctx.err.flush();
  ::execvp(argv[0], argv.data());
  const int e = errno;
  PrintError(ctx, kName, "cannot execute '" + prog[0] + "': " + std::strerror(e));
  return kExitNotFound;
}

}  // namespace

const Command& LaunchCommand() {
  static const Command kCommand{
      kName,
      "Run an unmodified program under transparent checkpointing",
      "[--ckpt-dir DIR] [--interval SECONDS] [--compress none|zstd] [--keep N] [--incremental K] "
      "[--fork] [--mpi "
      "[--mpi-abi ompi|mpich]] [--node N --nodes M --job-dir DIR [--node-address HOST]] "
      "[--config FILE [--name NAME]] -- "
      "PROGRAM [ARGS...]",
      "Runs PROGRAM (a dynamically linked executable, found on PATH) with\n"
      "libcairn_preload.so preloaded, so that `cairn checkpoint --ckpt-dir DIR` (or the\n"
      "interval timer) can write an image of the whole process, all threads included,\n"
      "without changes to the program. Images are written to DIR as\n"
      "<program>-<pid>.v<N>.cimg; the newest N (--keep, default 2) are kept.\n"
      "The control sockets live in DIR/.cairn. PROGRAM replaces this process: it keeps\n"
      "its pid, stdin, stdout and stderr. Put '--' before PROGRAM if it takes options.\n"
      "With --fork a checkpoint stops the threads only until a child process has been\n"
      "forked (and shared memory copied); the child writes the image from its\n"
      "copy-on-write snapshot while the program runs on.\n"
      "With --mpi (as `mpirun -np N cairn launch --mpi ...`), each rank runs as a split\n"
      "process: the MPI library is a lower half that is never saved, and the program's\n"
      "MPI calls go through cairn's shim for its MPI (detected; or --mpi-abi). Rank 0\n"
      "starts the job's coordinator; `cairn checkpoint --ckpt-dir DIR` then checkpoints\n"
      "every rank consistently and `mpirun -np N cairn restart --mpi --ckpt-dir DIR`\n"
      "restarts the job under a new launcher (docs/mpi.md).\n"
      "With --node N --nodes M --job-dir JOB, PROGRAM is node N's part of a job whose\n"
      "processes run on M nodes (any processes, talking over TCP), each node under its\n"
      "own `cairn launch --node` with a node-local --ckpt-dir. Node 0 starts the job's\n"
      "coordinator in JOB (a directory every node sees), every node an agent\n"
      "(`cairn node-agent`); `cairn checkpoint --ckpt-dir JOB` then checkpoints every\n"
      "node together, and `cairn restart --node N --nodes M --job-dir JOB --ckpt-dir DIR`\n"
      "on each node restarts the job, also on nodes with other addresses\n"
      "(README: Jobs on several nodes).\n"
      "With --config FILE (the library's INI keys and CAIRN_* overrides) the images go to\n"
      "node-local <scratch>/NAME (NAME: --name, default the program's name) instead of\n"
      "--ckpt-dir, and after each checkpoint the node's backend copies it to\n"
      "<persistent>/NAME in the background, at low priority; scratch_versions and\n"
      "max_versions bound what each level keeps, compress=zstd compresses the images.\n"
      "With --node N too, node N's images go to <scratch>/NAME.node<N>, and its agent\n"
      "has the node's backend flush each commit to <persistent>/NAME.node<N>.\n"
      "With --mpi too (every rank on one node for now), each commit of the job's\n"
      "coordinator is flushed, and `mpirun -np N cairn restart --mpi --config FILE --name\n"
      "NAME` restarts from the newest checkpoint that verifies on scratch or persistent.\n"
      "With --incremental K, an image after the first holds only the pages written since\n"
      "the one before (Linux >= 6.7: userfaultfd write protection and PAGEMAP_SCAN), and\n"
      "every K-th is full again; a restart reads the chain back to its full image, and\n"
      "retention keeps every image a kept one needs (docs/image-format.md: PARENT).\n"
      "The library is found through $CAIRN_PRELOAD_LIB, beside the cairn binary, or in\n"
      "../lib relative to it.\n",
      WithLevelOptions(WithNodeOptions(
          {{"ckpt-dir", "DIR", "where images are written (default: the current directory)"},
           {"interval", "SECONDS", "also checkpoint every SECONDS seconds (default 0: never)"},
           {"compress", "none|zstd", "compress page data (zstd: 2 threads; default none)"},
           {"keep", "N", "keep the newest N images of the process (default 2)"},
           {"incremental", "K",
            "incremental images, a full one every K checkpoints (default 0: all full)"},
           {"fork", nullptr,
            "write images from a forked child: the program pauses only for the fork"},
           {"mpi", nullptr, "the program is an MPI rank: split process (docs/mpi.md)"},
           {"mpi-abi", "ompi|mpich", "with --mpi: the program's MPI (default: detected)"}})),
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
