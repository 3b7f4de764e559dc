/* cairn-restorer's XXH3-64 (restorer_hash.h): the AVX2 build where the CPU has AVX2 and the
 * kernel saves the AVX state (cpuid, xgetbv), else the SSE2 build. Both give the same hash. */
#include "transparent/restore/restorer_hash.h"

#include <cpuid.h>

static int g_avx2 = -1;

static int has_avx2(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const unsigned osxsave = 1u << 27, avx = 1u << 28;
  if ((c & (osxsave | avx)) != (osxsave | avx)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6u) != 6u) return 0; /* XMM and YMM state enabled by the kernel */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & (1u << 5)) != 0;
}

void cairn_rhash_reset(void* state) {
  if (g_avx2 < 0) g_avx2 = has_avx2();
  if (g_avx2) {
    cairn_rhash_reset_avx2(state);
  } else {
    cairn_rhash_reset_sse2(state);
  }
}

void cairn_rhash_update(void* state, const void* data, size_t len) {
  if (g_avx2 > 0) {
    cairn_rhash_update_avx2(state, data, len);
  } else {
    cairn_rhash_update_sse2(state, data, len);
  }
}

uint64_t cairn_rhash_digest(const void* state) {
  return g_avx2 > 0 ? cairn_rhash_digest_avx2(state) : cairn_rhash_digest_sse2(state);
}
