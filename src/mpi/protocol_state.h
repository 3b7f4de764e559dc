// The state a checkpoint shares between the checkpoint thread (protocol.cc) and the program's
// threads inside wrappers (gate.cc, objects.cc).
//
// Contract:
//   - `pending`: a checkpoint round is under way; a collective may start only while its
//     communicator's count is below the round's target (`targets_known`), else it waits.
//   - `frozen`: no wrapper may enter; threads in blocking loops wait at their safe point.
//     `active` counts upper-half threads inside wrappers and not at a safe point; the
//     checkpoint thread waits for it to reach 0 (woken through `active_changes`).
//   - Every change of pending/frozen/targets bumps `freeze_epoch` and wakes its waiters.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cairn::mpi {

// Keys: communicators by table index, then MPI_COMM_WORLD and MPI_COMM_SELF, then open files
// (io.cc: FileKey; collective I/O is counted per file).
inline constexpr size_t kMaxFiles = 1024;
inline constexpr size_t kMaxCommKeys = 4096 + 2 + kMaxFiles;

struct ProtocolState {
  std::atomic<bool> pending{false};
  std::atomic<bool> targets_known{false};
  std::atomic<bool> frozen{false};
  std::atomic<int> active{0};
  std::atomic<uint32_t> active_changes{0};
  std::atomic<uint32_t> freeze_epoch{0};
  // Collectives started per communicator key (objects.cc: CommKey) and the round's targets.
  std::atomic<uint64_t> started[kMaxCommKeys];
  std::atomic<uint64_t> completed[kMaxCommKeys];
  uint64_t target[kMaxCommKeys];
  // Whether the key's communicator has more than one rank and is live.
  bool counted[kMaxCommKeys];
  char name[kMaxCommKeys][48];  // the key as the ranks agree on it ("w", "w.3", "w.3.1")
};

ProtocolState& State();
void BumpEpoch();

}  // namespace cairn::mpi
