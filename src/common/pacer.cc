#include "common/pacer.h"

#include <thread>

namespace cairn {

void Pacer::Pace(uint64_t bytes) {
  if (rate_ == 0) return;
  std::chrono::steady_clock::time_point wake;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto now = std::chrono::steady_clock::now();
    if (next_ < now) next_ = now;  // idle time is not saved up as credit
    next_ += std::chrono::nanoseconds(bytes * 1000000000ULL / rate_);
    wake = next_;
  }
  std::this_thread::sleep_until(wake);
}

}  // namespace cairn
