// `cairn coordinator`: runs the checkpoint coordinator of one job (coord/coordinator.h)
// until every participant that joined has left, or SIGINT/SIGTERM/SIGHUP.
// --daemon: forks, the child leaves the session (setsid), stdin/stdout go to /dev/null and
// stderr (the log) to DIR/.cairn/coordinator.log; the parent returns 0 once the child
// has written the address file, or prints the child's error and fails.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/daemon.h"
#include "cli/node_options.h"
#include "common/log.h"
#include "coord/address_file.h"
#include "coord/coordinator.h"
#include "coord/manifest.h"
#include "transparent/naming.h"
#include "tree/levels.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "coordinator";

// A whole number in [lo, hi] from option `name`, or an error message.
bool ParseCount(const Args& args, const char* name, long lo, long hi, long* out, std::string* err) {
  auto v = args.Get(name);
  if (!v) return true;
  if (!WholeNumber(*v, lo, hi)) {
    *err = std::string("--") + name + " must be a whole number in " + std::to_string(lo) + ".." +
           std::to_string(hi) + ", got '" + *v + "'";
    return false;
  }
  *out = std::stol(*v);
  return true;
}

// Runs `c` until it finishes or a termination signal arrives (the signals are blocked in
// every thread, so they are only taken here).
void Serve(coord::Coordinator& c, const sigset_t& sigs) {
  while (!c.Finished()) {
    timespec ts{0, 200 * 1000 * 1000};
    int sig = ::sigtimedwait(&sigs, nullptr, &ts);
    if (sig > 0) {
      log::Info("coordinator: signal ", sig, ": stopping");
      break;
    }
  }
  c.Stop();
}

int Run(const Args& args, Context& ctx) {
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  auto dir = args.Get("ckpt-dir");
  auto job = args.Get("job");
  if (!dir || dir->empty()) {
    PrintError(ctx, kName, "--ckpt-dir DIR is required");
    return kExitUsage;
  }
  if (!args.Has("participants")) {
    PrintError(ctx, kName, "--participants N is required");
    return kExitUsage;
  }
  if (!job || job->empty()) {
    PrintError(ctx, kName, "--job KEY is required");
    return kExitUsage;
  }
  coord::CoordinatorOptions o;
  o.dir = AbsolutePath(*dir);
  o.job_key = *job;
  long participants = 0, timeout_s = 60, join_s = 120, keep = 2, port = 0, interval_s = 0,
       watch_pid = 0;
  std::string err;
  if (!ParseCount(args, "participants", 1, 1000000, &participants, &err) ||
      !ParseCount(args, "timeout", 1, 86400, &timeout_s, &err) ||
      !ParseCount(args, "join-timeout", 1, 86400, &join_s, &err) ||
      !ParseCount(args, "keep", 0, 1000000, &keep, &err) ||
      !ParseCount(args, "port", 0, 65535, &port, &err) ||
      !ParseCount(args, "interval", 0, 1L << 30, &interval_s, &err) ||
      !ParseCount(args, "watch-pid", 0, 1L << 30, &watch_pid, &err)) {
    PrintError(ctx, kName, err);
    return kExitUsage;
  }
  o.participants = static_cast<int>(participants);
  o.phase_timeout_ms = static_cast<int>(timeout_s * 1000);
  o.join_timeout_ms = static_cast<int>(join_s * 1000);
  o.keep = static_cast<int>(keep);
  o.port = static_cast<int>(port);
  o.interval_ms = static_cast<int64_t>(interval_s) * 1000;
  o.watch_pid = static_cast<int>(watch_pid);
  if (auto b = args.Get("bind")) o.bind_host = *b;
  if (auto a = args.Get("advertise")) o.advertise_host = *a;
  if (auto k = args.Get("kind")) {
    if (*k != "mpi" && *k != "nodes") {
      PrintError(ctx, kName, "--kind must be mpi or nodes, got '" + *k + "'");
      return kExitUsage;
    }
    o.kind = *k;
  }
  o.env = ctx.env;
  // A job launched with --config (tree/levels.h): each commit is flushed to persistent by the
  // node's backend, and versions go on from the newest there (a restart from persistent).
  if (auto levels = tree::LoadLevels(o.dir, ctx.env);
      levels.ok() && !levels.value().persistent.empty()) {
    o.first_version = tree::FirstVersion(levels.value(), ctx.env);
    o.on_commit = [l = levels.value(), bin = ExecutablePath()](const std::string& manifest) {
      if (Status fs = tree::RequestFlush(l, bin, false); !fs.ok()) {
        log::Warn("coordinator: ", manifest, " is committed on scratch but not flushed to ",
                  l.persistent, ": ", fs.ToString());
      }
    };
  }
  Status st = ctx.env->CreateDirs(transparent::naming::ControlDir(o.dir));
  if (!st.ok()) {
    PrintError(ctx, kName, st.ToString());
    return ExitCodeFor(st);
  }

  // Termination signals are taken by Serve() only; the coordinator thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);

  if (!args.Has("daemon")) {
    ::pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    auto c = coord::Coordinator::Start(o);
    if (!c.ok()) {
      PrintError(ctx, kName, c.status().ToString());
      return ExitCodeFor(c.status());
    }
    const auto& a = c.value()->address();
    ctx.out << "cairn coordinator for job '" << a.job_key << "' (" << o.participants
            << " participants) on " << a.host << ":" << a.port << ", address file "
            << coord::AddressFilePath(o.dir) << "\n";
    ctx.out.flush();
    Serve(*c.value(), sigs);
    return kExitOk;
  }

  std::unique_ptr<coord::Coordinator> c;
  return RunAsDaemon(
      ctx, kName, transparent::naming::CoordinatorLog(o.dir),
      [&]() -> Result<std::string> {
        ::pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
        auto started = coord::Coordinator::Start(o);
        if (!started.ok()) return started.status();
        c = std::move(started.value());
        const auto& a = c->address();
        return "on " + a.host + ":" + std::to_string(a.port) + ", address file " +
               coord::AddressFilePath(o.dir);
      },
      [&] {
        Serve(*c, sigs);
        return kExitOk;
      });
}

}  // namespace

const Command& CoordinatorCommand() {
  static const Command kCommand{
      kName,
      "Run the checkpoint coordinator of one job",
      "--ckpt-dir DIR --participants N --job KEY [--bind HOST] [--advertise HOST] [--port PORT]"
      " [--kind mpi|nodes] [--timeout S] [--join-timeout S] [--keep N] [--daemon]",
      "Coordinates consistent checkpoints of a job whose N participants (e.g. MPI ranks\n"
      "started with 'cairn launch') connect to it over TCP. It listens on HOST (default\n"
      "every interface) and writes its address, a random token and the job key to\n"
      "DIR/.cairn/coordinator (mode 0600). 'cairn checkpoint --ckpt-dir DIR' then asks\n"
      "it for a checkpoint: every participant prepares, quiesces and writes its image,\n"
      "and the coordinator commits DIR/job.v<N>.manifest naming every image, keeping the\n"
      "newest --keep manifests (and their images). A participant that fails, leaves or\n"
      "does not answer a phase within --timeout seconds aborts that checkpoint; the\n"
      "previous manifest stays the newest valid one. The coordinator exits when every\n"
      "participant that joined has left, or on SIGINT/SIGTERM/SIGHUP.\n",
      {{"ckpt-dir", "DIR", "the job's checkpoint directory (required)"},
       {"participants", "N", "the number of participants (ranks) of the job (required)"},
       {"job", "KEY", "the job's identity, as the launcher gives it to the ranks (required)"},
       {"bind", "HOST", "the address to listen on (default 0.0.0.0: every interface)"},
       {"advertise", "HOST",
        "address for participants (default: --bind, else first non-loopback IPv4)"},
       {"port", "PORT", "the TCP port (default 0: any free port)"},
       {"kind", "mpi|nodes",
        "mpi: the participants are ranks (default); nodes: node agents of a process tree on "
        "several nodes"},
       {"timeout", "S", "seconds each phase of a checkpoint may take (default 60)"},
       {"join-timeout", "S",
        "seconds a checkpoint waits for all participants to join (default 120)"},
       {"keep", "N", "manifests to keep after a commit (default 2; 0 keeps all)"},
       {"interval", "S", "also checkpoint every S seconds once every participant joined"},
       {"watch-pid", "PID",
        "finish once PID (the launcher's rank 0) is gone and no participant is connected"},
       {"daemon", nullptr,
        "detach (log: DIR/.cairn/coordinator.log) once the address file exists"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
