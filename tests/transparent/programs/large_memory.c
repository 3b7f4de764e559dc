/* Large memory: 512 MiB allocated and touched (every 8-byte word written), then every step
 * rewrites a stride of words and verifies another stride plus a running checksum of a sample;
 * a full verification at the end. */
#include "mx.h"

MX_PROGRAM("large_memory");

#define WORDS ((size_t)512 * 1024 * 1024 / 8)

static uint64_t expect(size_t i, uint64_t version) { return i * 0x9e3779b97f4a7c15ULL + version; }

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  uint64_t* mem = malloc(WORDS * 8);
  MX_CHECK(mem != NULL, "malloc 512 MiB");
  static unsigned char version[WORDS / 4096]; /* per 32 KiB block */
  for (size_t i = 0; i < WORDS; ++i) mem[i] = expect(i, 0);
  const size_t blocks = WORDS / 4096;
  for (int s = 0; s < mx_steps(); ++s) {
    /* rewrite 64 blocks, verify 64 others completely */
    for (size_t k = 0; k < 64; ++k) {
      size_t b = ((size_t)s * 64 + k) * 7919 % blocks;
      version[b]++;
      for (size_t i = b * 4096; i < (b + 1) * 4096; ++i) mem[i] = expect(i, version[b]);
      size_t c = ((size_t)s * 64 + k) * 104729 % blocks;
      for (size_t i = c * 4096; i < (c + 1) * 4096; ++i)
        MX_CHECK(mem[i] == expect(i, version[c]), "step %d: word %zu lost", s, i);
    }
    /* a sparse sample across the whole range */
    for (size_t i = (size_t)s; i < WORDS; i += 65537)
      MX_CHECK(mem[i] == expect(i, version[i / 4096]), "step %d: sample word %zu lost", s, i);
    mx_step_sleep();
  }
  uint64_t h = MX_HASH_INIT;
  for (size_t i = 0; i < WORDS; ++i) {
    MX_CHECK(mem[i] == expect(i, version[i / 4096]), "final: word %zu lost", i);
    if ((i & 4095) == 0) h = mx_hash(h, &mem[i], 8);
  }
  free(mem);
  printf("large memory 512 MiB hash %016llx\n", (unsigned long long)h);
  return 0;
}
