// See raw_threads.h.
#include "transparent/preload/raw_threads.h"

#include <linux/futex.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "transparent/preload/private_heap.h"

#if defined(__x86_64__)
// clone(flags, child_sp, ptid, ctid, tls); the child pops fn and arg from its new stack and
// calls fn(arg) (fn never returns).
__asm__(
    ".text\n"
    ".globl cairn_raw_clone\n"
    ".hidden cairn_raw_clone\n"
    ".type cairn_raw_clone,@function\n"
    "cairn_raw_clone:\n"
    "  mov %rcx, %r10\n"
    "  mov $56, %eax\n"
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  pop %rax\n"
    "  pop %rdi\n"
    "  and $-16, %rsp\n"
    "  call *%rax\n"
    "  ud2\n"
    "1:\n"
    "  ret\n"
    ".size cairn_raw_clone, .-cairn_raw_clone\n");
#endif

namespace cairn::preload {
namespace {

constexpr size_t kStack = 1u << 20;
constexpr int kMaxWorkers = 64;

struct Worker {
  void (*body)(void*, int);
  void* arg;
  int index;
  pid_t ctid;  // cleared (and futex-woken) by the kernel when the thread has exited
  void* stack;
};

[[noreturn]] void Entry(void* p) {
  auto* w = static_cast<Worker*>(p);
  w->body(w->arg, w->index);
  ::syscall(SYS_exit, 0);
  __builtin_unreachable();
}

}  // namespace

void RunOnRawThreads(int threads, void (*body)(void* arg, int index), void* arg) {
  Worker w[kMaxWorkers];
  int started = 0;
  bool inline_run[kMaxWorkers] = {};
  if (threads > kMaxWorkers) threads = kMaxWorkers;
  // They share the caller's TLS, so none of them may use the private heap's thread cache.
  heap::SharedTlsThreads(threads - 1);
  for (int i = 1; i < threads; ++i) {
    w[i] = Worker{body, arg, i, -1, nullptr};
    void* mem = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long r = -1;
    if (mem != MAP_FAILED) {
      w[i].stack = mem;
      auto* top = reinterpret_cast<uint64_t*>(static_cast<char*>(mem) + kStack) - 2;
      top[0] = reinterpret_cast<uint64_t>(&Entry);
      top[1] = reinterpret_cast<uint64_t>(&w[i]);
      const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                  CLONE_SYSVSEM | CLONE_CHILD_CLEARTID;
      r = cairn_raw_clone(flags, top, nullptr, &w[i].ctid, 0);
    }
    if (r < 0) {
      if (mem != MAP_FAILED) ::munmap(mem, kStack);
      w[i].stack = nullptr;
      inline_run[i] = true;
    } else {
      ++started;
    }
  }
  body(arg, 0);
  for (int i = 1; i < threads; ++i) {
    if (inline_run[i]) body(arg, i);
  }
  for (int i = 1; i < threads; ++i) {
    if (w[i].stack == nullptr) continue;
    for (;;) {
      const pid_t v = __atomic_load_n(&w[i].ctid, __ATOMIC_ACQUIRE);
      if (v == 0) break;
      ::syscall(SYS_futex, &w[i].ctid, FUTEX_WAIT, v, nullptr, nullptr, 0);
    }
    ::munmap(w[i].stack, kStack);
  }
  heap::SharedTlsThreads(-(threads - 1));
  (void)started;
}

}  // namespace cairn::preload
