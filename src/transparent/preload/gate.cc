// See gate.h.
#include "transparent/preload/gate.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "transparent/preload/futex.h"
#include "transparent/preload/quiesce.h"

namespace cairn::preload::gate {

namespace detail {
std::atomic<uint32_t> g_writer{0};
__thread int tl_depth __attribute__((tls_model("initial-exec"))) = 0;
__thread bool tl_deferred __attribute__((tls_model("initial-exec"))) = false;
}  // namespace detail

namespace {

using detail::g_writer;
using detail::tl_depth;

using detail::kInternalDepth;
// tl_deferred: touched by this thread and by its own signal handler only, ordered against
// the handler with signal fences.
using detail::tl_deferred;

inline void Fence() { std::atomic_signal_fence(std::memory_order_seq_cst); }

// The handler deferred a park: take the checkpoint signal again now, outside any call.
void ParkIfDeferred() {
  Fence();
  if (!tl_deferred) return;
  tl_deferred = false;
  Fence();
  const int sig = CheckpointSignal();
  if (sig > 0) ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), sig);
}

}  // namespace

namespace detail {

void EnterSlow() {
  // Called at depth 1 with the flag up: step out, let the checkpoint park this thread, wait
  // until it is over, and enter again.
  for (;;) {
    --tl_depth;
    ParkIfDeferred();
    while (g_writer.load(std::memory_order_acquire) != 0) FutexWait(&g_writer, 1);
    ++tl_depth;
    Fence();
    if (g_writer.load(std::memory_order_acquire) == 0) return;
  }
}

void ExitSlow() { ParkIfDeferred(); }

}  // namespace detail

bool InsideCall() { return tl_depth > 0 && tl_depth < kInternalDepth / 2; }

void Defer() {
  tl_deferred = true;
  Fence();
}

void SetInternalThread(bool internal) {
  if (internal && tl_depth < kInternalDepth / 2) tl_depth += kInternalDepth;
  if (!internal && tl_depth >= kInternalDepth / 2) tl_depth -= kInternalDepth;
}

void LockWriter() { g_writer.store(1, std::memory_order_seq_cst); }

void UnlockWriter() {
  g_writer.store(0, std::memory_order_seq_cst);
  FutexWakeAll(&g_writer);
}

void ResetInChildAfterFork() {
  g_writer.store(0);
  tl_deferred = false;
}

}  // namespace cairn::preload::gate
