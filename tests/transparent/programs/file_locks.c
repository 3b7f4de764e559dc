/* File locks across checkpoints (issue 11, requirements 4 and 6): an flock() on
 * WORKDIR/a.lock, a POSIX write lock on bytes 10..19 and a POSIX read lock from byte 50 to the
 * end of WORKDIR/b.dat, and an open file description (OFD) write lock on bytes 0..4 of b.dat
 * through a second descriptor. Every step checks, through new descriptors of the same files
 * (whose locks conflict with all of these), that each lock is still held and that the bytes
 * between them are free; and the program keeps writing b.dat. */
#include <fcntl.h>
#include <sys/file.h>

#include "mx.h"

MX_PROGRAM("file_locks");

/* Whether a write lock on [start, start+len) through `probe`, an open file description of
 * its own, would conflict (F_OFD_GETLK: conflicts with this process's POSIX locks and other
 * OFDs' locks). `probe` stays open: closing any descriptor of b.dat would drop the process's
 * POSIX locks on it. */
static int taken(int probe, off_t start, off_t len) {
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  MX_CHECK(fcntl(probe, F_OFD_GETLK, &l) == 0, "F_OFD_GETLK: %s", strerror(errno));
  return l.l_type != F_UNLCK;
}

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char a[4096], b[4096];
  snprintf(a, sizeof a, "%s/a.lock", dir);
  snprintf(b, sizeof b, "%s/b.dat", dir);
  int fa = open(a, O_RDWR | O_CREAT | O_TRUNC, 0600);
  int fb = open(b, O_RDWR | O_CREAT | O_TRUNC, 0600);
  int fo = open(b, O_RDWR), probe = open(b, O_RDONLY);
  MX_CHECK(fa >= 0 && fb >= 0 && fo >= 0 && probe >= 0, "open: %s", strerror(errno));
  MX_CHECK(ftruncate(fb, 100) == 0, "ftruncate");
  MX_CHECK(flock(fa, LOCK_EX | LOCK_NB) == 0, "flock: %s", strerror(errno));
  struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
  struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 0};
  struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
  MX_CHECK(
      fcntl(fb, F_SETLK, &w) == 0 && fcntl(fb, F_SETLK, &r) == 0 && fcntl(fo, F_OFD_SETLK, &o) == 0,
      "locks: %s", strerror(errno));
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    int other = open(a, O_RDWR);
    MX_CHECK(other >= 0, "open a");
    MX_CHECK(flock(other, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK,
             "step %d: the flock on a.lock is gone", s);
    close(other);
    MX_CHECK(taken(probe, 10, 10) && taken(probe, 15, 1), "step %d: the POSIX write lock is gone",
             s);
    MX_CHECK(taken(probe, 60, 5) && taken(probe, 1000, 1), "step %d: the POSIX read lock is gone",
             s);
    MX_CHECK(taken(probe, 0, 5), "step %d: the OFD lock is gone", s);
    MX_CHECK(!taken(probe, 5, 5) && !taken(probe, 20, 30),
             "step %d: bytes between locks are locked", s);
    char c = (char)('a' + s % 26);
    MX_CHECK(pwrite(fb, &c, 1, 20 + s % 30) == 1, "pwrite");
    h = mx_hash(h, &c, 1);
    mx_step_sleep();
  }
  printf("file locks held for %d steps, hash %016llx\n", MX_STEPS, (unsigned long long)h);
  return 0;
}
