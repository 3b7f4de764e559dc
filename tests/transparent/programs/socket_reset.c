/* Descriptors a restart does not bring back keep their numbers: the program holds both ends of
 * a socket pair and an eventfd (neither restored today) and, every step, checks that their
 * numbers are still open descriptors (fcntl) and that a file it opens gets another number.
 * It passes a byte through the socket pair while that works; after a restart the pair is a
 * reset connection (end of file, EPIPE), which it notes and tolerates: the output is the same
 * either way. */
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "mx.h"

MX_PROGRAM("socket_reset");

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int sv[2];
  MX_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
  const int efd = eventfd(0, EFD_CLOEXEC);
  MX_CHECK(efd >= 0, "eventfd: %s", strerror(errno));
  char path[4096];
  snprintf(path, sizeof path, "%s/scratch.txt", dir);
  int connected = 1;
  uint64_t h = 1469598103934665603ULL;
  for (int s = 0; s < MX_STEPS; ++s) {
    const int held[3] = {sv[0], sv[1], efd};
    for (int i = 0; i < 3; ++i)
      MX_CHECK(fcntl(held[i], F_GETFD) >= 0, "step %d: descriptor %d is closed: %s", s, held[i],
               strerror(errno));
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    MX_CHECK(fd >= 0, "step %d: open: %s", s, strerror(errno));
    for (int i = 0; i < 3; ++i)
      MX_CHECK(fd != held[i], "step %d: open() returned %d, a number the program holds", s, fd);
    char line[32];
    const int len = snprintf(line, sizeof line, "%d\n", s);
    MX_CHECK(write(fd, line, (size_t)len) == len, "step %d: write", s);
    close(fd);
    if (connected) {
      const char b = (char)s;
      char got = 0;
      if (send(sv[0], &b, 1, MSG_NOSIGNAL) != 1 || recv(sv[1], &got, 1, 0) != 1) {
        connected = 0; /* reset by a restart */
      } else {
        MX_CHECK(got == b, "step %d: the pair carried %d, not %d", s, got, b);
      }
    }
    h = mx_hash(h, &s, sizeof s);
    mx_step_sleep();
  }
  printf("socket_reset: %d steps, descriptors kept, hash %016llx\n", MX_STEPS,
         (unsigned long long)h);
  return 0;
}
