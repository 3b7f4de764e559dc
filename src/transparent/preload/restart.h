// The library's half of a restart (see cli/cmd_restart.cc and transparent/restore/).
//
// Contract:
//   - ReserveRestorerRange() (constructor) maps CAIRN_RESERVE_BASE..+SIZE PROT_NONE so that no
//     saved region can lie where the restorer runs; false (logged) if the range is taken, and
//     images of this process then carry no restart info (cairn restart refuses them).
//   - LearnThreadLayout() (the checkpoint thread, once) finds where glibc caches the tid in
//     struct pthread.
//   - PrepareCheckpoint() (checkpoint thread, user threads parked) remembers the parked threads
//     and the signal actions; GetRestartInfo() gives what the image's CAIRN_RESTART_SECTION holds.
//   - cairn_preload_restart_entry (the restorer jumps there on the library's restart stack with
//     the checkpoint thread's FS base) patches tid / rseq, replaces the restorer with the
//     reservation again, restores the signal actions, re-creates the parked threads (each
//     setcontext()s back into its checkpoint handler), releases them and continues as the
//     checkpoint thread with a new control socket. It never returns.
#pragma once

#include <vector>

#include "transparent/preload/registry.h"
#include "transparent/restore/plan.h"

namespace cairn::preload::restart {

bool ReserveRestorerRange();
void LearnThreadLayout();
// Where struct pthread caches the tid, from the thread pointer (LearnThreadLayout() first);
// -1 when it could not be found.
long TidOffset();
// In a child made by clone() (not fork(), which glibc fixes itself): glibc's cached tid of the
// calling thread is still its parent's; sets it to the child's own (LearnThreadLayout's offset).
void FixCachedTidAfterClone();
void PrepareCheckpoint(const std::vector<ThreadSlot*>& parked);
bool GetRestartInfo(CairnRestartInfo* out);
// True in a process that was restored (from the restart entry on).
bool Restored();

}  // namespace cairn::preload::restart
