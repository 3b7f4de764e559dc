// Pacer: keeps a stream of work under a byte rate by sleeping between chunks. Used by
// the async backend (backend_max_bandwidth) so that a flush takes a bounded share of
// the node's CPU and memory bandwidth away from the application. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace cairn {

class Pacer {
 public:
  // bytes_per_second == 0: unlimited (Pace() returns at once).
  explicit Pacer(uint64_t bytes_per_second) : rate_(bytes_per_second) {}
  // Accounts `bytes` just processed and sleeps long enough to stay under the rate.
  void Pace(uint64_t bytes);

 private:
  uint64_t rate_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::now();
};

}  // namespace cairn
