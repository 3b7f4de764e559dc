// See gate.h.
#include "transparent/preload/gate.h"

#include <atomic>
#include <cstdint>

#include "transparent/preload/futex.h"

namespace cairn::preload::gate {
namespace {

std::atomic<uint32_t> g_readers{0};
std::atomic<uint32_t> g_writer{0};

__attribute__((tls_model("initial-exec"))) thread_local int tl_depth = 0;
__attribute__((tls_model("initial-exec"))) thread_local bool tl_internal = false;

}  // namespace

void Enter() {
  if (tl_internal) return;
  if (tl_depth++ > 0) return;
  for (;;) {
    g_readers.fetch_add(1, std::memory_order_seq_cst);
    if (g_writer.load(std::memory_order_seq_cst) == 0) return;
    // A writer wants the gate: step back and wait for it to finish.
    if (g_readers.fetch_sub(1, std::memory_order_seq_cst) == 1) FutexWakeAll(&g_readers);
    while (g_writer.load(std::memory_order_seq_cst) != 0) FutexWait(&g_writer, 1);
  }
}

void Exit() {
  if (tl_internal) return;
  if (--tl_depth > 0) return;
  if (g_readers.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
      g_writer.load(std::memory_order_seq_cst) != 0) {
    FutexWakeAll(&g_readers);
  }
}

void SetInternalThread(bool internal) { tl_internal = internal; }
bool IsInternalThread() { return tl_internal; }

bool LockWriter(int timeout_ms) {
  g_writer.store(1, std::memory_order_seq_cst);
  const int64_t deadline = NowMs() + timeout_ms;
  for (;;) {
    uint32_t r = g_readers.load(std::memory_order_seq_cst);
    if (r == 0) return true;
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      UnlockWriter();
      return false;
    }
    FutexWait(&g_readers, r, static_cast<int>(left < 10 ? left : 10));
  }
}

void UnlockWriter() {
  g_writer.store(0, std::memory_order_seq_cst);
  FutexWakeAll(&g_writer);
}

void ResetInChildAfterFork() {
  g_writer.store(0);
  g_readers.store(tl_depth > 0 ? 1 : 0);
}

}  // namespace cairn::preload::gate
