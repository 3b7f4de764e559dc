// Checksums. cairn uses XXH3-64 (xxhash) for region and file integrity: ~10-30 GB/s
// per core, so hashing is fused into every write and read pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace cairn {

uint64_t Hash64(const void* data, size_t len);

// Streaming XXH3-64; Digest() of no input equals Hash64(nullptr, 0).
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(const void* data, size_t len);
  uint64_t Digest() const;
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn
