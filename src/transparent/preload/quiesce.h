// Quiescing: the checkpoint signal and how user threads are stopped and released.
//
// Contract:
//   - The checkpoint signal is SIGRTMIN+2 unless CAIRN_CKPT_SIGNAL names another (a number in
//     1..SIGRTMAX other than SIGKILL/SIGSTOP). 0 = not yet chosen (library inactive): the
//     wrappers then hide nothing.
//   - The handler (installed with the real sigaction, all other signals blocked while it runs)
//     saves into its thread's slot: getcontext(), the FS base (arch_prctl ARCH_GET_FS), the
//     interrupted signal mask, its sigaltstack; it then waits on a futex until Release().
//     A signal arriving when no checkpoint is quiescing, or to an unregistered thread, is a
//     no-op.
//     A thread inside a gated library call (gate.h) defers: it parks when the call returns.
//   - QuiesceAll() (checkpoint thread, gate::LockWriter() done) tgkill()s every registered
//     thread and waits until each has parked or is gone (exited / ESRCH); threads that
//     registered meanwhile (a pthread_create under way) are stopped in further rounds until a
//     snapshot of the registry finds nobody new. On timeout it releases the ones that parked
//     and fails with a message listing the tids that did not stop. From its success until
//     Release(), glibc counts several threads (__libc_single_threaded is false): the
//     checkpoint thread of a single-threaded program is one glibc does not count
//     (uncounted_thread.h), and while the program's threads are parked it and the threads
//     it starts use glibc's locks. Release() puts back what QuiesceAll found.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "transparent/preload/registry.h"

namespace cairn::preload {

// Chooses the signal (from CAIRN_CKPT_SIGNAL) and installs the handler.
Status InstallCheckpointHandler();
int CheckpointSignal();  // 0 when inactive

// On success `parked` holds every registered thread, now stopped.
Status QuiesceAll(int timeout_ms, std::vector<ThreadSlot*>* parked);
void Release();

// How many times the calling thread was stopped by a checkpoint (the sleep wrappers restart
// a sleep that only a checkpoint interrupted).
uint32_t CheckpointStopsOfThisThread();

// The calling thread's TLS base (x86-64: the FS base; aarch64: tpidr_el0; else 0).
uint64_t ReadFsBase();

}  // namespace cairn::preload
