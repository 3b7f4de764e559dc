// `cairn backend`: runs the node-local async backend (backend/server.h).
#include <fcntl.h>
#include <unistd.h>

#include "backend/server.h"
#include "cli/command.h"
#include "common/log.h"
#include "config/config.h"
#include "ipc/identity.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "backend";

int Run(const Args& args, Context& ctx) {
  auto path = args.Get("config");
  if (!path) {
    PrintError(ctx, kName, "--config FILE is required");
    return kExitUsage;
  }
  // --resolved: the file was written by a client with every value already resolved;
  // the environment must not change it (the key depends on it).
  Result<Config> cfg = Status::Internal("unset");
  if (args.Has("resolved")) {
    auto text = ctx.env->NewRandomAccessFile(*path);
    if (!text.ok()) {
      PrintError(ctx, kName, text.status().ToString());
      return kExitNotFound;
    }
    std::string body(text.value()->size(), '\0');
    Status st = text.value()->ReadAt(0, body.data(), body.size());
    if (!st.ok()) {
      PrintError(ctx, kName, st.ToString());
      return kExitNotFound;
    }
    cfg = ParseConfig(body, *path, /*apply_env=*/false);
  } else {
    cfg = LoadConfig(*path);
  }
  if (!cfg.ok()) {
    PrintError(ctx, kName, cfg.status().ToString());
    return kExitUsage;
  }
  if (auto t = args.Get("idle-timeout")) {
    try {
      cfg.value().backend_idle_timeout = std::stoi(*t);
    } catch (const std::exception&) {
      PrintError(ctx, kName, "--idle-timeout wants a number of seconds");
      return kExitUsage;
    }
  }
  auto dir = ipc::RuntimeDir();
  if (!dir.ok()) {
    PrintError(ctx, kName, dir.status().ToString());
    return kExitNotFound;
  }
  backend::ServerOptions o;
  o.config = cfg.value();
  o.job_id = ipc::JobId();
  o.paths = ipc::PathsFor(dir.value(), ipc::BackendKey(o.job_id, SerializeConfig(o.config)));
  if (args.Has("daemon")) {
    // Detach: the parent returns at once (the spawning client reaps it), the child
    // leaves the session so that killing the job's process group spares it.
    pid_t pid = ::fork();
    if (pid < 0) {
      PrintError(ctx, kName, "fork failed");
      return kExitNotFound;
    }
    if (pid > 0) return kExitOk;
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int logfd = ::open(o.paths.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
    }
    if (logfd >= 0) ::dup2(logfd, 2);
    log::Reconfigure();
  } else {
    ctx.out << "cairn backend " << o.paths.key << " for job '" << o.job_id << "' on "
            << o.paths.socket << "\n";
    ctx.out.flush();
  }
  return backend::RunServer(o) == 0 ? kExitOk : kExitNotFound;
}

}  // namespace

const Command& BackendCommand() {
  static const Command kCommand{
      kName,
      "Run the node-local async backend (normally started automatically)",
      "--config FILE [--daemon] [--idle-timeout SECONDS]",
      "Runs the backend that persists async-mode checkpoints for one user, job and\n"
      "configuration on this node: it receives staged checkpoints from the ranks over a\n"
      "Unix socket in a private runtime directory ($XDG_RUNTIME_DIR or /tmp, then\n"
      "cairn-<uid>, mode 0700), writes them to scratch with checksums, copies them to\n"
      "persistent storage and applies retention, at lowered CPU and I/O priority.\n"
      "Clients start one automatically on first use; start it yourself (with the job's\n"
      "configuration and job id in the environment) to have it ready before the job.\n"
      "It exits after backend_idle_timeout seconds without clients or work.\n",
      {{"config", "FILE", "the configuration file (VeloC format)"},
       {"resolved", nullptr, "FILE is a resolved configuration written by a client"},
       {"daemon", nullptr, "detach from the terminal and the job's session"},
       {"idle-timeout", "SECONDS", "override backend_idle_timeout"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
