// See real.h.
#include "transparent/preload/real.h"

#include <dlfcn.h>

#include <atomic>

namespace cairn::preload::real {
namespace {

void* Next(std::atomic<void*>& cache, const char* name) {
  void* p = cache.load(std::memory_order_acquire);
  if (p == nullptr) {
    p = ::dlsym(RTLD_NEXT, name);
    cache.store(p, std::memory_order_release);
  }
  return p;
}

}  // namespace

#define CAIRN_REAL(fn, type)                         \
  type fn() {                                        \
    static std::atomic<void*> cache{nullptr};        \
    return reinterpret_cast<type>(Next(cache, #fn)); \
  }

CAIRN_REAL(pthread_create, PthreadCreateFn)
CAIRN_REAL(fork, ForkFn)
CAIRN_REAL(sigaction, SigactionFn)
CAIRN_REAL(signal, SignalFn)
CAIRN_REAL(sigprocmask, SigmaskFn)
CAIRN_REAL(pthread_sigmask, SigmaskFn)
CAIRN_REAL(nanosleep, NanosleepFn)
CAIRN_REAL(clock_nanosleep, ClockNanosleepFn)
CAIRN_REAL(inotify_add_watch, InotifyAddWatchFn)
CAIRN_REAL(clone, CloneFn)
CAIRN_REAL(inotify_rm_watch, InotifyRmWatchFn)

#undef CAIRN_REAL

}  // namespace cairn::preload::real
