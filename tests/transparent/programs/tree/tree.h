/* Helpers of the process-tree matrix programs (issue 11): the contract of mx.h, for a tree.
 * Only the launched process prints, at its end; children report to it through pipes or exit
 * statuses and never print to stdout. */
#ifndef CAIRN_TESTS_TRANSPARENT_PROGRAMS_TREE_TREE_H_
#define CAIRN_TESTS_TRANSPARENT_PROGRAMS_TREE_TREE_H_

#include <sys/types.h>
#include <sys/wait.h>

#include "../mx.h"

/* Writes all of buf, or fails. */
static inline void tr_write_all(int fd, const void* buf, size_t len) {
  const char* p = (const char*)buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    MX_CHECK(n > 0, "write to fd %d: %s", fd, strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

/* Reads exactly len bytes; returns 0 at end of file before the first byte, else fails on a
 * short read. */
static inline int tr_read_all(int fd, void* buf, size_t len) {
  char* p = (char*)buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, p + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    MX_CHECK(n >= 0, "read from fd %d: %s", fd, strerror(errno));
    if (n == 0) {
      MX_CHECK(got == 0, "end of file after %zu of %zu bytes", got, len);
      return 0;
    }
    got += (size_t)n;
  }
  return 1;
}

/* waitpid for `pid`, resuming after signals; fails unless it is that child. Returns the
 * status. */
static inline int tr_wait(pid_t pid) {
  int st = 0;
  pid_t w;
  do {
    w = waitpid(pid, &st, 0);
  } while (w < 0 && errno == EINTR);
  MX_CHECK(w == pid, "waitpid(%d) returned %d: %s", (int)pid, (int)w, strerror(errno));
  return st;
}

/* The pid in /proc/self/stat: /proc shows this process under the pid it sees. */
static inline pid_t tr_proc_self_pid(void) {
  FILE* f = fopen("/proc/self/stat", "r");
  MX_CHECK(f != NULL, "cannot open /proc/self/stat");
  int pid = -1;
  MX_CHECK(fscanf(f, "%d", &pid) == 1, "cannot parse /proc/self/stat");
  fclose(f);
  return (pid_t)pid;
}

#endif /* CAIRN_TESTS_TRANSPARENT_PROGRAMS_TREE_TREE_H_ */
