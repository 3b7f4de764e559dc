/* A file read with offsets: WORKDIR/input.dat (4 MiB of a deterministic pattern, written at
 * start) read through one O_RDONLY descriptor with read(2), lseek(SEEK_SET/SEEK_CUR/SEEK_END)
 * jumps and a stdio FILE* (fread/fseek, with its user-space buffer). Every read is checked
 * against the pattern, so a wrong offset after a restart is caught. A descriptor of
 * /proc/self/stat stays open throughout: after a restart it still describes this process. */
#include <fcntl.h>

#include "mx.h"

MX_PROGRAM("file_read");

#define SIZE ((off_t)4 << 20)
static unsigned char byte_at(off_t off) { return (unsigned char)((off * 2654435761u) >> 13); }

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s/input.dat", dir);
  {
    int w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    MX_CHECK(w >= 0, "create");
    static unsigned char buf[1 << 16];
    for (off_t base = 0; base < SIZE; base += (off_t)sizeof buf) {
      for (size_t i = 0; i < sizeof buf; ++i) buf[i] = byte_at(base + (off_t)i);
      MX_CHECK(write(w, buf, sizeof buf) == (ssize_t)sizeof buf, "write");
    }
    close(w);
  }
  int fd = open(path, O_RDONLY);
  FILE* f = fopen(path, "rb");
  MX_CHECK(fd >= 0 && f != NULL, "open");
  const int self_stat = open("/proc/self/stat", O_RDONLY);
  MX_CHECK(self_stat >= 0, "open /proc/self/stat");
  off_t pos = 0;
  long fpos = 0;
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(lseek(fd, 0, SEEK_CUR) == pos, "step %d: offset %lld, want %lld", s,
             (long long)lseek(fd, 0, SEEK_CUR), (long long)pos);
    unsigned char buf[777];
    ssize_t n = read(fd, buf, sizeof buf);
    MX_CHECK(n == (ssize_t)sizeof buf, "step %d: short read %zd", s, n);
    for (ssize_t i = 0; i < n; ++i)
      MX_CHECK(buf[i] == byte_at(pos + i), "step %d: byte at %lld", s, (long long)(pos + i));
    h = mx_hash(h, buf, (size_t)n);
    pos += n;
    if (s % 5 == 4) pos = lseek(fd, 3333, SEEK_CUR);
    if (s % 17 == 16) pos = lseek(fd, (off_t)s * 9973, SEEK_SET);
    if (s % 41 == 40) {
      pos = lseek(fd, -(off_t)(1 << 20) - s * 100, SEEK_END);
      MX_CHECK(pos == SIZE - (1 << 20) - s * 100, "SEEK_END");
    }
    MX_CHECK(ftell(f) == fpos, "step %d: ftell %ld, want %ld", s, ftell(f), fpos);
    size_t m = fread(buf, 1, 300, f);
    MX_CHECK(m == 300, "fread");
    for (size_t i = 0; i < m; ++i)
      MX_CHECK(buf[i] == byte_at(fpos + (long)i), "step %d: stdio byte %ld", s, fpos + (long)i);
    fpos += 300;
    if (s % 9 == 8) {
      fpos = (long)s * 7777 % (long)(SIZE - 1000);
      MX_CHECK(fseek(f, fpos, SEEK_SET) == 0, "fseek");
    }
    if (s % 10 == 0) {
      char st[64] = {0};
      MX_CHECK(pread(self_stat, st, sizeof st - 1, 0) > 0, "step %d: read /proc/self/stat", s);
      MX_CHECK(atoi(st) == (int)getpid(), "step %d: the open /proc/self/stat shows pid %d, not %d",
               s, atoi(st), (int)getpid());
    }
    mx_step_sleep();
  }
  close(self_stat);
  fclose(f);
  close(fd);
  printf("read offsets final %lld stdio %ld hash %016llx\n", (long long)pos, fpos,
         (unsigned long long)h);
  return 0;
}
