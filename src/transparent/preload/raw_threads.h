// Threads without glibc: clone() on stacks of our own, for the two places where
// pthread_create must not run. (1) The restart entry re-creates the saved threads on their
// own TLS. (2) The forked image writer compresses on extra threads: pthread_create there
// would change glibc's thread lists, which that child is in the middle of saving.
//
// Contract:
//   - cairn_raw_clone(flags, child_sp, ptid, ctid, tls): the clone syscall; the child pops
//     fn and arg from child_sp and calls fn(arg), which must never return. x86-64 only.
//   - RunOnRawThreads (a format::ParallelRunner) runs body(arg, i) for i in 1..threads-1 on
//     raw threads that share the caller's TLS (so the bodies must not depend on thread
//     identity: the codec's block workers only compute and allocate from the private heap),
//     body(arg, 0) on the caller, and returns once every raw thread has exited (the kernel's
//     CLONE_CHILD_CLEARTID wake); their stacks are then unmapped. A thread that cannot be
//     started has its share run by the caller.
#pragma once

#include <sys/types.h>

extern "C" long cairn_raw_clone(unsigned long flags, void* child_sp, pid_t* ptid, pid_t* ctid,
                                unsigned long tls);

namespace cairn::preload {

void RunOnRawThreads(int threads, void (*body)(void* arg, int index), void* arg);

}  // namespace cairn::preload
