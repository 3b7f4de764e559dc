// See node_l2.h.
#include "tree/node_l2.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "coord/manifest.h"
#include "redundancy/redundancy_level.h"
#include "tree/node_comm.h"
#include "tree/node_part.h"

namespace cairn::tree {
namespace {

constexpr char kName[] = "nodes";  // the name of a job's node parts in their .ec headers

std::string Join(const std::set<uint64_t>& s) {
  std::string out;
  for (uint64_t v : s) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

void SplitInto(const std::string& s, std::set<uint64_t>* out) {
  for (size_t pos = 0; pos < s.size();) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    const std::string n = s.substr(pos, end - pos);
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) {
      out->insert(std::strtoull(n.c_str(), nullptr, 10));
    }
    pos = end + 1;
  }
}

}  // namespace

Status EncodeNodeParts(const Config& cfg, const std::string& node_dir, const std::string& job_dir,
                       const std::string& job_key, int node, uint64_t version, int timeout_ms,
                       Env* env) {
  auto job = coord::ReadManifest(coord::ManifestPath(job_dir, version), env);
  if (!job.ok()) return job.status();
  auto store = coord::JobStore::Open(job_dir, job_key, timeout_ms);
  if (!store.ok()) return store.status();
  const std::string host = store.value().local_host();
  auto comm = NodeComm::Create(store.value(), "l2.enc.v" + std::to_string(version), node,
                               job.value().participants, host, timeout_ms);
  if (!comm.ok()) return comm.status();
  NodePart part(env, node_dir, job_dir, node);
  auto l2 = redundancy::RedundancyLevel::Create(cfg, comm.value().get(), env, &part);
  if (!l2.ok()) return l2.status();
  CAIRN_RETURN_IF_ERROR(l2.value()->Encode(kName, static_cast<long long>(version)));
  part.PruneEc();
  return Status::Ok();
}

Result<uint64_t> RecoverNodeParts(const Config& cfg, const NodeL2Place& place,
                                  const std::set<uint64_t>& scratch,
                                  const std::set<uint64_t>& elsewhere, int timeout_ms, Env* env) {
  auto comm =
      NodeComm::Create(place.store, "l2.restart", place.node, place.nodes, place.host, timeout_ms);
  if (!comm.ok()) return comm.status();
  NodePart part(env, place.node_dir, place.job_dir, place.node);
  auto l2 = redundancy::RedundancyLevel::Create(cfg, comm.value().get(), env, &part);
  if (!l2.ok()) return l2.status();
  // Every version any node knows of: the job manifests (the job directory is shared, but a
  // node may list it at another moment) and the nodes' own copies.
  std::set<uint64_t> mine(scratch.begin(), scratch.end());
  mine.insert(elsewhere.begin(), elsewhere.end());
  auto listed = coord::ListManifests(place.job_dir, env);
  if (listed.ok()) mine.insert(listed.value().begin(), listed.value().end());
  auto all = comm.value()->AllGather(Join(mine));
  if (!all.ok()) return all.status();
  std::set<uint64_t> versions;
  for (const std::string& s : all.value()) SplitInto(s, &versions);
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    const uint64_t v = *it;
    const bool l1 = scratch.count(v) != 0;
    auto can = l2.value()->Assess(kName, static_cast<long long>(v), l1);
    if (!can.ok()) return can.status();
    auto every = comm.value()->AllTrue(can.value() || elsewhere.count(v) != 0);
    if (!every.ok()) return every.status();
    if (!every.value()) continue;
    Status st = l2.value()->Rebuild(kName, static_cast<long long>(v));
    if (!st.ok()) {
      log::Warn("restart: node ", place.node, ": checkpoint ", v, ": ", st.ToString());
      continue;  // (collective: every node got the same answer)
    }
    return v;
  }
  return uint64_t{0};
}

}  // namespace cairn::tree
