// The real libc functions behind the preload library's wrappers, found with
// dlsym(RTLD_NEXT). Contract: each accessor resolves its symbol once (the first call; races
// are benign, dlsym is idempotent) and returns nullptr only if libc lacks it; callers then
// fail with ENOSYS. No allocation of ours on this path (dlsym itself may calloc, which our
// calloc wrapper serves straight from glibc).
#pragma once

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>

namespace cairn::preload::real {

using PthreadCreateFn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
using ForkFn = pid_t (*)();
using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);
using SignalFn = sighandler_t (*)(int, sighandler_t);
using SigmaskFn = int (*)(int, const sigset_t*, sigset_t*);
using NanosleepFn = int (*)(const struct timespec*, struct timespec*);
using ClockNanosleepFn = int (*)(clockid_t, int, const struct timespec*, struct timespec*);
using InotifyAddWatchFn = int (*)(int, const char*, uint32_t);
using CloneFn = int (*)(int (*)(void*), void*, int, void*, ...);
using InotifyRmWatchFn = int (*)(int, int);

PthreadCreateFn pthread_create();
ForkFn fork();
SigactionFn sigaction();
SignalFn signal();
SigmaskFn sigprocmask();
SigmaskFn pthread_sigmask();
NanosleepFn nanosleep();
ClockNanosleepFn clock_nanosleep();
InotifyAddWatchFn inotify_add_watch();
CloneFn clone();
InotifyRmWatchFn inotify_rm_watch();

}  // namespace cairn::preload::real
