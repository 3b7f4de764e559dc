// Monotonic time in milliseconds (CLOCK_MONOTONIC): the one clock for timeouts, deadlines and
// durations. Async-signal-safe (clock_gettime), so the preload library's handlers use it too.
#pragma once

#include <time.h>

#include <cstdint>

namespace cairn {

inline int64_t NowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace cairn
