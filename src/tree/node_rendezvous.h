// What the nodes of a job spread over several machines agree on while each restarts its own
// process tree (`cairn restart --node I`, tree/node_agent.h), through the job coordinator's
// key-value store (coord/job_store.h). The coordinator is a new one (node 0 starts it), so its
// store holds only this restart's keys.
//
// Contract:
//   - AgreeOnVersion: every node puts the job manifest versions it can restart (its node
//     manifest of that version is complete), waits for every other node's list, and returns
//     the newest version on every list: all nodes restart the same checkpoint, the newest
//     that none of them lost. kNotFound when there is none.
//   - ConnectNodes: the connected TCP ends of this node's tree that no process of the tree is
//     the peer of. Every node puts its ends (addresses, shutdown state, saved receive queue);
//     two ends on two nodes whose addresses mirror each other are one connection, restored
//     between the nodes' new addresses (transparent/objects/tcp.h): the node with the lower
//     number listens, the other connects; each end is refilled with what its peer had
//     received. An end with no mirror on any node is a peer outside the job: not in the
//     result (the outside-peer policy of a single tree). Returns socket id -> new descriptor.
//   - Barrier(name): returns once every node reached the same barrier; a node that does not
//     within the timeout fails it (kUnavailable naming the nodes).
//   - The coordinator a node finds first may be the old job's, still up for a moment after its
//     participants died (its address file is replaced when node 0's new one starts): a
//     gathering step whose coordinator goes away is done again, whole, with the coordinator
//     the job directory names then (JobStore::Open), within the same bound.
//   - Every wait is bounded by timeout_ms; failures name the node and the step.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "coord/job_store.h"
#include "transparent/image.h"

namespace cairn::tree {

class NodeRendezvous {
 public:
  // `host`: this node's new address (the connections' new local address); `dir`, `job_key`:
  // where the store came from (to find the coordinator again).
  NodeRendezvous(coord::JobStore store, std::string dir, std::string job_key, int node, int nodes,
                 std::string host, int timeout_ms)
      : store_(std::move(store)),
        dir_(std::move(dir)),
        job_key_(std::move(job_key)),
        node_(node),
        nodes_(nodes),
        host_(std::move(host)),
        timeout_ms_(timeout_ms) {}

  Result<uint64_t> AgreeOnVersion(const std::vector<uint64_t>& mine);
  Result<std::map<uint64_t, int>> ConnectNodes(
      const std::vector<const transparent::FileState*>& ends, int min_fd);
  Status Barrier(const std::string& name);

  const std::string& host() const { return host_; }

 private:
  // The values of `prefix`.<n> of every node n (this one's included).
  Result<std::vector<std::string>> GatherAll(const std::string& prefix, const std::string& mine);

  Result<std::vector<std::string>> GatherOnce(const std::string& prefix, const std::string& mine,
                                              int64_t deadline);

  coord::JobStore store_;
  std::string dir_, job_key_;
  int node_;
  int nodes_;
  std::string host_;
  int timeout_ms_;
};

}  // namespace cairn::tree
