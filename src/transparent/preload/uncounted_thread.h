// A thread that glibc does not count: the checkpoint thread of a single-threaded program.
//
// Why: while a process has one thread, glibc takes fast paths (no locks or atomic operations
// in malloc and stdio, no cancellation handling around system calls) and so does libstdc++
// (plain reference counts). A checkpoint thread made with pthread_create would cost every
// single-threaded program those paths for its whole run, checkpoint or not (cairn_bench_
// transparent "syscalls": +8% on a loop of small system calls). This thread is started with
// clone() on a thread control block and static TLS of its own, so glibc still counts one.
//
// Contract:
//   - StartUncountedThread(fn, arg) runs fn(arg) on a new thread of this process (fn must
//     never return; a thread ends with SYS_exit) whose signal mask is the caller's: block
//     them all first. Its TLS is what glibc gives a new thread: each module's static TLS
//     block from the module's initialization image (errno 0, every thread_local at its
//     initial value), a copy of the caller's thread control block (stack and pointer guards)
//     with its own self pointer, DTV and tid, and the ctype tables set (__ctype_init). One
//     mapping holds its stack (a guard page below), TLS and DTV; like every private mapping
//     it is part of images, so a restart goes on on this TLS (restart.h).
//   - It fails, and changes nothing, when there is nothing to gain or no safe way: the
//     process already has several threads (__libc_single_threaded is false), glibc's layout
//     cannot be learnt (its private symbols _dl_get_tls_static_info, _thread_db_sizeof_pthread
//     or __ctype_init are missing, or the values look wrong), CAIRN_CKPT_THREAD=pthread is set,
//     or clone() fails. The caller then uses pthread_create.
//   - What the thread must not do while a user thread runs, since glibc takes no precautions
//     for it: call glibc's malloc (the library's internal threads use the private heap),
//     share a FILE with a user thread, or build C++ streams (they share the global locale's
//     reference count, which is not atomic while glibc counts one thread; common/log.h does
//     not use them). The TLS of modules loaded after it started, with dlopen(), is shared
//     with the creating thread (their DTV entries are copied): it must not use it. glibc's
//     set*id() broadcast does not reach it (its credentials stay those at its start).
#pragma once

#include "common/status.h"

namespace cairn::preload {

Status StartUncountedThread(void (*fn)(void*), void* arg);

}  // namespace cairn::preload
