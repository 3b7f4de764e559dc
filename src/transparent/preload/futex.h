// Minimal futex helpers for the preload library (async-signal-safe: raw syscalls only).
// Wait returns on wake, on a value mismatch, on a signal or after timeout_ms (-1: none).
#pragma once

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace cairn::preload {

// Both preserve errno (they run inside malloc/free and signal handlers).
inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int timeout_ms = -1) {
  const int saved_errno = errno;
  struct timespec ts;
  struct timespec* tp = nullptr;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000L;
    tp = &ts;
  }
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tp, nullptr,
            0);
  errno = saved_errno;
}

inline void FutexWakeAll(std::atomic<uint32_t>* word) {
  const int saved_errno = errno;
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr,
            nullptr, 0);
  errno = saved_errno;
}

}  // namespace cairn::preload
