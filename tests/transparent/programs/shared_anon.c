/* MAP_SHARED anonymous memory: a 8 MiB shared anonymous mapping updated every step (it must
 * stay shared, 's' in /proc/self/maps, and keep its contents), and a System-V-free shared
 * counter page written through one mapping and read through a second one created with
 * mremap(old_size 0), which aliases the same shared pages. */
#include <sys/mman.h>

#include "mx.h"

MX_PROGRAM("shared_anon");

#define SIZE ((size_t)8 << 20)

static char perms_of(const void* addr) {
  FILE* f = fopen("/proc/self/maps", "r");
  MX_CHECK(f != NULL, "open maps");
  char line[512];
  char result = '?';
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (unsigned long)addr >= lo &&
        (unsigned long)addr < hi) {
      result = perms[3];
      break;
    }
  }
  fclose(f);
  return result;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  uint64_t* m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(m != MAP_FAILED, "mmap shared");
  const size_t words = SIZE / 8;
  for (size_t i = 0; i < words; ++i) m[i] = i;
  /* An alias of the first page: mremap with old_size 0 duplicates a shared mapping. */
  volatile uint64_t* alias = mremap(m, 0, 4096, MREMAP_MAYMOVE);
  MX_CHECK(alias != MAP_FAILED, "mremap alias: %s", strerror(errno));
  MX_CHECK((void*)alias != (void*)m, "alias at the same address");
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(perms_of(m) == 's', "step %d: the mapping is no longer shared (%c)", s, perms_of(m));
    MX_CHECK(perms_of((const void*)alias) == 's', "step %d: the alias is not shared", s);
    for (size_t i = (size_t)s; i < words; i += 997)
      MX_CHECK(m[i] == i + (uint64_t)s * 3, "step %d: word %zu is %llu", s, i,
               (unsigned long long)m[i]);
    for (size_t i = 0; i < words; ++i) m[i] += 3;
    /* writes through m are visible through the alias and the other way round */
    m[5] = 0xabc000 + (uint64_t)s;
    MX_CHECK(alias[5] == 0xabc000 + (uint64_t)s, "step %d: alias does not see m (%llx)", s,
             (unsigned long long)alias[5]);
    alias[6] = 6 + (uint64_t)(s + 1) * 3 + 1;
    MX_CHECK(m[6] == 6 + (uint64_t)(s + 1) * 3 + 1, "step %d: m does not see the alias", s);
    m[5] = 5 + (uint64_t)(s + 1) * 3;
    m[6] -= 1;
    mx_step_sleep();
  }
  uint64_t h = mx_hash(MX_HASH_INIT, m, 4096);
  printf("shared anon %zu MiB hash %016llx\n", SIZE >> 20, (unsigned long long)h);
  return 0;
}
