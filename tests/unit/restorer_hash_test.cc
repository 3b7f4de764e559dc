// The restorer's XXH3 builds (transparent/restore/restorer_hash_*.c) against Hash64, the hash
// the image writer stores: both must give the same digest for any split of the input.
#include "transparent/restore/restorer_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "common/hash.h"

namespace {

struct Variant {
  const char* name;
  void (*reset)(void*);
  void (*update)(void*, const void*, size_t);
  uint64_t (*digest)(const void*);
};

// Hashes `data` fed in random pieces (some empty, some far larger than xxhash's buffer).
uint64_t Streamed(const Variant& v, const std::vector<unsigned char>& data, std::mt19937_64* rng) {
  alignas(64) unsigned char state[CAIRN_RHASH_STATE_BYTES];
  v.reset(state);
  size_t at = 0;
  while (at < data.size()) {
    const size_t left = data.size() - at;
    size_t n = static_cast<size_t>((*rng)() % 4);
    if (n == 1) n = static_cast<size_t>((*rng)() % 300);
    if (n == 2) n = static_cast<size_t>((*rng)() % 70000);
    if (n == 3) n = left;
    n = std::min(n, left);
    v.update(state, data.data() + at, n);
    at += n;
  }
  return v.digest(state);
}

TEST(RestorerHash, EveryBuildMatchesHash64ForAnySplit) {
  std::vector<Variant> variants = {
      {"sse2", cairn_rhash_reset_sse2, cairn_rhash_update_sse2, cairn_rhash_digest_sse2}};
  if (__builtin_cpu_supports("avx2")) {
    variants.push_back(
        {"avx2", cairn_rhash_reset_avx2, cairn_rhash_update_avx2, cairn_rhash_digest_avx2});
  }
  std::mt19937_64 rng(42);
  for (size_t size : {0ul, 1ul, 16ul, 17ul, 128ul, 129ul, 240ul, 241ul, 1024ul, 4096ul, 65537ul,
                      (1ul << 20) + 3}) {
    std::vector<unsigned char> data(size);
    for (auto& b : data) b = static_cast<unsigned char>(rng());
    const uint64_t want = cairn::Hash64(data.data(), data.size());
    for (const Variant& v : variants) {
      for (int round = 0; round < 3; ++round) {
        EXPECT_EQ(Streamed(v, data, &rng), want) << v.name << ", " << size << " bytes";
      }
    }
  }
  // A changed byte changes the digest.
  std::vector<unsigned char> data(5000, 7);
  const uint64_t before = Streamed(variants.back(), data, &rng);
  data[4321] ^= 1;
  EXPECT_NE(Streamed(variants.back(), data, &rng), before);
}

}  // namespace
