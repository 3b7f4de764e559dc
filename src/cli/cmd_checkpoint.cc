// `cairn checkpoint`: one consistent checkpoint of every process launched with `cairn launch
// --ckpt-dir DIR` and of every descendant it followed (tree/round.h drives the round over the
// control sockets DIR/.cairn/<pid>.sock; the process's side: the preload library's
// control.h). One process without children writes a single-process image; a tree writes an
// image per process and commits DIR/job.v<N>.manifest. The command waits for the commit and
// prints one image path per line (stdout), then, for a tree, the manifest's path; any
// failure makes the exit status 1 and leaves the previous checkpoint the newest.
//
// Coordinated jobs: when DIR/.cairn/coordinator exists (coord/address_file.h) and its
// coordinator accepts the connection, the request goes to the coordinator instead
// (CHECKPOINT {token, kill}, coord/protocol.h); the command waits (bounded by --timeout,
// else by the coordinator's ACCEPTED timeout_ms) for DONE, which only comes after the job
// manifest is committed, and prints the manifest, version, participants and bytes. A file
// nobody answers at is reported as stale, and the control sockets are used if any is live.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/level_options.h"
#include "coord/address_file.h"
#include "coord/protocol.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"
#include "transparent/naming.h"
#include "tree/levels.h"
#include "tree/round.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "checkpoint";

constexpr int kCoordConnectTimeoutMs = 5000;
constexpr int kCoordAcceptTimeoutMs = 10000;
constexpr int kCoordMarginMs = 5000;

// Receives one message within timeout_ms, or a Status saying what went wrong.
Result<ipc::Message> ReceiveWithin(int fd, int timeout_ms) {
  auto ready = ipc::WaitReadable(fd, timeout_ms);
  if (!ready.ok()) return ready.status();
  if (!ready.value()) {
    return Status::Unavailable("no answer from the coordinator within " +
                               std::to_string((timeout_ms + 999) / 1000) + " s");
  }
  auto in = ipc::RecvMessage(fd);
  if (!in.ok()) {
    return Status::Unavailable("the coordinator closed the connection (" + in.status().message() +
                               ")");
  }
  if (in.value().fd >= 0) ::close(in.value().fd);
  return std::move(in.value().msg);
}

// The coordinated checkpoint. Returns the exit code, or nullopt when no coordinator
// answers at the address in the file (after saying so on ctx.err).
std::optional<int> CheckpointThroughCoordinator(const coord::CoordinatorAddress& a, bool kill,
                                                std::optional<int> timeout_s, Context& ctx) {
  const std::string where = a.host + ":" + std::to_string(a.port);
  auto stale = [&](const std::string& why) {
    PrintError(ctx, kName, "no coordinator answers at " + where + " (stale file?): " + why);
    return std::nullopt;
  };
  auto fd = ipc::TcpConnect(a.host, a.port, kCoordConnectTimeoutMs);
  if (!fd.ok()) return stale(fd.status().message());
  (void)ipc::SetIoTimeout(fd.value(), kCoordAcceptTimeoutMs);
  ipc::Message req(coord::kCheckpoint);
  req.Add(coord::kFToken, a.token).Add(coord::kFKill, kill ? 1LL : 0LL);
  Status st = ipc::SendMessage(fd.value(), req);
  if (!st.ok()) {
    ::close(fd.value());
    return stale(st.message());
  }
  auto first = ReceiveWithin(fd.value(), kCoordAcceptTimeoutMs);
  if (!first.ok()) {
    ::close(fd.value());
    return stale(first.status().message());
  }
  if (first.value().type() == coord::kRefused) {
    ::close(fd.value());
    return stale("refused: " + first.value().GetOr(coord::kFMessage, "?"));
  }
  Result<ipc::Message> done = first;
  if (first.value().type() == coord::kAccepted) {
    const long long bound =
        timeout_s ? *timeout_s * 1000LL
                  : first.value().GetInt(coord::kFTimeoutMs, 4LL * 60000) + kCoordMarginMs;
    done = ReceiveWithin(fd.value(), static_cast<int>(std::min<long long>(bound, INT32_MAX)));
  }
  ::close(fd.value());
  if (!done.ok()) {
    PrintError(ctx, kName, "coordinator at " + where + ": " + done.status().message());
    return kExitFailed;
  }
  const ipc::Message& m = done.value();
  if (m.type() != coord::kDone) {
    PrintError(ctx, kName, "coordinator at " + where + ": unexpected reply " + m.type());
    return kExitFailed;
  }
  if (m.GetInt(coord::kFCode, -1) != 0) {
    PrintError(ctx, kName, "checkpoint failed: " + m.GetOr(coord::kFMessage, "no reason given"));
    return kExitFailed;
  }
  const long long bytes = m.GetInt(coord::kFBytes, 0);
  PrintTable(ctx.out,
             {{"manifest", m.GetOr(coord::kFManifest, "?")},
              {"version", m.GetOr(coord::kFVersion, "?")},
              {"participants", m.GetOr(coord::kFParticipants, "?")},
              {"bytes", std::to_string(bytes) + " (" +
                            HumanSize(static_cast<uint64_t>(std::max(0LL, bytes))) + ")"}});
  return kExitOk;
}

// Launched with --config: the node's backend copies the committed checkpoint to persistent
// (with `wait`, until it is there). Nothing to do otherwise.
int FlushLevels(const std::string& dir, bool wait, Context& ctx) {
  auto levels = tree::LoadLevels(dir, ctx.env);
  if (!levels.ok() || levels.value().persistent.empty()) return kExitOk;
  Status st = tree::RequestFlush(levels.value(), ExecutablePath(), wait, ctx.env);
  if (!st.ok()) {
    PrintError(ctx, kName,
               "the checkpoint is committed on scratch, but not on persistent: " + st.message());
    return kExitNotFound;
  }
  ctx.err << "cairn checkpoint: " << (wait ? "on persistent: " : "flushing to ")
          << levels.value().persistent << "\n";
  return kExitOk;
}

int Run(const Args& args, Context& ctx) {
  auto dir_opt = args.Get("ckpt-dir");
  Config level_cfg;
  std::string level_dir, level_err;
  if (ParseLevelDir(args, "", &level_dir, &level_cfg, &level_err)) dir_opt = level_dir;
  if (!level_err.empty()) {
    PrintError(ctx, kName, level_err);
    return kExitUsage;
  }
  if (!dir_opt || dir_opt->empty()) {
    PrintError(ctx, kName, "--ckpt-dir DIR (or --config FILE --name NAME) is required");
    return kExitUsage;
  }
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  int timeout_s = 600;
  std::optional<int> timeout_given;
  if (auto t = args.Get("timeout")) {
    if (!WholeNumber(*t, 0, 9999999)) {
      PrintError(ctx, kName, "--timeout must be a whole number of seconds, got '" + *t + "'");
      return kExitUsage;
    }
    timeout_s = std::stoi(*t);
    timeout_given = timeout_s;
  }
  const bool wait = args.Has("wait");
  const bool kill = args.Has("kill");
  auto coordinator = coord::ReadAddressFile(*dir_opt, ctx.env);
  if (coordinator.ok()) {
    auto rc = CheckpointThroughCoordinator(coordinator.value(), kill, timeout_given, ctx);
    // The coordinator asks for the flush of a job launched with --config after each commit;
    // --wait also waits until the checkpoint is on persistent.
    if (rc && *rc == kExitOk && wait) return FlushLevels(*dir_opt, true, ctx);
    if (rc) return *rc;
  } else if (coordinator.status().code() != Code::kNotFound) {
    PrintError(ctx, kName, "ignoring the coordinator: " + coordinator.status().message());
  }
  const std::string sock_dir = transparent::naming::ControlDir(*dir_opt);
  if (!ctx.env->Exists(sock_dir)) {
    PrintError(ctx, kName, "no launched process found: no '" + sock_dir + "'");
    return kExitNotFound;
  }
  tree::RoundOptions o;
  o.dir = *dir_opt;
  o.kill = kill;
  o.timeout_ms = timeout_s * 1000;
  o.env = ctx.env;
  auto r = tree::CheckpointJob(o);
  // Nobody answers, but a lineage is locked: a restart is still loading its image (it takes
  // the lock before, and opens its socket after). Wait for it rather than fail.
  if (!r.ok() && r.status().code() == Code::kNotFound &&
      tree::HeldLineageLocks(*dir_opt, ctx.env) > 0) {
    ctx.err << "cairn checkpoint: a restart is still loading; waiting for it\n";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!r.ok() && r.status().code() == Code::kNotFound &&
           std::chrono::steady_clock::now() < deadline &&
           tree::HeldLineageLocks(*dir_opt, ctx.env) > 0) {
      ::usleep(50 * 1000);
      r = tree::CheckpointJob(o);
    }
  }
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) {
      PrintError(ctx, kName, "no running process under '" + *dir_opt + "'");
      return kExitNotFound;
    }
    PrintError(ctx, kName, "checkpoint failed: " + r.status().message());
    return kExitFailed;
  }
  for (const std::string& image : r.value().images) ctx.out << image << "\n";
  if (!r.value().single) ctx.out << r.value().manifest << "\n";
  return FlushLevels(*dir_opt, wait, ctx);
}

}  // namespace

const Command& CheckpointCommand() {
  static const Command kCommand{
      kName,
      "Checkpoint the programs started with 'cairn launch'",
      "(--ckpt-dir DIR | --config FILE --name NAME) [--wait] [--kill] [--timeout SECONDS]",
      "Checkpoints the job launched with `cairn launch --ckpt-dir DIR`: the launched\n"
      "program and every process descended from it. All of them stop, the data in flight\n"
      "between them is saved, each writes its image to DIR, and, for more than one\n"
      "process, DIR/job.v<N>.manifest commits the images together. The command waits for\n"
      "the commit (--wait is accepted and implied) and prints each image path, then the\n"
      "manifest's; the exit status is 1 if the checkpoint failed (nothing is committed,\n"
      "the processes go on). --kill ends every process once the checkpoint is committed.\n"
      "A process that `cairn restart` is still loading is waited for (up to --timeout)\n"
      "instead of being missed.\n"
      "\n"
      "When the job has a coordinator ('cairn coordinator', DIR/.cairn/coordinator), the\n"
      "request goes to it: every participant writes its image and the coordinator commits\n"
      "DIR/job.v<N>.manifest. The command always waits for that commit (--wait is implied)\n"
      "and prints the manifest, version, participants and bytes; the exit status is 1\n"
      "with the coordinator's reason if the checkpoint was aborted. Without --timeout it\n"
      "waits as long as the coordinator's own timeouts allow.\n"
      "\n"
      "A job launched with --config FILE is named by --config FILE --name NAME (or its\n"
      "directory <scratch>/NAME): after the commit on scratch the node's backend copies the\n"
      "checkpoint to <persistent>/NAME; with --wait the command returns once it is there\n"
      "(exit status 3 if it cannot be: the checkpoint stays committed on scratch).\n",
      WithLevelOptions(
          {{"ckpt-dir", "DIR", "the directory given to 'cairn launch'"},
           {"wait", nullptr,
            "with --config: also wait until the checkpoint is on persistent (the commit is "
            "always waited for)"},
           {"kill", nullptr, "end the processes after their images are committed"},
           {"timeout", "SECONDS",
            "give up after SECONDS (default 600; coordinator: its own bound)"}}),
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
