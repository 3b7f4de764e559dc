// See uncounted_thread.h. x86-64 glibc (TLS variant II: the static TLS blocks lie below the
// thread pointer, the thread control block, struct pthread, at it).
#include "transparent/preload/uncounted_thread.h"

#include <dlfcn.h>
#include <link.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "transparent/preload/quiesce.h"
#include "transparent/preload/raw_threads.h"
#include "transparent/preload/restart.h"

namespace cairn::preload {
namespace {

constexpr size_t kStack = size_t{8} << 20;  // glibc's default thread stack
constexpr size_t kPage = 4096;
constexpr size_t kSpareModules = 64;  // DTV slots for modules dlopen()ed later: never resized

// glibc's dtv_t: a slot count (dtv[-1]), a generation (dtv[0]), then one entry per module.
union DtvEntry {
  size_t counter;
  struct {
    void* val;
    void* to_free;
  } pointer;
};
// The first words of struct pthread on x86-64 (tcbhead_t).
struct TcbHead {
  void* tcb;
  DtvEntry* dtv;
  void* self;
};
void* const kUnallocated = reinterpret_cast<void*>(-1L);  // TLS_DTV_UNALLOCATED

struct Start {
  void (*fn)(void*);
  void* arg;
  void (*ctype_init)();
};

[[noreturn]] void Entry(void* p) {
  const Start s = *static_cast<const Start*>(p);
  s.ctype_init();
  s.fn(s.arg);
  ::syscall(SYS_exit, 0);
  __builtin_unreachable();
}

// Copies each module's TLS initialization image into its block of the new static TLS.
struct CopyImages {
  uintptr_t lo, tp;  // the caller's static TLS
  intptr_t delta;    // new - old
};

int CopyImage(dl_phdr_info* info, size_t, void* p) {
  const auto* c = static_cast<const CopyImages*>(p);
  const auto data = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
  if (info->dlpi_tls_modid == 0 || data < c->lo || data >= c->tp) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_TLS || ph.p_filesz == 0) continue;
    std::memcpy(reinterpret_cast<void*>(data + c->delta),
                reinterpret_cast<const void*>(info->dlpi_addr + ph.p_vaddr), ph.p_filesz);
  }
  return 0;
}

}  // namespace

Status StartUncountedThread(void (*fn)(void*), void* arg) {
  const char* choice = std::getenv("CAIRN_CKPT_THREAD");
  if (choice != nullptr && std::strcmp(choice, "pthread") == 0) {
    return Status::FailedPrecondition("CAIRN_CKPT_THREAD=pthread");
  }
  if (__libc_single_threaded == 0) {
    return Status::FailedPrecondition("the process already has several threads");
  }
  using StaticInfo = void (*)(size_t*, size_t*);
  auto static_info = reinterpret_cast<StaticInfo>(::dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"));
  const auto* tcb_size_p =
      static_cast<const uint32_t*>(::dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread"));
  auto ctype_init = reinterpret_cast<void (*)()>(::dlsym(RTLD_DEFAULT, "__ctype_init"));
  if (static_info == nullptr || tcb_size_p == nullptr || ctype_init == nullptr) {
    return Status::FailedPrecondition("glibc's TLS layout is not published");
  }
  size_t static_size = 0, align = 0;
  static_info(&static_size, &align);
  const size_t tcb = *tcb_size_p;
  const uintptr_t tp = ReadFsBase();  // (quiesce.h)
  if (tp == 0 || tcb < sizeof(TcbHead) || static_size <= tcb || static_size > (size_t{64} << 20) ||
      align == 0 || (align & (align - 1)) != 0 || align > kPage ||
      reinterpret_cast<const TcbHead*>(tp)->self != reinterpret_cast<void*>(tp)) {
    return Status::FailedPrecondition("glibc's TLS layout is not as expected");
  }
  const DtvEntry* old_dtv = reinterpret_cast<const TcbHead*>(tp)->dtv;
  const size_t modules = old_dtv[-1].counter;
  const long tid_offset = restart::TidOffset();
  if (modules == 0 || modules > 100000 || tid_offset < 0 ||
      static_cast<size_t>(tid_offset) + sizeof(pid_t) > tcb) {
    return Status::FailedPrecondition("glibc's thread control block is not as expected");
  }

  // One mapping: guard page, stack, static TLS + TCB, DTV, start record.
  const size_t slots = modules + kSpareModules;
  const size_t tls_bytes = static_size + align;
  const size_t dtv_bytes = (slots + 2) * sizeof(DtvEntry);
  const size_t total =
      (kPage + kStack + tls_bytes + dtv_bytes + sizeof(Start) + 64 + kPage - 1) & ~(kPage - 1);
  void* mem = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return Status::FromErrno("mmap (the checkpoint thread)", errno);
  const auto base = reinterpret_cast<uintptr_t>(mem);
  (void)::mprotect(mem, kPage, PROT_NONE);
  const uintptr_t stack_top = base + kPage + kStack;
  const uintptr_t lo = (stack_top + align - 1) & ~(align - 1);
  const uintptr_t new_tp = lo + static_size - tcb;
  const intptr_t delta = static_cast<intptr_t>(new_tp - tp);
  const uintptr_t old_lo = tp - (static_size - tcb);

  std::memcpy(reinterpret_cast<void*>(new_tp), reinterpret_cast<const void*>(tp), tcb);
  CopyImages images{old_lo, tp, delta};
  ::dl_iterate_phdr(&CopyImage, &images);

  auto* dtv = reinterpret_cast<DtvEntry*>((new_tp + tcb + 15) & ~uintptr_t{15});
  dtv[0].counter = slots;
  dtv[1] = old_dtv[0];  // the generation
  for (size_t i = 1; i <= slots; ++i) {
    DtvEntry e{};
    e.pointer.val = kUnallocated;
    if (i <= modules) {
      e = old_dtv[i];
      const auto v = reinterpret_cast<uintptr_t>(e.pointer.val);
      if (v >= old_lo && v < tp) e.pointer.val = reinterpret_cast<void*>(v + delta);
    }
    dtv[i + 1] = e;
  }
  auto* head = reinterpret_cast<TcbHead*>(new_tp);
  head->tcb = head->self = reinterpret_cast<void*>(new_tp);
  head->dtv = dtv + 1;
  auto* tid = reinterpret_cast<pid_t*>(new_tp + static_cast<uintptr_t>(tid_offset));
  *tid = 0;

  auto* start = reinterpret_cast<Start*>(dtv + slots + 2);
  *start = Start{fn, arg, ctype_init};
  auto* sp = reinterpret_cast<uint64_t*>(stack_top & ~uintptr_t{15}) - 2;
  sp[0] = reinterpret_cast<uint64_t>(&Entry);
  sp[1] = reinterpret_cast<uint64_t>(start);
  const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                              CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                              CLONE_CHILD_CLEARTID;
  const long r = cairn_raw_clone(flags, sp, tid, tid, new_tp);
  if (r < 0) {
    ::munmap(mem, total);
    return Status::FromErrno("clone (the checkpoint thread)", static_cast<int>(-r));
  }
  return Status::Ok();
}

}  // namespace cairn::preload
