// The libc functions the preload library interposes (exported with default visibility).
//
// Contract:
//   - malloc family: served by glibc's exported __libc_* entry points, inside the gate (as
//     readers), so a checkpoint never stops a thread inside the allocator.
//   - pthread_create: inside the gate; the new thread registers itself (gettid + slot)
//     before the call returns, and unregisters when its start routine returns or it leaves
//     through pthread_exit / cancellation (a thread-specific-data key destructor).
//     Threads created by internal threads are internal too (not registered, not gated).
//   - fork: inside the gate; the child resets the gate and registry (see control.h).
//   - clone without CLONE_VM (a new process, as fork makes, on a stack of the program's):
//     the same as fork, the child's part run before the program's function; other clones
//     (threads, vfork-like CLONE_VM children that exec) pass through unchanged.
//   - nanosleep / clock_nanosleep / sleep / usleep: a sleep that only a checkpoint
//     interrupted (EINTR while this thread was stopped) continues for the time left, so a
//     checkpoint does not cut the application's sleeps short.
//   - inotify_add_watch / inotify_rm_watch: inside the gate; the path of each watch is
//     recorded (inotify_paths.h), for the image.
//   - sigaction / signal: refuse (EINVAL) to install a handler for the checkpoint signal and
//     report SIG_DFL for it; sigprocmask / pthread_sigmask never block it.
// When the library is inactive (CAIRN_CKPT_DIR unset) only the malloc gate stays; it is
// never contended then.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <new>

#include "common/log.h"
#include "transparent/preload/control.h"
#include "transparent/preload/futex.h"
#include "transparent/preload/gate.h"
#include "transparent/preload/inotify_paths.h"
#include "transparent/preload/lower_half.h"
#include "transparent/preload/private_heap.h"
#include "transparent/preload/quiesce.h"
#include "transparent/preload/real.h"
#include "transparent/preload/registry.h"
#include "transparent/preload/restart.h"

extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void* __libc_valloc(size_t);
void* __libc_pvalloc(size_t);
}

#define CAIRN_PRELOAD_API extern "C" __attribute__((visibility("default")))

namespace cairn::preload {
namespace {

using gate::Guard;

struct StartArgs {
  void* (*fn)(void*);
  void* arg;
  bool internal;
  bool lower;                   // started from inside a lower half (lower_half.h)
  std::atomic<uint32_t> state;  // 0 starting, 1 registered, 2 registration failed
};

void* Trampoline(void* p) {
  auto* a = static_cast<StartArgs*>(p);
  void* (*fn)(void*) = a->fn;
  void* arg = a->arg;
  const bool internal = a->internal;
  if (a->lower) lower::MarkThreadLower();
  uint32_t state = 1;
  if (internal) {
    gate::SetInternalThread(true);
  } else if (a->lower) {
    // A lower-half thread: never stopped, saved or restored (lower_half.h).
  } else if (RegisterCurrentThread(false) == nullptr) {
    state = 2;
  }
  a->state.store(state, std::memory_order_seq_cst);  // `a` belongs to the creator from here
  FutexWakeAll(&a->state);
  // Unregistration at thread exit (return or pthread_exit / cancellation): a thread-specific
  // key destructor. Armed only now: pthread_setspecific may allocate, which must not happen
  // while the creator waits inside the gate for this thread.
  if (!internal && !a->lower && state == 1) ArmThreadExitHook();
  return fn(arg);
}

bool IsPowerOfTwo(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace
}  // namespace cairn::preload

using namespace cairn::preload;  // NOLINT(build/namespaces)

// ------------------------------------------------------------------ malloc family
// Internal threads allocate from the private heap (private_heap.h); a pointer it owns is
// freed there whoever frees it. Everything else goes to glibc inside the gate.

namespace {

void* Private(void* p) {
  if (p == nullptr) errno = ENOMEM;
  return p;
}

size_t RealUsableSize(void* p) {
  using Fn = size_t (*)(void*);
  static Fn fn = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "malloc_usable_size"));
  return fn != nullptr ? fn(p) : 0;
}

}  // namespace

// Whether an allocation made from `ret` belongs to the private heap: an internal thread's, or
// a lower half's own (lower_half.h).
#define CAIRN_PRIVATE_ALLOC()  \
  (gate::IsInternalThread() || \
   (lower::Possible() && lower::Inside() && lower::CallerIsLower(__builtin_return_address(0))))

// The lower half's libraries allocating before it is first initialized (lower_half.h).
#define CAIRN_PRISTINE_ALLOC() \
  (lower::Possible() && lower::PristinePhase(__builtin_return_address(0)))

CAIRN_PRELOAD_API void* malloc(size_t n) noexcept {
  if (CAIRN_PRISTINE_ALLOC()) return Private(lower::PristineArena().Alloc(n));
  if (CAIRN_PRIVATE_ALLOC()) return Private(heap::Alloc(n));
  Guard g;
  return __libc_malloc(n);
}

CAIRN_PRELOAD_API void free(void* p) noexcept {
  if (p == nullptr) return;
  if (heap::Owns(p)) {
    heap::Free(p);
    return;
  }
  if (lower::Possible() && lower::PristineArena().Owns(p)) {
    lower::PristineArena().Free(p);
    return;
  }
  Guard g;
  __libc_free(p);
}

CAIRN_PRELOAD_API void* calloc(size_t n, size_t size) noexcept {
  if (CAIRN_PRISTINE_ALLOC()) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
      errno = ENOMEM;
      return nullptr;
    }
    void* p = lower::PristineArena().Alloc(total);
    if (p != nullptr) std::memset(p, 0, total);
    return Private(p);
  }
  if (CAIRN_PRIVATE_ALLOC()) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
      errno = ENOMEM;
      return nullptr;
    }
    void* p = heap::Alloc(total);
    if (p != nullptr) std::memset(p, 0, total);
    return Private(p);
  }
  Guard g;
  return __libc_calloc(n, size);
}

CAIRN_PRELOAD_API void* realloc(void* p, size_t n) noexcept {
  if ((lower::Possible() && lower::PristineArena().Owns(p)) ||
      (p == nullptr && CAIRN_PRISTINE_ALLOC())) {
    if (n == 0) {
      lower::PristineArena().Free(p);
      return nullptr;
    }
    return Private(lower::PristineArena().Realloc(p, n));
  }
  if (heap::Owns(p)) {
    if (n == 0) {
      heap::Free(p);
      return nullptr;
    }
    return Private(heap::Realloc(p, n));
  }
  if (CAIRN_PRIVATE_ALLOC()) {
    if (p != nullptr && n == 0) {
      free(p);
      return nullptr;
    }
    void* q = heap::Alloc(n);
    if (q == nullptr) return Private(q);
    if (p != nullptr) {
      std::memcpy(q, p, std::min(n, RealUsableSize(p)));
      free(p);
    }
    return q;
  }
  Guard g;
  return __libc_realloc(p, n);
}

CAIRN_PRELOAD_API void* reallocarray(void* p, size_t n, size_t size) noexcept {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

CAIRN_PRELOAD_API void* memalign(size_t alignment, size_t n) noexcept {
  if (CAIRN_PRISTINE_ALLOC()) {
    if (!IsPowerOfTwo(alignment)) {
      errno = EINVAL;
      return nullptr;
    }
    return Private(lower::PristineArena().AllocAligned(alignment, n));
  }
  if (CAIRN_PRIVATE_ALLOC()) {
    if (!IsPowerOfTwo(alignment)) {
      errno = EINVAL;
      return nullptr;
    }
    return Private(heap::AllocAligned(alignment, n));
  }
  Guard g;
  return __libc_memalign(alignment, n);
}

CAIRN_PRELOAD_API void* aligned_alloc(size_t alignment, size_t n) noexcept {
  if (!IsPowerOfTwo(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return memalign(alignment, n);
}

CAIRN_PRELOAD_API int posix_memalign(void** out, size_t alignment, size_t n) noexcept {
  if (alignment % sizeof(void*) != 0 || !IsPowerOfTwo(alignment / sizeof(void*))) return EINVAL;
  const int saved_errno = errno;
  void* p = CAIRN_PRISTINE_ALLOC()  ? lower::PristineArena().AllocAligned(alignment, n)
            : CAIRN_PRIVATE_ALLOC() ? heap::AllocAligned(alignment, n)
                                    : memalign(alignment, n);
  errno = saved_errno;
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

CAIRN_PRELOAD_API void* valloc(size_t n) noexcept {
  if (gate::IsInternalThread()) return Private(heap::AllocAligned(4096, n));
  Guard g;
  return __libc_valloc(n);
}

CAIRN_PRELOAD_API void* pvalloc(size_t n) noexcept {
  if (gate::IsInternalThread())
    return Private(heap::AllocAligned(4096, (n + 4095) & ~size_t{4095}));
  Guard g;
  return __libc_pvalloc(n);
}

CAIRN_PRELOAD_API size_t malloc_usable_size(void* p) noexcept {
  if (heap::Owns(p)) return heap::UsableSize(p);
  if (lower::Possible() && lower::PristineArena().Owns(p)) {
    return lower::PristineArena().UsableSize(p);
  }
  return p == nullptr ? 0 : RealUsableSize(p);
}

// ------------------------------------------------------------------ threads and fork

CAIRN_PRELOAD_API int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                                     void* (*start)(void*), void* arg) noexcept {
  auto real_create = real::pthread_create();
  if (real_create == nullptr) return ENOSYS;
  if (!control::Active()) return real_create(thread, attr, start, arg);
  Guard g;
  auto* a = static_cast<StartArgs*>(malloc(sizeof(StartArgs)));  // private heap if internal
  if (a == nullptr) return EAGAIN;
  a->fn = start;
  a->arg = arg;
  a->internal = gate::IsInternalThread();
  a->lower = lower::Inside();
  new (&a->state) std::atomic<uint32_t>(0);
  int rc = real_create(thread, attr, &Trampoline, a);
  uint32_t state = 0;
  if (rc == 0) {
    while ((state = a->state.load(std::memory_order_seq_cst)) == 0) FutexWait(&a->state, 0);
  }
  free(a);
  if (state == 2) {
    cairn::log::Error(
        "preload: a new thread could not be registered (registry full or out "
        "of memory); it will not be checkpointed");
  }
  return rc;
}

namespace {

// A followed child reports on this pipe once it listens on its control socket, so that a
// checkpoint of the tree, which may start as soon as the gate is released, finds it.
struct ReadyPipe {
  int r = -1, w = -1;
  ReadyPipe() {
    int p[2];
    if (control::FollowsForks() && ::pipe2(p, O_CLOEXEC) == 0) {
      r = p[0];
      w = p[1];
    }
  }
};

// The child's part of fork and clone: a gate, a registry and a checkpoint thread of its own;
// then it tells the parent.
void SetUpChild(const ReadyPipe& ready) {
  gate::ResetInChildAfterFork();
  ResetRegistryInChildAfterFork();
  control::OnForkChild();
  if (ready.w >= 0) {
    const char c = 1;
    (void)!::write(ready.w, &c, 1);
    ::close(ready.r);
    ::close(ready.w);
  }
}

// The parent's part: waits (at most 5 s) for the child, if one was made.
void AwaitChild(const ReadyPipe& ready, pid_t pid) {
  if (ready.r < 0) return;
  ::close(ready.w);
  if (pid > 0) {
    pollfd p{ready.r, POLLIN, 0};
    while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
    }
  }
  ::close(ready.r);
}

// What a child made by the clone wrapper runs first (its copy of the parent's memory).
struct CloneStart {
  int (*fn)(void*);
  void* arg;
  ReadyPipe ready;
};

int StartClonedChild(void* p) {
  const CloneStart* s = static_cast<const CloneStart*>(p);
  restart::FixCachedTidAfterClone();
  SetUpChild(s->ready);
  // The child has the parent's gate depth (inside the wrapper's Guard), but never returns
  // through the wrapper: it leaves the call here, before the program's function.
  gate::Exit();
  const int status = s->fn(s->arg);
  // glibc's clone() ends the child's thread with SYS_exit, which ends a process whose only
  // thread it is; here the checkpoint thread would keep the child alive (and its parent
  // waiting). Unless the child started threads of its own, the process ends with the status.
  ThreadSlot* others[2];
  if (Snapshot(others, 2) <= 1) ::syscall(SYS_exit_group, status);
  UnregisterCurrentThread();
  return status;
}

}  // namespace

CAIRN_PRELOAD_API pid_t fork() noexcept {
  auto real_fork = real::fork();
  if (real_fork == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  Guard g;
  ReadyPipe ready;
  const int saved_errno = errno;
  pid_t pid = real_fork();
  const int fork_errno = errno;
  if (pid == 0) {
    SetUpChild(ready);
    errno = saved_errno;
    return 0;
  }
  AwaitChild(ready, pid);
  errno = pid < 0 ? fork_errno : saved_errno;
  return pid;
}

CAIRN_PRELOAD_API int clone(int (*fn)(void*), void* stack, int flags, void* arg, ...) noexcept {
  va_list ap;
  va_start(ap, arg);
  pid_t* parent_tid = va_arg(ap, pid_t*);
  void* tls = va_arg(ap, void*);
  pid_t* child_tid = va_arg(ap, pid_t*);
  va_end(ap);
  auto real_clone = real::clone();
  if (real_clone == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if ((flags & (CLONE_VM | CLONE_THREAD)) != 0) {
    return real_clone(fn, stack, flags, arg, parent_tid, tls, child_tid);
  }
  Guard g;
  CloneStart start{fn, arg, ReadyPipe()};
  const int saved_errno = errno;
  const int pid = real_clone(&StartClonedChild, stack, flags, &start, parent_tid, tls, child_tid);
  const int clone_errno = errno;
  AwaitChild(start.ready, pid);
  errno = pid < 0 ? clone_errno : saved_errno;
  return pid;
}

// ------------------------------------------------------------------ signals

CAIRN_PRELOAD_API int sigaction(int sig, const struct sigaction* act,
                                struct sigaction* old) noexcept {
  auto real_sa = real::sigaction();
  if (real_sa == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int cs = CheckpointSignal();
  if (cs == 0) return real_sa(sig, act, old);
  if (sig == cs) {
    if (act != nullptr) {
      errno = EINVAL;
      return -1;
    }
    if (old != nullptr) {
      std::memset(old, 0, sizeof *old);
      old->sa_handler = SIG_DFL;
    }
    return 0;
  }
  if (act == nullptr) return real_sa(sig, act, old);
  struct sigaction copy = *act;
  sigdelset(&copy.sa_mask, cs);
  return real_sa(sig, &copy, old);
}

CAIRN_PRELOAD_API sighandler_t signal(int sig, sighandler_t handler) noexcept {
  auto real_signal = real::signal();
  if (real_signal == nullptr) {
    errno = ENOSYS;
    return SIG_ERR;
  }
  const int cs = CheckpointSignal();
  if (cs != 0 && sig == cs) {
    errno = EINVAL;
    return SIG_ERR;
  }
  return real_signal(sig, handler);
}

namespace {

// `set` without the checkpoint signal when it would block it; else `set` itself.
const sigset_t* Unblockable(int how, const sigset_t* set, sigset_t* copy) {
  const int cs = CheckpointSignal();
  if (cs == 0 || set == nullptr || how == SIG_UNBLOCK) return set;
  // sigismember without its call: glibc keeps signal s in bit (s - 1) of the words.
  const auto* words = reinterpret_cast<const unsigned long*>(set);
  constexpr int kBits = 8 * sizeof(unsigned long);
  if (((words[(cs - 1) / kBits] >> ((cs - 1) % kBits)) & 1) == 0) return set;
  *copy = *set;
  sigdelset(copy, cs);
  return copy;
}

}  // namespace

CAIRN_PRELOAD_API int sigprocmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  auto real_fn = real::sigprocmask();
  if (real_fn == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  sigset_t copy;
  return real_fn(how, Unblockable(how, set, &copy), old);
}

CAIRN_PRELOAD_API int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  auto real_fn = real::pthread_sigmask();
  if (real_fn == nullptr) return ENOSYS;
  sigset_t copy;
  return real_fn(how, Unblockable(how, set, &copy), old);
}

// ------------------------------------------------------------------ sleeps

CAIRN_PRELOAD_API int clock_nanosleep(clockid_t clock, int flags, const struct timespec* req,
                                      struct timespec* rem) noexcept {
  auto real_fn = real::clock_nanosleep();
  if (real_fn == nullptr) return ENOSYS;
  struct timespec left = *req;
  for (;;) {
    const uint32_t before = CheckpointStopsOfThisThread();
    struct timespec r {
      0, 0
    };
    int rc = real_fn(clock, flags, &left, &r);
    if (rc != EINTR || CheckpointStopsOfThisThread() == before) {
      if (rc == EINTR && rem != nullptr && (flags & TIMER_ABSTIME) == 0) *rem = r;
      return rc;
    }
    if ((flags & TIMER_ABSTIME) == 0) left = r;
  }
}

CAIRN_PRELOAD_API int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (req == nullptr || req->tv_nsec < 0 || req->tv_nsec >= 1000000000L || req->tv_sec < 0) {
    errno = EINVAL;
    return -1;
  }
  int rc = clock_nanosleep(CLOCK_REALTIME, 0, req, rem);
  if (rc == 0) return 0;
  errno = rc;
  return -1;
}

CAIRN_PRELOAD_API unsigned int sleep(unsigned int seconds) {
  struct timespec req {
    static_cast<time_t>(seconds), 0
  };
  struct timespec rem {
    0, 0
  };
  if (nanosleep(&req, &rem) == 0) return 0;
  return static_cast<unsigned int>(rem.tv_sec) + (rem.tv_nsec > 0 ? 1 : 0);
}

CAIRN_PRELOAD_API int usleep(useconds_t usec) {
  struct timespec req {
    static_cast<time_t>(usec / 1000000), static_cast<long>(usec % 1000000) * 1000L
  };
  return nanosleep(&req, nullptr);
}

CAIRN_PRELOAD_API int inotify_add_watch(int fd, const char* path, uint32_t mask) noexcept {
  auto real_fn = real::inotify_add_watch();
  if (real_fn == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  Guard g;
  const int wd = real_fn(fd, path, mask);
  if (wd > 0) inotify_paths::Record(fd, wd, path);
  return wd;
}

CAIRN_PRELOAD_API int inotify_rm_watch(int fd, int wd) noexcept {
  auto real_fn = real::inotify_rm_watch();
  if (real_fn == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  Guard g;
  const int rc = real_fn(fd, wd);
  if (rc == 0) inotify_paths::Forget(fd, wd);
  return rc;
}
