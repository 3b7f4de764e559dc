/* mmap/munmap holes: a 64 MiB anonymous mapping with holes punched into it by munmap (every
 * fourth 1 MiB chunk, progressively), plus small mappings created and destroyed each step.
 * Checks that the contents outside the holes survive and that the holes stay unmapped (msync
 * on a hole fails with ENOMEM; a MAP_FIXED_NOREPLACE probe succeeds there). */
#include <sys/mman.h>

#include "mx.h"

MX_PROGRAM("mmap_holes");

#define CHUNK ((size_t)1 << 20)
#define CHUNKS 64

/* The kernel may place a new small mapping inside a hole (a legitimate reuse); a probe that falls
 * in one of this program's own small mappings says nothing about the hole. */
static int in_small(void* const* small, const void* addr) {
  for (int k = 0; k < 8; ++k) {
    const unsigned char* p = small[k];
    if (p != NULL && (const unsigned char*)addr >= p && (const unsigned char*)addr < p + 3 * 4096)
      return 1;
  }
  return 0;
}

static int is_mapped(void* addr) {
  if (msync(addr, 4096, MS_ASYNC) == 0) return 1;
  MX_CHECK(errno == ENOMEM, "msync: %s", strerror(errno));
  return 0;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  unsigned char* base =
      mmap(NULL, CHUNK * CHUNKS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(base != MAP_FAILED, "mmap");
  int hole[CHUNKS] = {0};
  for (int c = 0; c < CHUNKS; ++c) memset(base + c * CHUNK, c + 1, CHUNK);
  void* small[8] = {0};
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    if (s % 12 == 0 && s / 12 * 4 < CHUNKS) {
      int c = s / 12 * 4 + 1;
      MX_CHECK(munmap(base + c * CHUNK, CHUNK) == 0, "munmap chunk %d", c);
      hole[c] = 1;
    }
    int k = s % 8;
    if (small[k] != NULL) {
      unsigned char* p = small[k];
      MX_CHECK(p[0] == (unsigned char)(s - 8) && p[8191] == (unsigned char)(s - 8),
               "step %d: small mapping %d lost", s, k);
      h = mx_hash(h, p, 16);
      MX_CHECK(munmap(p, 3 * 4096) == 0, "munmap small");
      MX_CHECK(!is_mapped(p), "step %d: unmapped small mapping is still mapped", s);
    }
    small[k] = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    MX_CHECK(small[k] != MAP_FAILED, "mmap small");
    memset(small[k], s, 3 * 4096);
    for (int c = 0; c < CHUNKS; ++c) {
      unsigned char* p = base + c * CHUNK;
      if (hole[c]) {
        void* first = p;
        void* last = p + CHUNK - 4096;
        MX_CHECK((in_small(small, first) || !is_mapped(first)) &&
                     (in_small(small, last) || !is_mapped(last)),
                 "step %d: hole %d is mapped again", s, c);
      } else {
        MX_CHECK(p[(size_t)s * 4099 % CHUNK] == c + 1 && p[CHUNK - 1] == c + 1,
                 "step %d: chunk %d lost", s, c);
      }
    }
    mx_step_sleep();
  }
  /* The first hole can be filled exactly by a MAP_FIXED_NOREPLACE mapping (once the small
   * mappings, which the kernel may have placed in it, are gone). */
  for (int k = 0; k < 8; ++k)
    if (small[k] != NULL) MX_CHECK(munmap(small[k], 3 * 4096) == 0, "munmap small");
  void* probe = mmap(base + CHUNK, CHUNK, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  MX_CHECK(probe == base + CHUNK, "the first hole is not free: %s", strerror(errno));
  int holes = 0;
  for (int c = 0; c < CHUNKS; ++c) holes += hole[c];
  printf("mmap holes %d hash %016llx\n", holes, (unsigned long long)h);
  return 0;
}
