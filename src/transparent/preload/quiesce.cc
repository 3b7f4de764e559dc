// See quiesce.h.
#include "transparent/preload/quiesce.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "transparent/preload/futex.h"
#include "transparent/preload/gate.h"
#include "transparent/preload/real.h"

namespace cairn::preload {
namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_active{false};       // a checkpoint is quiescing
std::atomic<uint32_t> g_epoch{0};        // incremented per checkpoint
std::atomic<uint32_t> g_release_gen{0};  // incremented by Release()
std::atomic<uint32_t> g_parked{0};       // threads parked in this epoch

__attribute__((tls_model("initial-exec"))) thread_local uint32_t tl_stops = 0;

// glibc's belief that the process has one thread, as QuiesceAll found it (uncounted_thread.h):
// false while the threads are parked, so that the checkpoint thread and the threads it starts
// (a forked writer's compression workers) take glibc's locking paths; restored by Release().
bool g_counted_while_parked = false;
char g_single_before = 0;

uint64_t MaskBits(const sigset_t& set) {
  uint64_t bits = 0;
  static_assert(sizeof(sigset_t) >= sizeof(uint64_t));
  std::memcpy(&bits, &set, sizeof bits);  // glibc: bit (signo - 1) of the first word
  return bits;
}

void Handler(int, siginfo_t*, void* uc_void) {
  int saved_errno = errno;
  ThreadSlot* slot = CurrentSlot();
  const uint32_t gen = g_release_gen.load(std::memory_order_seq_cst);
  const uint32_t epoch = g_epoch.load(std::memory_order_seq_cst);
  if (slot == nullptr || !g_active.load(std::memory_order_seq_cst) ||
      slot->parked_epoch.load() == epoch) {
    errno = saved_errno;
    return;
  }
  if (gate::InsideCall()) {  // inside malloc & co.: park when the call is done (gate.h)
    gate::Defer();
    errno = saved_errno;
    return;
  }
  ++tl_stops;
  auto* uc = static_cast<ucontext_t*>(uc_void);
  slot->sigmask = MaskBits(uc->uc_sigmask);
  slot->fs_base = ReadFsBase();
  ::sigaltstack(nullptr, &slot->altstack);
  ::getcontext(&slot->context);
  // After a restart, getcontext returns here a second time, on this thread's own stack: the
  // temporary stack it was re-created on can go.
  if (slot->restart_stack != nullptr) {
    ::munmap(slot->restart_stack, slot->restart_stack_size);
    slot->restart_stack = nullptr;
  }
  slot->parked_epoch.store(epoch, std::memory_order_seq_cst);
  g_parked.fetch_add(1, std::memory_order_seq_cst);  // (a futex word: wakes the waiter)
  FutexWakeAll(&g_parked);
  while (g_release_gen.load(std::memory_order_seq_cst) == gen) FutexWait(&g_release_gen, gen);
  errno = saved_errno;
}

}  // namespace

uint64_t ReadFsBase() {
#if defined(__x86_64__)
  unsigned long fs = 0;
  ::syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
  return fs;
#elif defined(__aarch64__)
  uint64_t tp;
  __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
  return tp;
#else
  return 0;
#endif
}

uint32_t CheckpointStopsOfThisThread() { return tl_stops; }

int CheckpointSignal() { return g_signal.load(std::memory_order_relaxed); }

Status InstallCheckpointHandler() {
  int sig = SIGRTMIN + 2;
  if (const char* s = std::getenv("CAIRN_CKPT_SIGNAL"); s != nullptr && *s != '\0') {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > SIGRTMAX || v == SIGKILL || v == SIGSTOP) {
      return Status::InvalidArgument(std::string("CAIRN_CKPT_SIGNAL='") + s +
                                     "' is not a usable signal number");
    }
    sig = static_cast<int>(v);
  }
  auto sa_fn = real::sigaction();
  if (sa_fn == nullptr) return Status::Internal("real sigaction not found");
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = &Handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sa_fn(sig, &sa, nullptr) != 0) {
    return Status::FromErrno(
        "cannot install the checkpoint handler for signal " + std::to_string(sig), errno);
  }
  g_signal.store(sig);
  return Status::Ok();
}

namespace {

// Whether `t` (sent the signal as `tid` in this checkpoint) needs no more waiting: parked
// in this checkpoint, or gone (exited and unregistered, possibly reused by another thread).
bool Settled(ThreadSlot* t, pid_t tid, uint32_t first_epoch) {
  return t->parked_epoch.load(std::memory_order_seq_cst) >= first_epoch ||
         !__atomic_load_n(&t->in_use, __ATOMIC_SEQ_CST) || t->tid != tid;
}

}  // namespace

Status QuiesceAll(int timeout_ms, std::vector<ThreadSlot*>* parked) {
  parked->clear();
  const uint32_t first_epoch = g_epoch.load() + 1;
  const int64_t deadline = NowMs() + timeout_ms;
  const pid_t pid = ::getpid();
  std::vector<ThreadSlot*> slots(kMaxThreads);
  // Rounds: threads that registered meanwhile (a pthread_create that was under way) are
  // stopped in the next round; done when a snapshot finds nobody new.
  for (;;) {
    const size_t n = std::min(Snapshot(slots.data(), slots.size()), slots.size());
    std::vector<std::pair<ThreadSlot*, pid_t>> sent;
    g_epoch.fetch_add(1);  // the handler parks threads under this new epoch
    g_active.store(true, std::memory_order_seq_cst);
    for (size_t i = 0; i < n; ++i) {
      ThreadSlot* t = slots[i];
      const pid_t tid = t->tid;
      if (tid == 0 || t->parked_epoch.load() >= first_epoch) continue;
      if (::syscall(SYS_tgkill, pid, tid, g_signal.load()) == 0) {
        sent.emplace_back(t, tid);
      } else if (errno != ESRCH) {
        int e = errno;
        Release();
        return Status::FromErrno("tgkill of thread " + std::to_string(tid), e);
      }  // ESRCH: the thread is gone (exited without unregistering)
    }
    if (sent.empty()) break;
    for (;;) {
      const uint32_t seen = g_parked.load(std::memory_order_seq_cst);
      std::string missing;
      size_t waiting = 0;
      for (const auto& [t, tid] : sent) {
        if (!Settled(t, tid, first_epoch)) {
          ++waiting;
          missing += " " + std::to_string(tid);
        }
      }
      if (waiting == 0) break;
      const int64_t left = deadline - NowMs();
      if (left <= 0) {
        Release();
        return Status::Unavailable("checkpoint: " + std::to_string(waiting) +
                                   " threads did not stop within " + std::to_string(timeout_ms) +
                                   " ms (tids" + missing + ")");
      }
      FutexWait(&g_parked, seen, static_cast<int>(left < 50 ? left : 50));
    }
  }
  const size_t n = std::min(Snapshot(slots.data(), slots.size()), slots.size());
  for (size_t i = 0; i < n; ++i) {
    if (slots[i]->parked_epoch.load() >= first_epoch) parked->push_back(slots[i]);
  }
  if (!g_counted_while_parked) {
    g_single_before = __libc_single_threaded;
    __libc_single_threaded = 0;
    g_counted_while_parked = true;
  }
  return Status::Ok();
}

void Release() {
  if (g_counted_while_parked) {
    __libc_single_threaded = g_single_before;
    g_counted_while_parked = false;
  }
  g_active.store(false, std::memory_order_seq_cst);
  g_release_gen.fetch_add(1, std::memory_order_seq_cst);
  FutexWakeAll(&g_release_gen);
}

}  // namespace cairn::preload
