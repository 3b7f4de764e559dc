// Kernel state that the process's memory does not carry across a restart and that the
// library re-creates itself: interval timers (alarm, setitimer), POSIX timers, pending
// signals, and per thread the CPU affinity and the alternate signal stack.
//
// Contract:
//   - Save() runs in the checkpoint thread while every user thread in `parked` is stopped in
//     its checkpoint handler. It reads the state into library memory (so the state comes back
//     with the memory of a restored process) and into the image records (Timers(),
//     Signals()). It changes nothing in the running process.
//   - POSIX timers are read from /proc/self/timers (id, signal, value, notify, clock) and
//     timer_gettime; timers of glibc's SIGEV_THREAD helper (signal 32 to a helper thread the
//     library does not re-create) are recorded but not restored (a warning says so).
//   - Pending signals: the shared queue is taken off and queued back at once (sigtimedwait,
//     rt_sigqueueinfo), so every queued instance and its siginfo (sigqueue values, timer
//     signals) is kept in order; each parked thread's own set (SigPnd) is kept as bits (a
//     thread-directed real-time signal comes back once, without its siginfo). The checkpoint
//     signal is never recorded.
//   - RestoreThread() runs in a re-created thread before it returns into its handler:
//     affinity, then the alternate signal stack.
//   - RestoreProcess() runs in the restart entry after every thread was re-created (slots
//     carry their new tids) and before they are released: interval timers, POSIX timers
//     (same ids: PR_TIMER_CREATE_RESTORE_IDS where the kernel has it, else by creating ids in
//     order), then the pending signals (tgkill to the new tids, kill for the shared set).
//     Every signal stays pending until the threads leave their handlers. Failures are logged
//     warnings; a restart goes on without the piece that failed.
#pragma once

#include <vector>

#include "transparent/image.h"
#include "transparent/preload/registry.h"

namespace cairn::preload::kstate {

void Save(const std::vector<ThreadSlot*>& parked, int checkpoint_signal);
const transparent::TimerState& Timers();
const transparent::SignalState& PendingSignals();  // actions left empty

// After a restart: the image records (Timers(), PendingSignals()) pointed into the private
// heap of the saved process; start them afresh (no free).
void ForgetRecordsAfterRestart();

void RestoreThread(const ThreadSlot& slot);
void RestoreProcess(ThreadSlot* const* slots, size_t n);

}  // namespace cairn::preload::kstate
