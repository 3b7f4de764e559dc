/* A program run on a pseudo-terminal (as forkpty, script or expect do): the parent opens a pty
 * in raw mode with a window size, forks a child that makes it its controlling terminal in a
 * new session (stdin and stdout), and talks to it through the master: it sends a number per
 * step and waits for its square. Bytes in flight in a pty are not kept by a restart, so, as
 * over a network, a number without an answer within 300 ms is sent again (the master is
 * non-blocking: a read restarted after a restart must not wait for an answer that was lost). The child checks
 * every step that stdin is its controlling terminal, it leads the session and the foreground
 * group, and the terminal is still raw with the same window size; it exits with the count of
 * numbers it answered at the parent's 0. */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "tree.h"

MX_PROGRAM("tree_pty");

static void child_loop(void) {
  uint64_t v, answered = 0;
  for (;;) {
    MX_CHECK(tr_read_all(0, &v, sizeof v), "end of file on the terminal");
    if (v == 0) break;
    struct termios t;
    struct winsize ws;
    MX_CHECK(isatty(0) && tcgetattr(0, &t) == 0, "stdin is no terminal");
    MX_CHECK((t.c_lflag & (ICANON | ECHO)) == 0, "the terminal is not raw any more");
    MX_CHECK(ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 33 && ws.ws_col == 111,
             "window size %ux%u", ws.ws_row, ws.ws_col);
    MX_CHECK(getsid(0) == getpid(), "not the session leader");
    MX_CHECK(tcgetpgrp(0) == getpgrp(), "not in the foreground (%d, own %d)", (int)tcgetpgrp(0),
             (int)getpgrp());
    MX_CHECK(tcgetsid(0) == getpid(), "the terminal is not this session's");
    uint64_t sq = v * v;
    tr_write_all(1, &sq, sizeof sq);
    ++answered;
  }
  _exit(answered > 255 ? 255 : (int)answered);
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int m, s;
  struct winsize ws = {.ws_row = 33, .ws_col = 111};
  MX_CHECK(openpty(&m, &s, NULL, NULL, &ws) == 0, "openpty: %s", strerror(errno));
  struct termios t;
  MX_CHECK(tcgetattr(s, &t) == 0, "tcgetattr");
  cfmakeraw(&t);
  MX_CHECK(tcsetattr(s, TCSANOW, &t) == 0, "tcsetattr");
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(m);
    MX_CHECK(setsid() == getpid(), "setsid");
    MX_CHECK(ioctl(s, TIOCSCTTY, 0) == 0, "TIOCSCTTY: %s", strerror(errno));
    MX_CHECK(dup2(s, 0) == 0 && dup2(s, 1) == 1, "dup2");
    close(s);
    child_loop();
  }
  close(s);
  MX_CHECK(fcntl(m, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
  uint64_t resent = 0;
  for (uint64_t i = 1; i <= MX_STEPS; ++i) {
    for (;;) {
      tr_write_all(m, &i, sizeof i);
      struct pollfd p = {m, POLLIN, 0};
      int r;
      do {
        r = poll(&p, 1, 300);
      } while (r < 0 && errno == EINTR);
      MX_CHECK(r >= 0, "poll: %s", strerror(errno));
      if (r == 0) {
        ++resent;
        MX_CHECK(resent < 100, "no answer for %llu", (unsigned long long)i);
        continue;
      }
      uint64_t a;
      ssize_t n = read(m, &a, sizeof a);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      MX_CHECK(n == (ssize_t)sizeof a, "read %zd bytes from the master: %s", n, strerror(errno));
      if (a == i * i) break;  // (answers to numbers sent again are dropped)
      MX_CHECK(a < i * i, "answer %llu for %llu", (unsigned long long)a, (unsigned long long)i);
    }
    mx_step_sleep();
  }
  uint64_t zero = 0;
  tr_write_all(m, &zero, sizeof zero);
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) >= MX_STEPS, "child status %#x", st);
  printf("tree_pty: %d numbers squared over a pseudo-terminal\n", MX_STEPS);
  return 0;
}
