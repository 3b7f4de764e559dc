// A Comm (comm/comm.h) between the node agents of a job spread over several machines
// (tree/node_agent.h), so that code written against Comm for MPI (the L2 erasure coding of
// redundancy/redundancy_level.cc) runs between nodes that have no MPI. Small collective values
// go through the job coordinator's key-value store (coord/job_store.h, as
// tree/node_rendezvous.h does); bulk data (images: gigabytes) goes directly from node to node
// over TCP.
//
// Contract:
//   - Create() is collective over the `nodes` nodes (0 <= node < nodes): it listens on `host`
//     (this node's address the others can reach; a wildcard "" / "0.0.0.0" / "::" listens on
//     every interface and publishes store.local_host()) at an ephemeral port, puts "HOST PORT"
//     under "<session>.addr.<node>" and waits for every other node's. `session` (1..200 bytes)
//     must be unique per use ("l2.enc.v7"): the store's keys live as long as the coordinator
//     and are never removed. rank() is `node`, size() is `nodes`.
//   - Every wait (of Create, of each collective, of each Exchange as a whole) is bounded by
//     timeout_ms; a failure names this node, the other node and the step. kUnavailable for a
//     node that does not answer in time or a coordinator that is gone; nothing exits.
//   - Collectives (AllGather, AllMin, AllMax, Barrier, GatherToRoot; every node calls them in
//     the same order): the k-th one (k = 0, 1, ...) puts this node's value under
//     "<session>.c<k>.<node>" and reads every other node's. AllMin/AllMax/GatherToRoot/Barrier
//     are AllGathers of a decimal number (of "" for Barrier). Values are any bytes (the store
//     carries them escaped), at most 16 MiB each (kInvalidArgument beyond); the store holds
//     256 MiB in all, so collectives are for sizes and small records, not data.
//   - Exchange(sends, recvs): not collective, only the nodes named as peers take part. A send
//     to another node is one TCP connection from a thread of the sender (one thread per
//     destination node, so two nodes sending to each other never wait for one another) to the
//     peer's published address; the calling thread meanwhile accepts connections until every
//     receive is filled. A send completes when the peer's Exchange has received all its bytes
//     (like MPI_Ssend): the receiver answers one byte once they are in. Sends and receives of
//     one (node, tag) pair match in order over the communicator's lifetime (MPI's
//     non-overtaking rule): the i-th send from A to B with tag t is B's i-th receive from A
//     with tag t, whichever Exchange of each side it is in. A connection that arrives for a
//     later Exchange of the receiver waits (its sender blocked) until that Exchange runs.
//   - A transfer to this node itself (peer == rank()) is a copy: the i-th such send with tag t
//     fills the i-th such receive with tag t of the same Exchange (kInvalidArgument when their
//     numbers differ).
//   - A receive whose sender announces another size than the receive's is kCorruption naming
//     the node and the tag (the connection is closed: the sender fails too). A connection whose
//     header does not start with the magic, or carries another token or session, or does not
//     send a whole header within timeout_ms, is closed and ignored (logged): only the job's own
//     nodes, who know the coordinator's secret token, can fill a receive.
//   - Exchange as a whole is bounded by timeout_ms: when it passes, kUnavailable naming the
//     transfers not received (from node, tag, bytes in) and not sent (to node, tag). Any other
//     failure (a peer that refuses the connection or closes it) stops the Exchange's other
//     transfers and is returned with this node and the peer named. A failed Exchange still
//     counts its transfers as done in the matching order: a later transfer of the same pair
//     arriving late is then dropped as stale.
//   - Sizes may be gigabytes: data is sent from and received into the Transfer buffers
//     directly, in pieces of at most 8 MiB per system call (no copy). Sends never raise
//     SIGPIPE (MSG_NOSIGNAL); every data socket also has send/receive timeouts (SetIoTimeout).
//   - Not thread-safe: one call at a time, as with an MPI communicator.
//
// Data connection (sender -> receiver), integers little-endian, a header of 76 bytes:
//   "CNX1" (4 bytes), the coordinator's token (32 bytes, store.address().token),
//   u64 Hash64(session), i32 from, i32 to, i32 tag, u32 0, u64 seq (the send's number among
//   those of the pair and tag, from 0), u64 size; then `size` bytes. The receiver answers
//   one byte 0x06 once it has them all, then both close.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comm/comm.h"
#include "common/status.h"
#include "coord/job_store.h"

namespace cairn::tree {

class NodeComm : public Comm {
 public:
  static Result<std::unique_ptr<NodeComm>> Create(coord::JobStore store, std::string session,
                                                  int node, int nodes, std::string host,
                                                  int timeout_ms);
  ~NodeComm() override;  // closes the listening socket and connections waiting for an Exchange
  NodeComm(const NodeComm&) = delete;
  NodeComm& operator=(const NodeComm&) = delete;

  int rank() const override { return node_; }
  int size() const override { return nodes_; }
  bool collective() const override { return true; }
  Status Barrier() override;
  Result<int64_t> AllMin(int64_t v) override;
  Result<int64_t> AllMax(int64_t v) override;
  Result<std::vector<uint64_t>> GatherToRoot(uint64_t v) override;
  Result<std::vector<std::string>> AllGather(const std::string& mine) override;
  Status Exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& recvs) override;

  // This node's published address ("HOST PORT" parts) and the session.
  const std::string& host() const { return addrs_[static_cast<size_t>(node_)].first; }
  int port() const { return addrs_[static_cast<size_t>(node_)].second; }
  const std::string& session() const { return session_; }

 private:
  // The fields of a data connection's header (see above).
  struct Header {
    int32_t from = 0, to = 0, tag = 0;
    uint64_t seq = 0, size = 0;
  };
  // A connection accepted by an Exchange: reading its header, or (header read) waiting for
  // the Exchange its transfer belongs to.
  struct Incoming {
    int fd = -1;
    int64_t since_ms = 0;
    std::string buf;  // header bytes so far
    bool has_header = false;
    Header h;
  };
  struct RecvState;
  struct SendState;
  struct Run;

  NodeComm(coord::JobStore store, std::string session, int node, int nodes, int timeout_ms,
           int listen_fd);

  // Every node's value of "<session>.<step>.<node>" (this one's is `mine`); `what` names the
  // step in errors.
  Result<std::vector<std::string>> Gather(const std::string& step, const std::string& mine,
                                          const std::string& what);
  Result<std::vector<int64_t>> GatherNumbers(int64_t v, const std::string& what);

  // The Exchange's parts: fills `rs` from connections (stashed ones first); sends one transfer.
  void ReceiveAll(std::vector<RecvState>& rs, Run& run);
  // Handles one connection with a complete header: false when it stays stashed.
  bool Deliver(Incoming& in, std::vector<RecvState>& rs, Run& run);
  void SendOne(SendState& s, Run& run) const;
  std::string EncodeHeader(const Header& h) const;
  // Whether `raw` (76 bytes) is a header of this session addressed to this node; else why not.
  Result<Header> DecodeHeader(const std::string& raw) const;

  coord::JobStore store_;
  std::string session_;
  int node_;
  int nodes_;
  int timeout_ms_;
  int listen_fd_;
  std::string token_;  // the coordinator's, 32 bytes
  uint64_t session_hash_;
  std::vector<std::pair<std::string, int>> addrs_;  // per node: host, port
  uint64_t collectives_ = 0;
  // (peer, tag) -> transfers of the pair done so far, over the communicator's lifetime.
  std::map<std::pair<int, int>, uint64_t> sent_, received_;
  std::vector<Incoming> incoming_;
};

}  // namespace cairn::tree
