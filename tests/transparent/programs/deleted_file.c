/* A deleted temporary file still open: WORKDIR/scratch.tmp is created, unlinked, then written
 * and read through its descriptor every step (nlink 0, size and offset as expected, contents
 * intact); its hash at the end. */
#include <fcntl.h>
#include <sys/stat.h>

#include "mx.h"

MX_PROGRAM("deleted_file");

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s/scratch.tmp", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  MX_CHECK(fd >= 0, "open");
  MX_CHECK(unlink(path) == 0, "unlink");
  off_t size = 0;
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    struct stat st;
    MX_CHECK(fstat(fd, &st) == 0, "fstat");
    MX_CHECK(st.st_nlink == 0, "step %d: the file has %lu links", s, (unsigned long)st.st_nlink);
    MX_CHECK(st.st_size == size, "step %d: size %lld, want %lld", s, (long long)st.st_size,
             (long long)size);
    MX_CHECK(lseek(fd, 0, SEEK_CUR) == size, "step %d: offset %lld", s,
             (long long)lseek(fd, 0, SEEK_CUR));
    MX_CHECK(access(path, F_OK) != 0, "step %d: the deleted file reappeared", s);
    char rec[1000];
    memset(rec, 'a' + s % 26, sizeof rec);
    snprintf(rec, 32, "rec %d", s);
    MX_CHECK(write(fd, rec, sizeof rec) == (ssize_t)sizeof rec, "write");
    size += (off_t)sizeof rec;
    for (int k = 0; k <= s; k += 1 + s / 10) {
      char back[32], want[32];
      MX_CHECK(pread(fd, back, 32, (off_t)k * 1000) == 32, "pread");
      snprintf(want, 32, "rec %d", k);
      MX_CHECK(strcmp(back, want) == 0, "step %d: record %d lost ('%.31s')", s, k, back);
    }
    h = mx_hash(h, rec, sizeof rec);
    mx_step_sleep();
  }
  printf("deleted file size %lld hash %016llx\n", (long long)size, (unsigned long long)h);
  return 0;
}
