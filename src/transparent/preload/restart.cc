// See restart.h.
#include "transparent/preload/restart.h"

#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/log.h"
#include "transparent/preload/control.h"
#include "transparent/preload/gate.h"
#include "transparent/preload/kernel_state.h"
#include "transparent/preload/private_heap.h"
#include "transparent/preload/quiesce.h"
#include "transparent/preload/raw_threads.h"
#include "transparent/preload/real.h"

extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
void cairn_preload_restart_entry();
// glibc's idea of the program break (sbrk). The kernel's break is now the restorer's.
extern void* __curbrk __attribute__((weak));
}

namespace cairn::preload::restart {
namespace {

// The restored checkpoint thread runs here for good, and may bring up a new MPI library (deep
// call chains): as large as a default thread stack; untouched pages cost nothing and are never
// saved (all-zero).
constexpr size_t kRestartStackSize = 8 << 20;
alignas(64) char g_restart_stack[kRestartStackSize];
bool g_reserved = false;
long g_tid_offset = -1;  // of glibc's cached tid in struct pthread, from the thread pointer
std::atomic<bool> g_restored{false};

void (*g_restart_hook)() = nullptr;  // lower_api.h: cairn_preload_set_restart_hook

ThreadSlot* g_parked[kMaxThreads];
size_t g_nparked = 0;
struct sigaction g_actions[65];
bool g_action_ok[65];

long RawSyscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  return ::syscall(n, a, b, c, d);
}

uint64_t ThreadPointer() {
  uint64_t tp = 0;
#if defined(__x86_64__)
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
#endif
  return tp;
}

void RegisterRseq(uint64_t tp) {
  if (&__rseq_size == nullptr || &__rseq_offset == nullptr || __rseq_size == 0) return;
  void* area = reinterpret_cast<void*>(tp + static_cast<uint64_t>(__rseq_offset));
  long r = RawSyscall(SYS_rseq, reinterpret_cast<long>(area), 32, 0, 0x53053053);
  if (r != 0) {
    log::Warn("preload: restart: rseq registration failed: ", std::strerror(errno));
  }
}

void PatchTid(uint64_t tp, pid_t tid) {
  if (g_tid_offset >= 0) *reinterpret_cast<pid_t*>(tp + static_cast<uint64_t>(g_tid_offset)) = tid;
}

// A re-created user thread: its own TLS is set (CLONE_SETTLS), its tid patched by the
// kernel (CLONE_PARENT_SETTID); back into its checkpoint handler.
[[noreturn]] void ResumeThread(void* p) {
  auto* slot = static_cast<ThreadSlot*>(p);
  RegisterRseq(slot->fs_base);
  kstate::RestoreThread(*slot);
  ::setcontext(&slot->context);
  log::Error("preload: restart: setcontext failed");
  ::syscall(SYS_exit_group, 112);
  __builtin_unreachable();
}

Status CreateThread(ThreadSlot* slot) {
  constexpr size_t kTempStack = 64 * 1024;
  void* mem =
      ::mmap(nullptr, kTempStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return Status::FromErrno("mmap of a thread's restart stack", errno);
  auto* top = reinterpret_cast<uint64_t*>(static_cast<char*>(mem) + kTempStack);
  top -= 2;
  top[0] = reinterpret_cast<uint64_t>(&ResumeThread);
  top[1] = reinterpret_cast<uint64_t>(slot);
  slot->restart_stack = mem;
  slot->restart_stack_size = kTempStack;
  pid_t* tidp =
      g_tid_offset >= 0 ? reinterpret_cast<pid_t*>(slot->fs_base + g_tid_offset) : nullptr;
  unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                        CLONE_SYSVSEM | CLONE_SETTLS;
  if (tidp != nullptr) flags |= CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  long r = cairn_raw_clone(flags, top, tidp, tidp, slot->fs_base);
  if (r < 0) {
    ::munmap(mem, kTempStack);
    slot->restart_stack = nullptr;
    return Status::FromErrno("clone of a restored thread", static_cast<int>(-r));
  }
  slot->tid = static_cast<pid_t>(r);
  return Status::Ok();
}

}  // namespace

bool ReserveRestorerRange() {
  void* want = reinterpret_cast<void*>(CAIRN_RESERVE_BASE);
  void* p = ::mmap(want, CAIRN_RESERVE_SIZE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != want) {
    if (p != MAP_FAILED) ::munmap(p, CAIRN_RESERVE_SIZE);
    log::Warn(
        "preload: cannot reserve the restorer's address range; images of this process "
        "cannot be restarted");
    return false;
  }
  g_reserved = true;
  return true;
}

void LearnThreadLayout() {
  if (g_tid_offset >= 0) return;
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const auto* base = reinterpret_cast<const unsigned char*>(ThreadPointer());
  if (base == nullptr) return;
  for (long off = 0; off + static_cast<long>(sizeof(pid_t)) <= 4096; off += 4) {
    pid_t v;
    std::memcpy(&v, base + off, sizeof v);
    if (v == tid) {
      g_tid_offset = off;
      return;
    }
  }
  log::Warn("preload: cannot find the cached tid in struct pthread; restarts may misbehave");
}

long TidOffset() {
  LearnThreadLayout();
  return g_tid_offset;
}

void PrepareCheckpoint(const std::vector<ThreadSlot*>& parked) {
  g_nparked = 0;
  for (ThreadSlot* s : parked) {
    if (g_nparked < kMaxThreads) g_parked[g_nparked++] = s;
  }
  auto sa = real::sigaction();
  for (int sig = 1; sig <= 64; ++sig) {
    g_action_ok[sig] = sa != nullptr && sa(sig, nullptr, &g_actions[sig]) == 0;
  }
  kstate::Save(parked, CheckpointSignal());
}

void FixCachedTidAfterClone() {
  if (const uint64_t tp = ThreadPointer(); tp != 0) {
    PatchTid(tp, static_cast<pid_t>(::syscall(SYS_gettid)));
  }
}

bool GetRestartInfo(CairnRestartInfo* out) {
  if (!g_reserved || g_tid_offset < 0) return false;
  out->magic = CAIRN_PLAN_MAGIC;
  out->entry = reinterpret_cast<uint64_t>(&cairn_preload_restart_entry);
  out->stack_top = reinterpret_cast<uint64_t>(g_restart_stack + kRestartStackSize);
  out->reserve_base = CAIRN_RESERVE_BASE;
  out->reserve_size = CAIRN_RESERVE_SIZE;
  return true;
}

bool Restored() { return g_restored.load(); }

}  // namespace cairn::preload::restart

namespace rs = cairn::preload::restart;

extern "C" __attribute__((used)) void cairn_preload_restart_entry() {
  using namespace cairn::preload;
  sigset_t all;
  sigfillset(&all);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, 8);
  // The private heap came back empty (its pages are never saved): reset it before anything
  // allocates, and drop the library objects that pointed into it.
  heap::ResetAfterRestart();
  kstate::ForgetRecordsAfterRestart();
  const uint64_t tp = rs::ThreadPointer();
  rs::PatchTid(tp, static_cast<pid_t>(::syscall(SYS_gettid)));
  rs::RegisterRseq(tp);
  rs::g_restored.store(true);
  // sbrk() must continue from the kernel's break (the restorer's), not the saved heap's end:
  // glibc treats the new, non-contiguous break like a foreign sbrk.
  const long kernel_brk = ::syscall(SYS_brk, 0);
  if (&__curbrk != nullptr) __curbrk = reinterpret_cast<void*>(kernel_brk);
  // ... and must never grow there: the restorer's break lies wherever the kernel put it, maybe
  // below the restored heap's end, which glibc would take for a corrupted heap ("break
  // adjusted to free malloc space"). A guard page at the break makes sbrk() fail, and glibc
  // then extends its main arena with mmap (marking it non-contiguous).
  ::mmap(reinterpret_cast<void*>(kernel_brk), 4096, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  // The restorer and its plan go; the reservation comes back.
  ::mmap(reinterpret_cast<void*>(CAIRN_RESERVE_BASE), CAIRN_RESERVE_SIZE, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  if (auto sa = real::sigaction(); sa != nullptr) {
    for (int sig = 1; sig <= 64; ++sig) {
      if (!rs::g_action_ok[sig] || sig == SIGKILL || sig == SIGSTOP) continue;
      sa(sig, &rs::g_actions[sig], nullptr);
    }
  }
  for (size_t i = 0; i < rs::g_nparked; ++i) {
    cairn::Status st = rs::CreateThread(rs::g_parked[i]);
    if (!st.ok()) {
      cairn::log::Error("preload: restart failed: ", st.ToString());
      ::syscall(SYS_exit_group, 112);
    }
  }
  kstate::RestoreProcess(rs::g_parked, rs::g_nparked);
  Release();
  gate::UnlockWriter();
  if (rs::g_restart_hook != nullptr) rs::g_restart_hook();  // e.g. a new MPI lower half
  control::RunAfterRestart();
}

extern "C" __attribute__((visibility("default"))) void cairn_preload_set_restart_hook(
    void (*fn)(void)) {
  rs::g_restart_hook = fn;
}
