/* A named FIFO in the work directory between a parent (writer) and its child (reader), with
 * bytes in flight at every checkpoint (the child reads one record per two written). */
#include <fcntl.h>
#include <sys/stat.h>

#include "tree.h"

MX_PROGRAM("tree_fifo");

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s/tree.fifo", dir);
  unlink(path);
  MX_CHECK(mkfifo(path, 0600) == 0, "mkfifo %s", path);
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    int fd = open(path, O_RDONLY);
    MX_CHECK(fd >= 0, "open for reading");
    uint64_t sum = 0, v;
    int n = 0;
    while (tr_read_all(fd, &v, sizeof v)) {
      sum += v;
      if (++n % 2 == 0) mx_step_sleep();
    }
    _exit(n == 2 * MX_STEPS && sum % 7 != 100 ? (int)(sum % 100) : 101);
  }
  int fd = open(path, O_WRONLY);
  MX_CHECK(fd >= 0, "open for writing");
  uint64_t state = 3, sum = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 4; ++k) {
      if (s * 4 + k >= 2 * MX_STEPS) break;
      uint64_t v = mx_next(&state) % 1000;
      sum += v;
      tr_write_all(fd, &v, sizeof v);
    }
    mx_step_sleep();
  }
  close(fd);
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == (int)(sum % 100), "child status %#x, sum %llu", st,
           (unsigned long long)sum);
  unlink(path);
  printf("tree_fifo: %d numbers through a FIFO, sum %llu\n", 2 * MX_STEPS, (unsigned long long)sum);
  return 0;
}
