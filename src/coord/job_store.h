// The client side of the job coordinator's key-value store (coord/protocol.h PUT/GET): how
// the nodes of a job restarting on several machines tell each other things before any of
// them is a participant (tree/node_rendezvous.h).
//
// Contract:
//   - Open() finds the coordinator of DIR the way Participant::Join does: it reads
//     DIR/.cairn/coordinator every 100 ms until timeout_ms, until the file names `job_key`
//     and its coordinator answers a GET with the file's token (a stale file, a coordinator
//     that is not up yet or that belongs to another job is tried again). kUnavailable
//     naming DIR and the last reason when none answers in time.
//   - Put() stores a value (replacing one of the same key); Get() returns the value of a key,
//     waiting up to wait_ms for another node to put it: kNotFound when it is not set by then.
//     Each call is one connection, bounded by its own timeout; a coordinator that is gone is
//     kUnavailable.
//   - local_host() is this machine's address on the way to the coordinator (the address the
//     other nodes reach it at, when the coordinator is on another node).
#pragma once

#include <string>

#include "common/status.h"
#include "coord/address_file.h"

namespace cairn::coord {

class JobStore {
 public:
  static Result<JobStore> Open(const std::string& dir, const std::string& job_key, int timeout_ms);

  Status Put(const std::string& key, const std::string& value) const;
  Result<std::string> Get(const std::string& key, int wait_ms) const;

  const CoordinatorAddress& address() const { return address_; }
  const std::string& local_host() const { return local_host_; }

 private:
  JobStore(CoordinatorAddress a, std::string local)
      : address_(std::move(a)), local_host_(std::move(local)) {}
  CoordinatorAddress address_;
  std::string local_host_;
};

}  // namespace cairn::coord
