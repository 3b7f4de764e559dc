// Comm: the collective operations the client needs, over MPI or over a single
// process. The engine never includes <mpi.h>; MPI lives behind this interface
// (comm/mpi_comm.cc, built only when MPI is found).
//
// Contract: every method is collective over all ranks of the communicator (all
// ranks call it in the same order). Errors in MPI calls are returned as Status.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual bool collective() const = 0;  // true over MPI
  virtual Status Barrier() = 0;
  // Minimum / maximum of one value over all ranks.
  virtual Result<int64_t> AllMin(int64_t v) = 0;
  virtual Result<int64_t> AllMax(int64_t v) = 0;
  // Logical AND of one flag over all ranks.
  Result<bool> AllTrue(bool v) {
    auto r = AllMin(v ? 1 : 0);
    if (!r.ok()) return r.status();
    return r.value() == 1;
  }
  // Gathers one 64-bit value from every rank at rank 0 (other ranks get an empty vector).
  virtual Result<std::vector<uint64_t>> GatherToRoot(uint64_t v) = 0;
  // Every rank's byte string, indexed by rank (sizes may differ).
  virtual Result<std::vector<std::string>> AllGather(const std::string& mine) = 0;

  // Point-to-point transfers, all posted at once and completed together (no ordering
  // deadlocks). Buffers must stay valid until Exchange returns. Not collective: only
  // the ranks named as peers take part. Tags separate concurrent streams.
  struct Transfer {
    int peer = 0;
    int tag = 0;
    char* data = nullptr;  // send: source; receive: destination
    size_t size = 0;
  };
  virtual Status Exchange(const std::vector<Transfer>& sends,
                          const std::vector<Transfer>& recvs) = 0;
};

// A communicator of one process with the given rank id (VeloC's Init_single).
std::unique_ptr<Comm> MakeSingleComm(int rank);

}  // namespace cairn
