/* Sparse memory: a 16 GiB MAP_NORESERVE anonymous mapping of which only 64 pages are ever
 * written (and 64 others only read). Every step writes one touched page and reads untouched
 * pages, which must read as zeros. The harness bounds the image size (untouched and zero
 * pages are not saved). */
#include <sys/mman.h>

#include "mx.h"

MX_PROGRAM("sparse_memory");

#define SIZE ((size_t)16 << 30)
#define PAGE 4096
#define TOUCHED 64

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  unsigned char* m =
      mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  MX_CHECK(m != MAP_FAILED, "mmap 16 GiB: %s", strerror(errno));
  size_t pages = SIZE / PAGE;
  size_t where[TOUCHED];
  unsigned gen[TOUCHED] = {0};
  for (int i = 0; i < TOUCHED; ++i) {
    where[i] = (size_t)i * (pages / TOUCHED) + (size_t)i * 7;
    memset(m + where[i] * PAGE, i + 1, PAGE);
  }
  volatile unsigned char sink = 0;
  for (int i = 0; i < TOUCHED; ++i) sink ^= m[(where[i] + 3) * PAGE]; /* read-only pages */
  for (int s = 0; s < MX_STEPS; ++s) {
    int t = s % TOUCHED;
    gen[t]++;
    memset(m + where[t] * PAGE, (int)((t + 1 + gen[t] * 5) & 0xff), PAGE);
    for (int i = 0; i < TOUCHED; ++i) {
      unsigned char want = (unsigned char)(i + 1 + gen[i] * 5);
      const unsigned char* p = m + where[i] * PAGE;
      MX_CHECK(p[0] == want && p[PAGE - 1] == want && p[PAGE / 2] == want,
               "step %d: page %d lost (%u, want %u)", s, i, p[0], want);
      MX_CHECK(m[(where[i] + 1) * PAGE + (size_t)s] == 0 && m[(where[i] + 3) * PAGE] == 0,
               "step %d: an untouched page near %d is not zero", s, i);
    }
    mx_step_sleep();
  }
  uint64_t h = MX_HASH_INIT;
  for (int i = 0; i < TOUCHED; ++i) h = mx_hash(h, m + where[i] * PAGE, PAGE);
  munmap(m, SIZE);
  printf("sparse 16 GiB touched %d pages hash %016llx\n", TOUCHED, (unsigned long long)h);
  return (int)(sink & 0);
}
