// `cairn checkpoint`: asks every process launched with `cairn launch --ckpt-dir DIR` to write
// an image now, through the control sockets DIR/.cairn/<pid>.sock (protocol: the preload
// library's control.h). Sockets nobody listens on (a process that died) are skipped.
// With --wait, waits for every DONE and prints one image path per line (stdout); any
// failure makes the exit status 1.
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/command.h"
#include "ipc/wire.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "checkpoint";

struct Target {
  std::string sock;
  int fd = -1;
};

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
  if (auto t = args.Get("timeout")) {
    if (t->empty() || t->find_first_not_of("0123456789") != std::string::npos || t->size() > 7) {
      PrintError(ctx, kName, "--timeout must be a whole number of seconds, got '" + *t + "'");
      return kExitUsage;
    }
    timeout_s = std::stoi(*t);
  }
  const bool wait = args.Has("wait");
  const bool kill = args.Has("kill");
  const std::string sock_dir = JoinPath(*dir_opt, ".cairn");
  auto names = ctx.env->ListDir(sock_dir);
  if (!names.ok()) {
    PrintError(ctx, kName, "no launched process found: " + names.status().message());
    return kExitNotFound;
  }
  std::sort(names.value().begin(), names.value().end());
  std::vector<Target> targets;
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
      "committed.\n",
      {{"ckpt-dir", "DIR", "the directory given to 'cairn launch' (required)"},
       {"wait", nullptr, "wait until the images are committed and print their paths"},
       {"kill", nullptr, "end the processes after their images are committed"},
       {"timeout", "SECONDS", "with --wait: give up after SECONDS (default 600)"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
