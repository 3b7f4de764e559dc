/* A file opened O_RDWR used with pread/pwrite at scattered offsets (the descriptor's offset,
 * moved by one read(2) per step, must not change with pread/pwrite) and extended with
 * ftruncate. Each pwrite is read back; the whole file is verified against the model at the
 * end (after the last write, so it matches however a restart replayed the writes). */
#include <fcntl.h>
#include <sys/stat.h>

#include "mx.h"

MX_PROGRAM("file_rdwr");

#define BLOCK 512
#define BLOCKS 256

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s/rdwr.dat", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  MX_CHECK(fd >= 0, "open");
  static unsigned char model[BLOCKS][BLOCK];
  for (int b = 0; b < BLOCKS / 2; ++b) memset(model[b], b, BLOCK);
  MX_CHECK(write(fd, model, BLOCKS / 2 * BLOCK) == BLOCKS / 2 * BLOCK, "initial write");
  MX_CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind");
  off_t size = BLOCKS / 2 * BLOCK, pos = 0;
  uint64_t seed = 99;
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "step %d: not O_RDWR", s);
    MX_CHECK(lseek(fd, 0, SEEK_CUR) == pos, "step %d: offset %lld, want %lld", s,
             (long long)lseek(fd, 0, SEEK_CUR), (long long)pos);
    struct stat st;
    MX_CHECK(fstat(fd, &st) == 0 && st.st_size == size, "step %d: size %lld, want %lld", s,
             (long long)st.st_size, (long long)size);
    if (s == 60) {
      MX_CHECK(ftruncate(fd, BLOCKS * BLOCK) == 0, "ftruncate");
      size = BLOCKS * BLOCK;
    }
    int limit = (int)(size / BLOCK);
    for (int k = 0; k < 4; ++k) {
      int b = (int)(mx_next(&seed) % (uint64_t)limit);
      unsigned char rec[BLOCK];
      memset(rec, (int)(s + k * 50) & 0xff, BLOCK);
      memcpy(rec, &s, sizeof s);
      MX_CHECK(pwrite(fd, rec, BLOCK, (off_t)b * BLOCK) == BLOCK, "pwrite");
      memcpy(model[b], rec, BLOCK);
      unsigned char back[BLOCK];
      MX_CHECK(pread(fd, back, BLOCK, (off_t)b * BLOCK) == BLOCK, "pread");
      MX_CHECK(memcmp(back, rec, BLOCK) == 0, "step %d: block %d read back differs", s, b);
    }
    unsigned char one[100];
    MX_CHECK(read(fd, one, sizeof one) == (ssize_t)sizeof one, "read");
    pos += (off_t)sizeof one;
    mx_step_sleep();
  }
  unsigned char back[BLOCK];
  for (int b = 0; b < BLOCKS; ++b) {
    MX_CHECK(pread(fd, back, BLOCK, (off_t)b * BLOCK) == BLOCK, "final pread");
    MX_CHECK(memcmp(back, model[b], BLOCK) == 0, "final: block %d differs from the model", b);
  }
  close(fd);
  size_t fsize;
  uint64_t h = mx_file_hash(path, &fsize);
  printf("rdwr.dat %zu %016llx offset %lld\n", fsize, (unsigned long long)h, (long long)pos);
  return 0;
}
