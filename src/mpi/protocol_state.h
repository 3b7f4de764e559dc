// The state a checkpoint shares between the checkpoint thread (protocol.cc) and the program's
// threads inside wrappers (gate.cc, objects.cc).
//
// Contract:
//   - `pending`: a checkpoint round is under way; a collective may start only while its
//     communicator's count is below the round's target (`targets_known`), else it waits.
//     A thread that waits so sets `wanted` to the count it needs (started + 1); the checkpoint
//     thread asks the coordinator to raise such targets when the rank cannot get quiet
//     without them (coord/protocol.h: WANT). Resume() clears `wanted`.
//   - `frozen`: no wrapper may enter; threads in blocking loops wait at their safe point.
//     ThreadsInside() counts upper-half threads inside wrappers and not at a safe point; the
//     checkpoint thread sets `frozen`, calls FreezeBarrier(), then waits for ThreadsInside()
//     to reach 0 (woken through `active_changes`). The entry gate (gate.cc) is asymmetric:
//     a thread marks itself inside with a plain store to its own slot and then reads
//     `frozen` without a fence of its own; FreezeBarrier() (membarrier, private expedited)
//     puts that fence on every running thread, so that either the thread sees `frozen` or
//     the checkpoint thread sees it inside. Without membarrier (RegisterGate() failed) the
//     threads fence themselves.
//   - started/completed: only the thread running a collective on a key changes that key's
//     counts (MPI forbids concurrent collectives on one communicator), with plain stores; a
//     thread that read `pending` false just before a round began may count one collective
//     past the counts the round first saw: the run-forward asks for it (WANT), like a want.
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
  std::atomic<uint32_t> active_changes{0};
  std::atomic<uint32_t> freeze_epoch{0};
  // Collectives started per communicator key (objects.cc: CommKey) and the round's targets.
  std::atomic<uint64_t> started[kMaxCommKeys];
  std::atomic<uint64_t> completed[kMaxCommKeys];
  uint64_t target[kMaxCommKeys];
  std::atomic<uint64_t> wanted[kMaxCommKeys];
  // Whether the key's communicator has more than one rank and is live.
  bool counted[kMaxCommKeys];
  char name[kMaxCommKeys][48];  // the key as the ranks agree on it ("w", "w.3", "w.3.1")
};

extern ProtocolState g_protocol_state;  // protocol.cc
inline ProtocolState& State() { return g_protocol_state; }
void BumpEpoch();

// The entry gate's side for the checkpoint thread (gate.cc).
bool RegisterGate();   // at MPI_Init and after a restart (a new process): membarrier or fences
void FreezeBarrier();  // after setting `frozen`: every thread's earlier entry is visible
int ThreadsInside();   // threads inside wrappers, not at a safe point
// A counter of the calling thread's collectives on one key, bumped with a plain store.
inline void BumpCount(std::atomic<uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace cairn::mpi
