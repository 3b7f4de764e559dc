/* mremap: a mapping that grows by 256 KiB each step with MREMAP_MAYMOVE (keeping its
 * contents), a second one grown in place when possible and shrunk every 10 steps, and a
 * fixed-address move (MREMAP_FIXED) every 25 steps. */
#include <sys/mman.h>

#include "mx.h"

MX_PROGRAM("mremap_grow");

#define GROW ((size_t)256 * 1024)

static void verify(const unsigned char* p, size_t len, unsigned salt, int step) {
  for (size_t i = 0; i < len; i += 4096 - 13)
    MX_CHECK(p[i] == (unsigned char)(i / 4096 + salt), "step %d: byte %zu of %zu lost (salt %u)",
             step, i, len, salt);
}
static void fill(unsigned char* p, size_t from, size_t to, unsigned salt) {
  for (size_t i = from; i < to; ++i) p[i] = (unsigned char)(i / 4096 + salt);
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  size_t a_len = GROW, b_len = 16 * 4096;
  unsigned char* a = mmap(NULL, a_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char* b = mmap(NULL, b_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(a != MAP_FAILED && b != MAP_FAILED, "mmap");
  fill(a, 0, a_len, 1);
  fill(b, 0, b_len, 2);
  /* a reserved area to move b into with MREMAP_FIXED */
  unsigned char* spare =
      mmap(NULL, (size_t)64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(spare != MAP_FAILED, "mmap spare");
  int moves = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    verify(a, a_len, 1, s);
    verify(b, b_len, 2, s);
    unsigned char* na = mremap(a, a_len, a_len + GROW, MREMAP_MAYMOVE);
    MX_CHECK(na != MAP_FAILED, "mremap grow: %s", strerror(errno));
    a = na;
    fill(a, a_len, a_len + GROW, 1);
    a_len += GROW;
    if (s % 10 == 9) {
      size_t half = (b_len / 2) & ~(size_t)4095;
      unsigned char* nb = mremap(b, b_len, half, 0);
      MX_CHECK(nb == b, "mremap shrink");
      b_len = half;
    } else {
      unsigned char* nb = mremap(b, b_len, b_len + 4 * 4096, MREMAP_MAYMOVE);
      MX_CHECK(nb != MAP_FAILED, "mremap b");
      b = nb;
      fill(b, b_len, b_len + 4 * 4096, 2);
      b_len += 4 * 4096;
    }
    if (s % 25 == 24) {
      unsigned char* target = spare + (size_t)(moves % 4) * (16 << 20);
      unsigned char* nb = mremap(b, b_len, b_len, MREMAP_MAYMOVE | MREMAP_FIXED, target);
      MX_CHECK(nb == target, "mremap fixed: %s", strerror(errno));
      b = nb;
      ++moves;
    }
    mx_step_sleep();
  }
  verify(a, a_len, 1, MX_STEPS);
  verify(b, b_len, 2, MX_STEPS);
  uint64_t h = mx_hash(MX_HASH_INIT, a + a_len - 4096, 4096);
  h = mx_hash(h, b, b_len);
  printf("mremap a %zu KiB b %zu KiB moves %d hash %016llx\n", a_len >> 10, b_len >> 10, moves,
         (unsigned long long)h);
  return 0;
}
