// `cairn status`: pending and in-flight work of this user's async backends.
#include <unistd.h>

#include <algorithm>

#include "cli/command.h"
#include "cli/json.h"
#include "cli/transparent_status.h"
#include "ipc/identity.h"
#include "ipc/wire.h"

namespace cairn::cli {
namespace {

constexpr const char* kName = "status";

struct JobRow {
  std::string rank, name, version, stage;
  uint64_t done = 0, total = 0;
};

struct BackendRow {
  std::string key, job, pid, clients;
  std::vector<JobRow> jobs;
};

Result<BackendRow> Query(const std::string& socket) {
  auto fd = ipc::Connect(socket);
  if (!fd.ok()) return fd.status();
  Status st = ipc::SendMessage(fd.value(), ipc::Message("STATUS"));
  Result<ipc::Received> in = Status::Internal("unset");
  if (st.ok()) {
    auto ready = ipc::WaitReadable(fd.value(), 5000);
    in = ready.ok() && ready.value() ? ipc::RecvMessage(fd.value())
                                     : Result<ipc::Received>(Status::Unavailable("no answer"));
  }
  (void)ipc::SendMessage(fd.value(), ipc::Message("BYE"));
  ::close(fd.value());
  if (!st.ok()) return st;
  if (!in.ok()) return in.status();
  const ipc::Message& m = in.value().msg;
  BackendRow b;
  b.key = m.GetOr("key", "?");
  b.job = m.GetOr("job", "");
  b.pid = m.GetOr("pid", "?");
  b.clients = std::to_string(std::max(0LL, m.GetInt("clients", 1) - 1));  // minus this query
  for (const auto& j : m.GetAll("job")) {
    auto f = ipc::SplitFields(j, ':');
    if (f.size() != 6) continue;
    JobRow r{f[0], f[1], f[2], f[3], 0, 0};
    try {
      r.done = std::stoull(f[4]);
      r.total = std::stoull(f[5]);
    } catch (const std::exception&) {
    }
    b.jobs.push_back(r);
  }
  return b;
}

int Run(const Args& args, Context& ctx) {
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  if (auto ckpt = args.Get("ckpt-dir")) {
    if (ckpt->empty()) {
      PrintError(ctx, kName, "--ckpt-dir needs a directory");
      return kExitUsage;
    }
    return RunTransparentStatus(*ckpt, args.Has("json"), ctx);
  }
  auto dir = ipc::RuntimeDir();
  if (!dir.ok()) {
    PrintError(ctx, kName, dir.status().ToString());
    return kExitNotFound;
  }
  auto names = ctx.env->ListDir(dir.value());
  std::vector<BackendRow> rows;
  if (names.ok()) {
    std::sort(names.value().begin(), names.value().end());
    for (const auto& n : names.value()) {
      if (n.size() < 8 || n.compare(0, 2, "b-") != 0 || n.substr(n.size() - 5) != ".sock") continue;
      auto b = Query(dir.value() + "/" + n);
      if (b.ok()) rows.push_back(b.value());  // a stale socket of a dead backend is skipped
    }
  }
  if (args.Has("json")) {
    JsonWriter w(ctx.out);
    w.BeginObject().Key("backends").BeginArray();
    for (const auto& b : rows) {
      w.BeginObject().Field("key", b.key).Field("job", b.job).Field("pid", b.pid);
      w.Field("clients", b.clients).Key("work").BeginArray();
      for (const auto& j : b.jobs) {
        w.BeginObject().Field("rank", j.rank).Field("name", j.name).Field("version", j.version);
        w.Field("stage", j.stage).Field("done", j.done).Field("total", j.total).EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndArray().EndObject();
    w.Finish();
    return kExitOk;
  }
  if (rows.empty()) {
    ctx.out << "no async backend running for this user\n";
    return kExitOk;
  }
  for (const auto& b : rows) {
    ctx.out << "backend " << b.key << "  pid " << b.pid << "  job '" << b.job << "'  clients "
            << b.clients << "  pending " << b.jobs.size() << "\n";
    std::vector<std::vector<std::string>> t{{"RANK", "NAME", "VERSION", "STAGE", "PROGRESS"}};
    for (const auto& j : b.jobs) {
      std::string prog = j.total == 0 ? "-"
                                      : HumanSize(j.done) + " / " + HumanSize(j.total) + " (" +
                                            std::to_string(j.done * 100 / j.total) + "%)";
      t.push_back({j.rank, j.name, j.version, j.stage, prog});
    }
    if (!b.jobs.empty()) PrintTable(ctx.out, t, {0, 2});
  }
  return kExitOk;
}

}  // namespace

const Command& StatusCommand() {
  static const Command kCommand{
      kName,
      "Show async backends' work, or transparently checkpointed processes and images",
      "[--ckpt-dir DIR] [--json]",
      "Without --ckpt-dir: asks every async backend of this user on this node what it is\n"
      "doing: for each backend its job, clients and queue; for each pending checkpoint the\n"
      "rank, name, version, stage (queued, scratch, persistent, retention) and bytes done.\n"
      "With --ckpt-dir DIR: the processes launched (or restarted) with DIR and what they\n"
      "checkpointed (pid, threads, checkpoints taken, last image and its cost), stale\n"
      "control sockets of processes that ended, and the images in DIR, newest first.\n",
      {{"ckpt-dir", "DIR", "show transparent checkpointing in DIR"},
       {"json", nullptr, "print one JSON document"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
