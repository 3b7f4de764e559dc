/* XXH3-64 for cairn-restorer, SSE2 (every x86-64): restorer_hash_impl.h. */
#define CAIRN_RHASH_VARIANT sse2
#include "transparent/restore/restorer_hash_impl.h"
