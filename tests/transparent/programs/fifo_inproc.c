/* Named pipes (FIFOs) inside one process across checkpoints (issue 11, requirements 4 and 6):
 * WORKDIR/q is a FIFO with a read end (non-blocking) and a write end, records always in
 * flight (3 written, 2 read per step); WORKDIR/rw is a FIFO held through one O_RDWR
 * descriptor, written and read back through it with bytes left in flight. Both FIFOs are
 * removed at the end. */
#include <fcntl.h>
#include <sys/stat.h>

#include "mx.h"

MX_PROGRAM("fifo_inproc");

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char q[4096], rw[4096];
  snprintf(q, sizeof q, "%s/q", dir);
  snprintf(rw, sizeof rw, "%s/rw", dir);
  unlink(q);
  unlink(rw);
  MX_CHECK(mkfifo(q, 0600) == 0 && mkfifo(rw, 0600) == 0, "mkfifo: %s", strerror(errno));
  int r = open(q, O_RDONLY | O_NONBLOCK);
  int w = open(q, O_WRONLY);
  int b = open(rw, O_RDWR);
  MX_CHECK(r >= 0 && w >= 0 && b >= 0, "open: %s", strerror(errno));
  uint32_t wseq = 0, rseq = 0, bw = 0, br = 0;
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 3; ++k, ++wseq) {
      MX_CHECK(write(w, &wseq, sizeof wseq) == (ssize_t)sizeof wseq, "write q");
    }
    for (int k = 0; k < 2; ++k, ++rseq) {
      uint32_t v = 0;
      MX_CHECK(read(r, &v, sizeof v) == (ssize_t)sizeof v, "step %d: read q: %s", s,
               strerror(errno));
      MX_CHECK(v == rseq, "step %d: record %u, want %u", s, v, rseq);
      h = mx_hash(h, &v, sizeof v);
    }
    MX_CHECK(fcntl(r, F_GETFL) & O_NONBLOCK, "step %d: O_NONBLOCK lost", s);
    char c = (char)('A' + s % 26);
    MX_CHECK(write(b, &c, 1) == 1, "write rw");
    ++bw;
    if (s % 3 == 2) {
      while (br + 1 < bw) {
        char got;
        MX_CHECK(read(b, &got, 1) == 1 && got == (char)('A' + br % 26), "step %d: rw byte %u", s,
                 br);
        ++br;
      }
    }
    mx_step_sleep();
  }
  uint32_t v, left = 0;
  while (read(r, &v, sizeof v) == (ssize_t)sizeof v) {
    MX_CHECK(v == rseq, "drain: record %u, want %u", v, rseq);
    ++rseq;
    ++left;
  }
  MX_CHECK(errno == EAGAIN && rseq == wseq, "drain: %u of %u", rseq, wseq);
  unlink(q);
  unlink(rw);
  printf("fifo records %u drained %u hash %016llx rw %u\n", wseq, left, (unsigned long long)h, bw);
  return 0;
}
