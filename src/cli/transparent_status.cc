// See transparent_status.h.
#include "cli/transparent_status.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cli/job_manifests.h"
#include "cli/json.h"
#include "ipc/wire.h"
#include "transparent/image.h"
#include "transparent/naming.h"

namespace cairn::cli {
namespace {

struct ProcessRow {
  std::string socket;
  bool alive = false;
  std::string error;  // why it did not answer
  ipc::Message status{"STATUS"};
};

struct ImageRow {
  std::string name, path, program;
  long long pid = 0, version = 0;
  uint64_t size = 0;
  uint64_t mtime_ns = 0;
};

ProcessRow Query(const std::string& socket) {
  ProcessRow row;
  row.socket = socket;
  auto fd = ipc::Connect(socket);
  if (!fd.ok()) {
    row.error = "stale (nobody listens: the process ended)";
    return row;
  }
  Status st = ipc::SendMessage(fd.value(), ipc::Message("STATUS"));
  if (st.ok()) {
    auto ready = ipc::WaitReadable(fd.value(), 5000);
    if (ready.ok() && ready.value()) {
      auto in = ipc::RecvMessage(fd.value());
      if (in.ok() && in.value().msg.type() == "STATUS") {
        row.alive = true;
        row.status = in.value().msg;
      } else {
        row.error = in.ok() ? "unexpected answer" : in.status().ToString();
      }
    } else {
      row.error = "busy (no answer within 5 s: a checkpoint is probably being written)";
    }
  } else {
    row.error = st.ToString();
  }
  ::close(fd.value());
  return row;
}

// "<program>-<pid>.v<N>.cimg"
bool ParseImageName(const std::string& n, ImageRow* r) {
  if (!n.ends_with(transparent::naming::kImageSuffix)) return false;
  const std::string stem = n.substr(0, n.size() - std::strlen(transparent::naming::kImageSuffix));
  const size_t v = stem.rfind(".v");
  const size_t dash = stem.rfind('-', v);
  if (v == std::string::npos || dash == std::string::npos || dash == 0) return false;
  const std::string pid = stem.substr(dash + 1, v - dash - 1);
  const std::string ver = stem.substr(v + 2);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(pid) || !digits(ver)) return false;
  r->name = n;
  r->program = stem.substr(0, dash);
  r->pid = std::stoll(pid);
  r->version = std::stoll(ver);
  return true;
}

}  // namespace

int RunTransparentStatus(const std::string& dir, bool json, Context& ctx) {
  auto names = ctx.env->ListDir(dir);
  if (!names.ok()) {
    PrintError(ctx, "status", names.status().ToString());
    return kExitNotFound;
  }
  std::vector<ImageRow> images;
  for (const auto& n : names.value()) {
    ImageRow r;
    if (!ParseImageName(n, &r)) continue;
    r.path = JoinPath(dir, n);
    struct stat st;
    if (::stat(r.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    r.size = static_cast<uint64_t>(st.st_size);
    r.mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ULL +
                 static_cast<uint64_t>(st.st_mtim.tv_nsec);
    images.push_back(r);
  }
  // Newest first: the order `cairn restart --ckpt-dir` picks from.
  std::sort(images.begin(), images.end(),
            [](const ImageRow& a, const ImageRow& b) { return a.mtime_ns > b.mtime_ns; });
  std::vector<ProcessRow> procs;
  auto socks = ctx.env->ListDir(transparent::naming::ControlDir(dir));
  if (socks.ok()) {
    std::sort(socks.value().begin(), socks.value().end());
    for (const auto& n : socks.value()) {
      if (n.ends_with(transparent::naming::kSocketSuffix)) {
        procs.push_back(Query(JoinPath(transparent::naming::ControlDir(dir), n)));
      }
    }
  }

  const std::vector<ManifestRow> manifests = ReadManifestRows(ctx.env, dir);
  const CoordinatorRow coordinator = ReadCoordinatorRow(ctx.env, dir);
  if (json) {
    JsonWriter w(ctx.out);
    w.BeginObject().Field("ckpt_dir", dir);
    w.Key("coordinator").BeginObject().Field("present", coordinator.present);
    if (coordinator.present) {
      w.Field("address", coordinator.address).Field("job", coordinator.job);
      w.Field("answers", coordinator.answers).Field("participants", coordinator.participants);
      w.Field("joined", coordinator.joined).Field("last_result", coordinator.last_result);
    }
    w.EndObject();
    w.Key("job_checkpoints");
    WriteManifestsJson(w, manifests);
    w.Key("processes").BeginArray();
    for (const auto& p : procs) {
      w.BeginObject().Field("socket", p.socket).Field("alive", p.alive);
      if (p.alive) {
        const ipc::Message& m = p.status;
        w.Field("pid", m.GetInt("pid", 0)).Field("ppid", m.GetInt("ppid", 0));
        w.Field("restored", m.GetInt("restored", 0) != 0);
        w.Field("uptime_ms", m.GetInt("uptime_ms", 0));
        w.Field("threads", m.GetInt("threads", 0)).Field("interval_s", m.GetInt("interval", 0));
        w.Field("fork", m.GetInt("fork", 0) != 0).Field("compress", m.GetOr("compress", ""));
        w.Field("checkpoints", m.GetInt("checkpoints", 0));
        w.Field("last_image", m.GetOr("last_path", ""));
        w.Field("last_checkpoint_ms", m.GetInt("last_ms", -1));
        w.Field("last_bytes", m.GetInt("last_bytes", 0));
        w.Field("last_error", m.GetOr("last_error", ""));
        w.Field("not_followed", m.GetOr("not_followed", ""));
      } else {
        w.Field("error", p.error);
      }
      w.EndObject();
    }
    w.EndArray().Key("images").BeginArray();
    for (size_t i = 0; i < images.size(); ++i) {
      const ImageRow& r = images[i];
      w.BeginObject().Field("path", r.path).Field("program", r.program).Field("pid", r.pid);
      w.Field("version", r.version).Field("size", r.size);
      w.Field("time", IsoTimeUtc(r.mtime_ns)).Field("newest", i == 0).EndObject();
    }
    w.EndArray().EndObject();
    w.Finish();
    return kExitOk;
  }

  ctx.out << "checkpoint directory " << dir << "\n";
  if (coordinator.present) {
    ctx.out << "job coordinator " << coordinator.address << " (job " << coordinator.job << "): ";
    if (coordinator.answers) {
      ctx.out << coordinator.joined << " of " << coordinator.participants << " ranks joined";
      if (!coordinator.last_result.empty()) ctx.out << ", last round: " << coordinator.last_result;
      ctx.out << "\n";
    } else {
      ctx.out << "does not answer (the job ended)\n";
    }
  }
  if (!manifests.empty()) PrintManifests(ctx.out, manifests);
  if (procs.empty()) ctx.out << "no process launched with this directory is running\n";
  for (const auto& p : procs) {
    if (!p.alive) {
      ctx.out << "  " << BaseName(p.socket) << ": " << p.error << "\n";
      continue;
    }
    const ipc::Message& m = p.status;
    ctx.out << "  pid " << m.GetInt("pid", 0) << " (parent " << m.GetInt("ppid", 0) << ")"
            << (m.GetInt("restored", 0) ? " (restored)" : "") << ": " << m.GetInt("threads", 0)
            << " threads, up " << m.GetInt("uptime_ms", 0) / 1000 << " s, "
            << m.GetInt("checkpoints", 0) << " checkpoints";
    if (m.GetInt("interval", 0) > 0) ctx.out << ", every " << m.GetInt("interval", 0) << " s";
    if (m.GetInt("fork", 0)) ctx.out << ", forked writer";
    ctx.out << "\n";
    if (!m.GetOr("last_path", "").empty()) {
      ctx.out << "    last: " << m.GetOr("last_path", "") << " ("
              << HumanSize(static_cast<uint64_t>(m.GetInt("last_bytes", 0))) << " in "
              << m.GetInt("last_ms", 0) << " ms)\n";
    }
    if (!m.GetOr("last_error", "").empty()) {
      ctx.out << "    last error: " << m.GetOr("last_error", "") << "\n";
    }
    if (!m.GetOr("not_followed", "").empty()) {
      ctx.out << "    children cairn does not follow (a checkpoint fails while they run): "
              << m.GetOr("not_followed", "") << "\n";
    }
  }
  if (images.empty()) {
    ctx.out << "no images\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> t{{"IMAGE", "PROGRAM", "PID", "VERSION", "SIZE", "TIME"}};
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageRow& r = images[i];
    t.push_back({r.name + (i == 0 ? " *" : ""), r.program, std::to_string(r.pid),
                 std::to_string(r.version), HumanSize(r.size), IsoTimeUtc(r.mtime_ns)});
  }
  PrintTable(ctx.out, t, {2, 3, 4});
  ctx.out << "* the image `cairn restart --ckpt-dir` uses\n";
  return kExitOk;
}

}  // namespace cairn::cli
