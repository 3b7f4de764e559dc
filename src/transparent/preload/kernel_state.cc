// See kernel_state.h.
#include "transparent/preload/kernel_state.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "common/log.h"
#include "transparent/procfs.h"

namespace cairn::preload::kstate {
namespace {

namespace tr = cairn::transparent;

constexpr int kPrTimerCreateRestoreIds = 77;  // Linux >= 6.17 (uapi/linux/prctl.h)
constexpr int kGlibcTimerSignal = 32;         // SIGTIMER of glibc's SIGEV_THREAD helper
constexpr int kMaxTimers = 256;

// The kernel's struct sigevent for timer_create (the SIGEV_THREAD_ID tid in the union).
struct KernelSigevent {
  union {
    int sival_int;
    void* sival_ptr;
  } value;
  int signo;
  int notify;
  union {
    int tid;
    char pad[64 - 2 * sizeof(int) - sizeof(void*)];
  } un;
};
static_assert(sizeof(KernelSigevent) == 64);

struct SavedTimer {
  int id;
  int clock;
  int signo;
  int notify;  // SIGEV_* (SIGEV_THREAD_ID included)
  int tid;     // old tid for SIGEV_THREAD_ID
  uint64_t value;
  struct itimerspec spec;
  bool restorable;
};

// Library memory: comes back with a restored process.
struct itimerval g_itimers[3];
bool g_itimer_ok[3];
SavedTimer g_timers[kMaxTimers];
int g_ntimers = 0;
uint64_t g_shared_pending = 0;
// The shared queue itself (siginfo and multiplicity of queued real-time signals), in order.
constexpr int kMaxQueued = 1024;
siginfo_t g_shared_queue[kMaxQueued];
int g_nshared_queue = 0;
pid_t g_old_tids[kMaxThreads];
uint64_t g_thread_pending[kMaxThreads];
size_t g_nthreads = 0;
int g_checkpoint_signal = 0;

// For the image (std containers: the checkpoint thread only).
tr::TimerState g_timer_state;
tr::SignalState g_signal_state;

uint64_t Hex(const std::string& s) { return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 16); }

uint64_t WithoutCheckpointSignal(uint64_t set) {
  if (g_checkpoint_signal > 0) set &= ~(1ULL << (g_checkpoint_signal - 1));
  return set;
}

uint64_t Ns(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ULL + static_cast<uint64_t>(t.tv_nsec);
}
uint64_t Ns(const struct timeval& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ULL +
         static_cast<uint64_t>(t.tv_usec) * 1000ULL;
}

// Parses /proc/self/timers:
//   ID: 0
//   signal: 14/0000000000000000
//   notify: signal/pid.1234        (or thread/tid.N, none/pid.N)
//   ClockID: 1
void SavePosixTimers() {
  g_ntimers = 0;
  const std::string text = tr::ReadProcText("/proc/self/timers");
  size_t pos = 0;
  SavedTimer cur{};
  bool have = false;
  auto flush = [&] {
    if (!have) return;
    have = false;
    if (g_ntimers >= kMaxTimers) {
      log::Warn("preload: more than ", kMaxTimers, " POSIX timers; the rest are not saved");
      return;
    }
    if (::syscall(SYS_timer_gettime, cur.id, &cur.spec) != 0) return;  // deleted meanwhile
    cur.restorable = !(cur.signo == kGlibcTimerSignal && (cur.notify & SIGEV_THREAD_ID) != 0);
    if (!cur.restorable) {
      log::Warn("preload: POSIX timer ", cur.id,
                " uses SIGEV_THREAD (glibc's helper thread); it is not restored on restart");
    }
    g_timers[g_ntimers++] = cur;
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.starts_with("ID: ")) {
      flush();
      cur = SavedTimer{};
      cur.id = std::atoi(line.c_str() + 4);
      have = true;
    } else if (line.starts_with("signal: ")) {
      cur.signo = std::atoi(line.c_str() + 8);
      size_t slash = line.find('/');
      if (slash != std::string::npos) cur.value = Hex(line.substr(slash + 1));
    } else if (line.starts_with("notify: ")) {
      const std::string v = line.substr(8);
      if (v.starts_with("signal/")) cur.notify = SIGEV_SIGNAL;
      if (v.starts_with("none/")) cur.notify = SIGEV_NONE;
      if (v.starts_with("thread/")) cur.notify = SIGEV_THREAD;
      size_t dot = v.find('.');
      if (v.find("/tid.") != std::string::npos && dot != std::string::npos) {
        cur.notify |= SIGEV_THREAD_ID;
        cur.tid = std::atoi(v.c_str() + dot + 1);
      }
    } else if (line.starts_with("ClockID: ")) {
      cur.clock = std::atoi(line.c_str() + 9);
    }
  }
  flush();
}

void RequeueShared();

// Takes every signal off the shared queue (this thread blocks all signals and has none of its
// own pending, so sigtimedwait dequeues the process's) and queues each back at once, in order,
// with its siginfo: the running process sees no difference, and a restart can queue the same.
void SaveSharedQueue() {
  g_nshared_queue = 0;
  if (g_shared_pending == 0) return;
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig <= 64; ++sig) {
    if ((g_shared_pending & (1ULL << (sig - 1))) != 0) sigaddset(&set, sig);
  }
  const struct timespec zero = {0, 0};
  while (g_nshared_queue < kMaxQueued) {
    siginfo_t info;
    if (::sigtimedwait(&set, &info, &zero) <= 0) break;
    g_shared_queue[g_nshared_queue++] = info;
  }
  if (g_nshared_queue == kMaxQueued) {
    log::Warn("preload: more than ", kMaxQueued, " queued signals; the rest stay bits only");
  }
  RequeueShared();
}

void RequeueShared() {
  const pid_t pid = ::getpid();
  for (int i = 0; i < g_nshared_queue; ++i) {
    siginfo_t info = g_shared_queue[i];
    if (::syscall(SYS_rt_sigqueueinfo, pid, info.si_signo, &info) != 0) {
      ::kill(pid, info.si_signo);
    }
  }
}

pid_t NewTid(pid_t old_tid, ThreadSlot* const* slots, size_t n) {
  for (size_t i = 0; i < n && i < g_nthreads; ++i) {
    if (g_old_tids[i] == old_tid) return slots[i]->tid;
  }
  return 0;
}

// timer_create with the id `want`: through PR_TIMER_CREATE_RESTORE_IDS when `exact`, else by
// creating timers until the kernel hands out `want` (ids are sequential on older kernels).
bool CreateTimerWithId(const SavedTimer& t, KernelSigevent* ev, bool exact) {
  int id = t.id;
  if (exact) {
    if (::syscall(SYS_timer_create, t.clock, ev, &id) == 0 && id == t.id) return true;
    if (id != t.id) ::syscall(SYS_timer_delete, id);
    return false;
  }
  int extra[kMaxTimers];
  int nextra = 0;
  bool ok = false;
  for (int tries = 0; tries < kMaxTimers; ++tries) {
    int got = -1;
    if (::syscall(SYS_timer_create, t.clock, ev, &got) != 0) break;
    if (got == t.id) {
      ok = true;
      break;
    }
    extra[nextra++] = got;
    if (got > t.id) break;
  }
  for (int i = 0; i < nextra; ++i) ::syscall(SYS_timer_delete, extra[i]);
  return ok;
}

}  // namespace

void Save(const std::vector<ThreadSlot*>& parked, int checkpoint_signal) {
  g_checkpoint_signal = checkpoint_signal;
  const int which[3] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
  tr::IntervalTimer* rec[3] = {&g_timer_state.real, &g_timer_state.virt, &g_timer_state.prof};
  for (int i = 0; i < 3; ++i) {
    g_itimer_ok[i] = ::getitimer(which[i], &g_itimers[i]) == 0;
    *rec[i] = {};
    if (g_itimer_ok[i]) {
      rec[i]->value_ns = Ns(g_itimers[i].it_value);
      rec[i]->interval_ns = Ns(g_itimers[i].it_interval);
    }
  }
  SavePosixTimers();
  g_timer_state.posix_timers.clear();
  for (int i = 0; i < g_ntimers; ++i) {
    const SavedTimer& t = g_timers[i];
    tr::PosixTimer p;
    p.timer_id = t.id;
    p.clock_id = t.clock;
    KernelSigevent ev{};
    ev.value.sival_ptr = reinterpret_cast<void*>(t.value);
    ev.signo = t.signo;
    ev.notify = t.notify;
    ev.un.tid = t.tid;
    p.sigevent.assign(reinterpret_cast<const char*>(&ev), sizeof ev);
    p.value_ns = Ns(t.spec.it_value);
    p.interval_ns = Ns(t.spec.it_interval);
    g_timer_state.posix_timers.push_back(std::move(p));
  }

  g_shared_pending =
      WithoutCheckpointSignal(Hex(tr::ProcField(tr::ReadProcText("/proc/self/status"), "ShdPnd")));
  SaveSharedQueue();
  g_signal_state = {};
  g_signal_state.process_pending = g_shared_pending;
  g_nthreads = 0;
  for (ThreadSlot* s : parked) {
    if (g_nthreads >= kMaxThreads) break;
    const std::string path = "/proc/self/task/" + std::to_string(s->tid) + "/status";
    const uint64_t pending =
        WithoutCheckpointSignal(Hex(tr::ProcField(tr::ReadProcText(path.c_str()), "SigPnd")));
    g_old_tids[g_nthreads] = s->tid;
    g_thread_pending[g_nthreads] = pending;
    ++g_nthreads;
    g_signal_state.thread_pending.push_back({s->tid, pending});
    CPU_ZERO(&s->affinity);
    s->affinity_ok = ::sched_getaffinity(s->tid, sizeof s->affinity, &s->affinity) == 0;
  }
}

const tr::TimerState& Timers() { return g_timer_state; }

void ForgetRecordsAfterRestart() {
  new (&g_timer_state) tr::TimerState();
  new (&g_signal_state) tr::SignalState();
}
const tr::SignalState& PendingSignals() { return g_signal_state; }

void RestoreThread(const ThreadSlot& slot) {
  if (slot.affinity_ok && ::sched_setaffinity(0, sizeof slot.affinity, &slot.affinity) != 0) {
    log::Warn("preload: restart: cannot restore the CPU affinity of a thread: ",
              std::strerror(errno));
  }
  if ((slot.altstack.ss_flags & SS_DISABLE) == 0 && slot.altstack.ss_sp != nullptr) {
    stack_t ss = slot.altstack;
    ss.ss_flags = 0;
    if (::sigaltstack(&ss, nullptr) != 0) {
      log::Warn("preload: restart: cannot restore a thread's alternate signal stack: ",
                std::strerror(errno));
    }
  }
}

void RestoreProcess(ThreadSlot* const* slots, size_t n) {
  const int which[3] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
  for (int i = 0; i < 3; ++i) {
    if (!g_itimer_ok[i]) continue;
    itimerval t = g_itimers[i];
    const bool expired = t.it_value.tv_sec == 0 && t.it_value.tv_usec == 0;
    const bool periodic = t.it_interval.tv_sec != 0 || t.it_interval.tv_usec != 0;
    if (expired && !periodic) continue;
    // A periodic ITIMER_REAL that expired while the threads were stopped reads 0 until its
    // SIGALRM is taken (the kernel re-arms it then); the signal is restored as pending, so
    // the timer runs on with its full period.
    if (expired) t.it_value = t.it_interval;
    if (::setitimer(which[i], &t, nullptr) != 0) {
      log::Warn("preload: restart: cannot re-arm interval timer ", i, ": ", std::strerror(errno));
    }
  }

  const bool exact = g_ntimers > 0 && ::prctl(kPrTimerCreateRestoreIds, 1, 0, 0, 0) == 0;
  for (int i = 0; i < g_ntimers; ++i) {
    const SavedTimer& t = g_timers[i];
    if (!t.restorable) continue;
    KernelSigevent ev{};
    ev.value.sival_ptr = reinterpret_cast<void*>(t.value);
    ev.signo = t.signo;
    ev.notify = t.notify;
    if ((t.notify & SIGEV_THREAD_ID) != 0) {
      ev.un.tid = NewTid(t.tid, slots, n);
      if (ev.un.tid == 0) {
        log::Warn("preload: restart: POSIX timer ", t.id, " targets thread ", t.tid,
                  ", which was not restored; timer dropped");
        continue;
      }
    }
    if (!CreateTimerWithId(t, &ev, exact)) {
      log::Warn("preload: restart: cannot re-create POSIX timer ", t.id, " with its id");
      continue;
    }
    if ((t.spec.it_value.tv_sec != 0 || t.spec.it_value.tv_nsec != 0) &&
        ::syscall(SYS_timer_settime, t.id, 0, &t.spec, nullptr) != 0) {
      log::Warn("preload: restart: cannot re-arm POSIX timer ", t.id, ": ", std::strerror(errno));
    }
  }
  if (exact) ::prctl(kPrTimerCreateRestoreIds, 0, 0, 0, 0);

  const pid_t pid = ::getpid();
  for (size_t i = 0; i < n && i < g_nthreads; ++i) {
    for (int sig = 1; sig <= 64; ++sig) {
      if ((g_thread_pending[i] & (1ULL << (sig - 1))) == 0) continue;
      ::syscall(SYS_tgkill, pid, slots[i]->tid, sig);
    }
  }
  // The shared queue as saved; signals pending without a saved entry, by number.
  uint64_t queued = 0;
  for (int i = 0; i < g_nshared_queue; ++i) queued |= 1ULL << (g_shared_queue[i].si_signo - 1);
  RequeueShared();
  for (int sig = 1; sig <= 64; ++sig) {
    const uint64_t bit = 1ULL << (sig - 1);
    if ((g_shared_pending & bit) != 0 && (queued & bit) == 0) ::kill(pid, sig);
  }
}

}  // namespace cairn::preload::kstate
