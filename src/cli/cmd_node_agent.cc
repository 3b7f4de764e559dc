// `cairn node-agent`: the agent of one node of a job spread over several nodes
// (tree/node_agent.h). `cairn launch --node` and `cairn restart --node` start it (--daemon);
// it joins the job's coordinator and checkpoints the node's process tree in its rounds.
#include <signal.h>

#include <string>

#include "cli/command.h"
#include "cli/daemon.h"
#include "common/log.h"
#include "job/node_launch.h"
#include "transparent/naming.h"
#include "tree/node_agent.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "node-agent";

int Run(const Args& args, Context& ctx) {
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  tree::NodeAgentOptions o;
  o.node_dir = args.Get("ckpt-dir").value_or("");
  o.job_dir = args.Get("job-dir").value_or("");
  if (o.node_dir.empty() || o.job_dir.empty() || o.node_dir[0] != '/' || o.job_dir[0] != '/') {
    PrintError(ctx, kName, "--ckpt-dir DIR and --job-dir DIR (absolute paths) are required");
    return kExitUsage;
  }
  const std::optional<long> node = WholeNumber(args.Get("node").value_or(""), 0, 1000000);
  const std::optional<long> keep = WholeNumber(args.Get("keep").value_or("2"), 1, 1000000);
  const std::optional<long> watch = WholeNumber(args.Get("watch-pid").value_or("0"), 0, 1L << 30);
  if (!node || !keep || !watch) {
    PrintError(ctx, kName,
               "--node N (required), --keep N (>= 1) and --watch-pid PID take whole numbers");
    return kExitUsage;
  }
  o.node = static_cast<int>(*node);
  o.keep = static_cast<int>(*keep);
  o.watch_pid = static_cast<int>(*watch);
  o.job_key = job::NodeJobKey(o.job_dir);
  o.backend_binary = ExecutablePath();
  o.env = ctx.env;
  Status st = ctx.env->CreateDirs(transparent::naming::ControlDir(o.node_dir));
  if (!st.ok()) {
    PrintError(ctx, kName, st.ToString());
    return ExitCodeFor(st);
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto serve = [&] {
    Status done = tree::RunNodeAgent(o);
    if (!done.ok()) log::Error("node agent ", o.node, ": ", done.ToString());
    return done.ok() ? kExitOk : ExitCodeFor(done);
  };
  if (!args.Has("daemon")) {
    const int rc = serve();
    if (rc != kExitOk) PrintError(ctx, kName, "the agent ended with an error (see the log)");
    return rc;
  }
  return RunAsDaemon(
      ctx, kName, transparent::naming::NodeAgentLog(o.node_dir),
      [&]() -> Result<std::string> {
        return "for node " + std::to_string(o.node) + " of '" + o.job_dir + "'";
      },
      serve);
}

}  // namespace

const Command& NodeAgentCommand() {
  static const Command kCommand{
      kName,
      "Serve one node of a job spread over several nodes (started by launch/restart --node)",
      "--ckpt-dir DIR --job-dir DIR --node N [--keep N] [--watch-pid PID] [--daemon]",
      "The agent of node N of a job whose processes run on several nodes, each under\n"
      "`cairn launch --node N` with its own node-local --ckpt-dir. It joins the job's\n"
      "coordinator (JOB-DIR/.cairn/coordinator, started by node 0) and, in each of its\n"
      "checkpoint rounds, stops every process of the node's tree, writes their images and\n"
      "DIR/job.v<N>.manifest, and resumes them once the coordinator has committed the\n"
      "round in JOB-DIR. It ends when PID is gone and no process of DIR runs. `cairn\n"
      "launch --node` and `cairn restart --node` start it; run it by hand only to debug.\n",
      {{"ckpt-dir", "DIR", "the node's checkpoint directory (absolute)"},
       {"job-dir", "DIR", "the job directory every node sees (absolute)"},
       {"node", "N", "this node's number (0..nodes-1)"},
       {"keep", "N", "node manifests kept after a commit (default 2)"},
       {"watch-pid", "PID", "the node's launched program or `cairn restart`"},
       {"daemon", nullptr, "run in the background; the log goes to DIR/.cairn/node-agent.log"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
