/* MAP_SHARED file mapping: WORKDIR/mapped.dat (1 MiB) mapped shared; every step writes a
 * record through the mapping and reads it back through a descriptor (pread): writes must reach
 * the file. At the end msync + the file's hash. */
#include <fcntl.h>
#include <sys/mman.h>

#include "mx.h"

MX_PROGRAM("shared_file_map");

#define SIZE ((size_t)1 << 20)

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s/mapped.dat", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  MX_CHECK(fd >= 0, "open %s", path);
  MX_CHECK(ftruncate(fd, SIZE) == 0, "ftruncate");
  unsigned char* m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  MX_CHECK(m != MAP_FAILED, "mmap");
  for (int s = 0; s < MX_STEPS; ++s) {
    size_t off = (size_t)s * 5000 % (SIZE - 4096);
    char rec[64];
    int n = snprintf(rec, sizeof rec, "record %04d at %zu;", s, off);
    memcpy(m + off, rec, (size_t)n);
    char back[64];
    MX_CHECK(pread(fd, back, (size_t)n, (off_t)off) == n, "pread");
    MX_CHECK(memcmp(back, rec, (size_t)n) == 0, "step %d: the write did not reach the file", s);
    /* and the other way: pwrite is visible in the mapping */
    char tag[8];
    snprintf(tag, sizeof tag, "T%05d", s);
    MX_CHECK(pwrite(fd, tag, 6, (off_t)(SIZE - 8)) == 6, "pwrite");
    MX_CHECK(memcmp(m + SIZE - 8, tag, 6) == 0, "step %d: pwrite not visible in the mapping", s);
    /* earlier records are still there (they are only ever rewritten with the same bytes) */
    if (s > 0) {
      size_t prev = (size_t)(s - 1) * 5000 % (SIZE - 4096);
      MX_CHECK(memcmp(m + prev, "record ", 7) == 0, "step %d: previous record lost", s);
    }
    mx_step_sleep();
  }
  MX_CHECK(msync(m, SIZE, MS_SYNC) == 0, "msync");
  munmap(m, SIZE);
  close(fd);
  size_t size;
  uint64_t h = mx_file_hash(path, &size);
  printf("mapped.dat size %zu hash %016llx\n", size, (unsigned long long)h);
  return 0;
}
