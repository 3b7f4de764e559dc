// See job_manifests.h.
#include "cli/job_manifests.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "coord/address_file.h"
#include "coord/manifest.h"
#include "coord/protocol.h"
#include "ipc/tcp.h"
#include "ipc/wire.h"

namespace cairn::cli {

std::vector<ManifestRow> ReadManifestRows(Env* env, const std::string& dir) {
  std::vector<ManifestRow> rows;
  auto versions = coord::ListManifests(dir, env);
  if (!versions.ok()) return rows;
  bool newest_found = false;
  for (auto it = versions.value().rbegin(); it != versions.value().rend(); ++it) {
    ManifestRow r;
    r.version = *it;
    r.path = coord::ManifestPath(dir, *it);
    auto m = coord::ReadManifest(r.path, env);
    if (!m.ok()) {
      r.problem = m.status().message();
      rows.push_back(r);
      continue;
    }
    r.kind = m.value().kind;
    r.ranks = m.value().participants;
    r.created = m.value().created;
    r.complete = true;
    // A job on several nodes names each node's manifest, which names its images (those of a
    // node whose directory this machine cannot see count as missing).
    const bool nodes = r.kind == "nodes";
    for (const auto& img : m.value().images) {
      const std::string who = (nodes ? "node " : "rank ") + std::to_string(img.rank) + "'s " +
                              (nodes ? "manifest " : "image ");
      struct stat st;
      if (::stat(img.path.c_str(), &st) != 0) {
        r.complete = false;
        r.problem = who + img.path + " is missing";
      } else if (static_cast<uint64_t>(st.st_size) != img.bytes) {
        r.complete = false;
        r.problem = who + img.path + " has " + std::to_string(st.st_size) + " bytes, not " +
                    std::to_string(img.bytes);
      }
      if (!nodes) {
        r.bytes += img.bytes;
        continue;
      }
      auto node = coord::ReadManifest(img.path, env);
      if (node.ok()) {
        for (const auto& ni : node.value().images) r.bytes += ni.bytes;
      }
      Status ok = node.ok() ? coord::CheckImages(node.value(), env) : node.status();
      if (r.complete && !ok.ok()) {
        r.complete = false;
        r.problem = "node " + std::to_string(img.rank) + ": " + ok.message();
      }
    }
    if (r.complete && !newest_found) r.newest = newest_found = true;
    rows.push_back(r);
  }
  return rows;
}

CoordinatorRow ReadCoordinatorRow(Env* env, const std::string& dir) {
  CoordinatorRow c;
  auto a = coord::ReadAddressFile(dir, env);
  if (!a.ok()) return c;
  c.present = true;
  c.address = a.value().host + ":" + std::to_string(a.value().port);
  c.job = a.value().job_key;
  auto fd = ipc::TcpConnect(a.value().host, a.value().port, 1000);
  if (!fd.ok()) return c;
  ipc::Message q(coord::kStatus);
  q.Add(coord::kFToken, a.value().token);
  if (ipc::SendMessage(fd.value(), q).ok()) {
    auto ready = ipc::WaitReadable(fd.value(), 2000);
    if (ready.ok() && ready.value()) {
      auto in = ipc::RecvMessage(fd.value());
      if (in.ok() && in.value().msg.type() == coord::kStatus) {
        c.answers = true;
        c.participants = static_cast<int>(in.value().msg.GetInt(coord::kFParticipants, 0));
        c.joined = static_cast<int>(in.value().msg.GetInt(coord::kFJoined, 0));
        c.last_result = in.value().msg.GetOr(coord::kFLastResult, "");
      }
    }
  }
  ::close(fd.value());
  return c;
}

void PrintManifests(std::ostream& out, const std::vector<ManifestRow>& rows) {
  std::vector<std::vector<std::string>> t{
      {"JOB CHECKPOINT", "KIND", "RANKS", "SIZE", "STATE", "TIME"}};
  for (const auto& r : rows) {
    t.push_back(
        {"job.v" + std::to_string(r.version) + (r.newest ? " *" : ""), r.kind,
         r.ranks > 0 ? std::to_string(r.ranks) : "-", HumanSize(r.bytes),
         r.complete ? "committed" : "incomplete",
         r.created > 0 ? IsoTimeUtc(static_cast<uint64_t>(r.created) * 1000000000ull) : "-"});
  }
  PrintTable(out, t, {2, 3});
  for (const auto& r : rows) {
    if (!r.problem.empty()) out << "  job.v" << r.version << ": " << r.problem << "\n";
  }
  out << "* the checkpoint a restart uses (`cairn restart --ckpt-dir`, `--mpi` or `--node`)\n";
}

void WriteManifestsJson(JsonWriter& w, const std::vector<ManifestRow>& rows) {
  w.BeginArray();
  for (const auto& r : rows) {
    w.BeginObject().Field("manifest", r.path).Field("version", r.version).Field("kind", r.kind);
    w.Field("ranks", r.ranks).Field("bytes", r.bytes).Field("created", r.created);
    w.Field("committed", r.complete).Field("newest", r.newest);
    if (!r.problem.empty()) w.Field("problem", r.problem);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace cairn::cli
