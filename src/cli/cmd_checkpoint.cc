// `cairn checkpoint`: asks every process launched with `cairn launch --ckpt-dir DIR` to write
// an image now, through the control sockets DIR/.cairn/<pid>.sock (protocol: the preload
// library's control.h). Sockets nobody listens on (a process that died) are skipped.
// With --wait, waits for every DONE and prints one image path per line (stdout); any
// failure makes the exit status 1.
//
// Coordinated jobs: when DIR/.cairn/coordinator exists (coord/address_file.h) and its
// coordinator accepts the connection, the request goes to the coordinator instead
// (CHECKPOINT {token, kill}, coord/protocol.h); the command waits (bounded by --timeout,
// else by the coordinator's ACCEPTED timeout_ms) for DONE, which only comes after the job
// manifest is committed (--wait is implied), and prints the manifest, version,
// participants and bytes. A file nobody answers at is reported as stale, and the
// per-process path above is used if any control socket is live.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "coord/address_file.h"
#include "coord/protocol.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"
#include "transparent/procfs.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "checkpoint";

constexpr int kCoordConnectTimeoutMs = 5000;
constexpr int kCoordAcceptTimeoutMs = 10000;
constexpr int kCoordMarginMs = 5000;

struct Target {
  std::string sock;
  int fd = -1;
};

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

// Sends CHECKPOINT to every control socket of `sock_dir` that accepts a connection.
std::vector<Target> RequestAll(const std::string& sock_dir, bool kill, Env* env) {
  std::vector<Target> targets;
  auto names = env->ListDir(sock_dir);
  if (!names.ok()) return targets;
  std::sort(names.value().begin(), names.value().end());
  for (const auto& n : names.value()) {
    if (n.size() <= 5 || n.substr(n.size() - 5) != ".sock") continue;
    Target t{JoinPath(sock_dir, n), -1};
    auto fd = ipc::Connect(t.sock);
    if (!fd.ok()) continue;  // stale: the process is gone
    ipc::Message m("CHECKPOINT");
    m.Add("kill", kill ? 1LL : 0LL);
    Status st = ipc::SendMessage(fd.value(), m);
    if (!st.ok()) {
      ::close(fd.value());
      continue;  // died meanwhile
    }
    t.fd = fd.value();
    targets.push_back(t);
  }
  return targets;
}

// Whether a process holds one of the lineage locks (*.lock) of `sock_dir`: a running program,
// or a `cairn restart` loading its image (transparent/preload/control.h).
bool LineageLocked(const std::string& sock_dir, Env* env) {
  auto names = env->ListDir(sock_dir);
  if (!names.ok()) return false;
  const auto held = transparent::HeldFlocks();
  for (const auto& n : names.value()) {
    if (n.size() <= 5 || n.substr(n.size() - 5) != ".lock") continue;
    auto st = env->Stat(JoinPath(sock_dir, n));
    if (st.ok() && held.count({st.value().device, st.value().inode}) != 0) return true;
  }
  return false;
}

int Run(const Args& args, Context& ctx) {
  auto dir_opt = args.Get("ckpt-dir");
  if (!dir_opt || dir_opt->empty()) {
    PrintError(ctx, kName, "--ckpt-dir DIR is required");
    return kExitUsage;
  }
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  int timeout_s = 600;
  std::optional<int> timeout_given;
  if (auto t = args.Get("timeout")) {
    if (t->empty() || t->find_first_not_of("0123456789") != std::string::npos || t->size() > 7) {
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
    if (rc) return *rc;
  } else if (coordinator.status().code() != Code::kNotFound) {
    PrintError(ctx, kName, "ignoring the coordinator: " + coordinator.status().message());
  }
  const std::string sock_dir = JoinPath(*dir_opt, ".cairn");
  if (!ctx.env->Exists(sock_dir)) {
    PrintError(ctx, kName, "no launched process found: no '" + sock_dir + "'");
    return kExitNotFound;
  }
  std::vector<Target> targets = RequestAll(sock_dir, kill, ctx.env);
  // None answers, but a lineage is locked: a restart is still loading its image (it takes
  // the lock before, and opens its socket after). Wait for it rather than fail.
  if (targets.empty() && LineageLocked(sock_dir, ctx.env)) {
    ctx.err << "cairn checkpoint: a restart is still loading; waiting for it\n";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (targets.empty() && std::chrono::steady_clock::now() < deadline &&
           LineageLocked(sock_dir, ctx.env)) {
      ::usleep(50 * 1000);
      targets = RequestAll(sock_dir, kill, ctx.env);
    }
  }
  if (targets.empty()) {
    PrintError(ctx, kName, "no running process under '" + *dir_opt + "'");
    return kExitNotFound;
  }
  int rc = kExitOk;
  for (auto& t : targets) {
    if (wait) {
      auto ready = ipc::WaitReadable(t.fd, timeout_s * 1000);
      Result<ipc::Received> in =
          Status::Unavailable("no answer within " + std::to_string(timeout_s) + " s");
      if (ready.ok() && ready.value()) in = ipc::RecvMessage(t.fd);
      if (!in.ok()) {
        PrintError(ctx, kName, "'" + t.sock + "': " + in.status().message());
        rc = kExitFailed;
      } else {
        const ipc::Message& m = in.value().msg;
        if (m.type() != "DONE" || m.GetInt("code", -1) != 0) {
          PrintError(ctx, kName,
                     "'" + t.sock + "': checkpoint failed: " +
                         m.GetOr("message", "unexpected reply " + m.type()));
          rc = kExitFailed;
        } else {
          ctx.out << m.GetOr("path", "?") << "\n";
        }
      }
    }
    ::close(t.fd);
  }
  return rc;
}

}  // namespace

const Command& CheckpointCommand() {
  static const Command kCommand{
      kName,
      "Checkpoint the programs started with 'cairn launch'",
      "--ckpt-dir DIR [--wait] [--kill] [--timeout SECONDS]",
      "Asks every live process launched with `cairn launch --ckpt-dir DIR` to write an\n"
      "image of itself to DIR now. Without --wait the request is only sent. With --wait\n"
      "the command waits for each image to be committed and prints its path; the exit\n"
      "status is 1 if any checkpoint failed. --kill ends each process once its image is\n"
      "committed. A process that `cairn restart` is still loading is waited for (up to\n"
      "--timeout) instead of being missed.\n"
      "\n"
      "When the job has a coordinator ('cairn coordinator', DIR/.cairn/coordinator), the\n"
      "request goes to it: every participant writes its image and the coordinator commits\n"
      "DIR/job.v<N>.manifest. The command always waits for that commit (--wait is implied)\n"
      "and prints the manifest, version, participants and bytes; the exit status is 1\n"
      "with the coordinator's reason if the checkpoint was aborted. Without --timeout it\n"
      "waits as long as the coordinator's own timeouts allow.\n",
      {{"ckpt-dir", "DIR", "the directory given to 'cairn launch' (required)"},
       {"wait", nullptr, "wait until the images are committed and print their paths"},
       {"kill", nullptr, "end the processes after their images are committed"},
       {"timeout", "SECONDS",
        "with --wait: give up after SECONDS (default 600; coordinator: its own bound)"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
