/* XXH3-64 for cairn-restorer, AVX2 (compiled with -mavx2, used only where the CPU and the
 * kernel support it): restorer_hash_impl.h. */
#define CAIRN_RHASH_VARIANT avx2
#include "transparent/restore/restorer_hash_impl.h"
