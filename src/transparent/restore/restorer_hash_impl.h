/* The body of restorer_hash_sse2.c and restorer_hash_avx2.c: XXH3-64 from the header-only
 * xxhash, every function static inline, wrapped as cairn_rhash_<op>_<VARIANT>. Each file is
 * compiled for its instruction set; restorer_hash.c picks one at run time. The fixed-size
 * memcpy()s xxhash uses are made builtins so that they inline (the restorer is built with
 * -fno-builtin); its few variable-size copies use the restorer's own memcpy. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "transparent/restore/restorer_hash.h"

#define CAIRN_RHASH_CAT2(a, b) a##_##b
#define CAIRN_RHASH_CAT(a, b) CAIRN_RHASH_CAT2(a, b)
#define CAIRN_RHASH_NAME(op) CAIRN_RHASH_CAT(cairn_rhash_##op, CAIRN_RHASH_VARIANT)

_Static_assert(sizeof(XXH3_state_t) <= CAIRN_RHASH_STATE_BYTES, "hash state too large");

void CAIRN_RHASH_NAME(reset)(void* state) { XXH3_64bits_reset((XXH3_state_t*)state); }

void CAIRN_RHASH_NAME(update)(void* state, const void* data, size_t len) {
  XXH3_64bits_update((XXH3_state_t*)state, data, len);
}

uint64_t CAIRN_RHASH_NAME(digest)(const void* state) {
  return XXH3_64bits_digest((const XXH3_state_t*)state);
}
