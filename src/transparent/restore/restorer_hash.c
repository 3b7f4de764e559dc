/* XXH3-64 for cairn-restorer, the same hash the image writer uses (common/hash.h): the
 * header-only xxhash, every function static inline, compiled apart from restorer.c so that the
 * compiler may inline its fixed-size memcpy()s (restorer.c is built with -fno-builtin).
 * Needs no libc: the restorer's own memcpy/memset serve the few variable-size copies. */
#include <string.h>

#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "transparent/restore/restorer_hash.h"

_Static_assert(sizeof(XXH3_state_t) <= CAIRN_RHASH_STATE_BYTES, "hash state too large");

void cairn_rhash_reset(void* state) { XXH3_64bits_reset((XXH3_state_t*)state); }

void cairn_rhash_update(void* state, const void* data, size_t len) {
  XXH3_64bits_update((XXH3_state_t*)state, data, len);
}

uint64_t cairn_rhash_digest(const void* state) {
  return XXH3_64bits_digest((const XXH3_state_t*)state);
}
