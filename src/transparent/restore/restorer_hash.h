/* Streaming XXH3-64 inside cairn-restorer (no libc, no allocation): the caller owns the
 * state, CAIRN_RHASH_STATE_BYTES aligned to 64. reset, then update with any split of the
 * input, then digest: equal to Hash64() (common/hash.h) of the concatenation. The first
 * reset picks the AVX2 or the SSE2 build (restorer_hash.c). */
#ifndef CAIRN_TRANSPARENT_RESTORE_RESTORER_HASH_H_
#define CAIRN_TRANSPARENT_RESTORE_RESTORER_HASH_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_RHASH_STATE_BYTES 1024

void cairn_rhash_reset(void* state);
void cairn_rhash_update(void* state, const void* data, size_t len);
uint64_t cairn_rhash_digest(const void* state);

/* The two builds behind them (restorer_hash_impl.h), named for the unit test. */
void cairn_rhash_reset_sse2(void* state);
void cairn_rhash_update_sse2(void* state, const void* data, size_t len);
uint64_t cairn_rhash_digest_sse2(const void* state);
void cairn_rhash_reset_avx2(void* state);
void cairn_rhash_update_avx2(void* state, const void* data, size_t len);
uint64_t cairn_rhash_digest_avx2(const void* state);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_TRANSPARENT_RESTORE_RESTORER_HASH_H_ */
