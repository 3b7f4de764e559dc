/* A child leads a new session, a grandchild a new process group in it, a second grandchild
 * joins that group. Every process checks its session and group at every step; the parent
 * checks the child's with getsid/getpgid. */
#include "tree.h"

MX_PROGRAM("tree_session");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int ready[2];
  MX_CHECK(pipe(ready) == 0, "pipe");
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(ready[0]);
    MX_CHECK(setsid() == getpid(), "setsid");
    const pid_t me = getpid();
    const pid_t g1 = fork();
    MX_CHECK(g1 >= 0, "fork");
    if (g1 == 0) {
      MX_CHECK(setpgid(0, 0) == 0, "setpgid");
      for (int s = 0; s < MX_STEPS; ++s) {
        MX_CHECK(getsid(0) == me && getpgrp() == getpid(), "g1 step %d: sid %d pgrp %d", s,
                 getsid(0), getpgrp());
        mx_step_sleep();
      }
      _exit(0);
    }
    MX_CHECK(setpgid(g1, g1) == 0 || errno == EACCES, "setpgid(g1)");
    const pid_t g2 = fork();
    MX_CHECK(g2 >= 0, "fork");
    if (g2 == 0) {
      while (getpgid(g1) != g1) mx_sleep_ms(1);
      MX_CHECK(setpgid(0, g1) == 0, "setpgid(0, g1): %s", strerror(errno));
      for (int s = 0; s < MX_STEPS; ++s) {
        MX_CHECK(getsid(0) == me && getpgrp() == g1, "g2 step %d: sid %d pgrp %d", s, getsid(0),
                 getpgrp());
        mx_step_sleep();
      }
      _exit(0);
    }
    while (getpgid(g2) != g1) mx_sleep_ms(1);
    tr_write_all(ready[1], "r", 1);
    for (int s = 0; s < MX_STEPS; ++s) {
      MX_CHECK(getsid(0) == me && getpgrp() == me, "child step %d", s);
      MX_CHECK(getpgid(g1) == g1 && getpgid(g2) == g1, "child step %d: groups %d %d", s,
               getpgid(g1), getpgid(g2));
      mx_step_sleep();
    }
    const int s1 = tr_wait(g1), s2 = tr_wait(g2);
    _exit(WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0 ? 0 : 9);
  }
  close(ready[1]);
  char r;
  MX_CHECK(tr_read_all(ready[0], &r, 1), "the child did not get ready");
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(getsid(child) == child && getpgid(child) == child, "step %d: child sid %d pgid %d", s,
             getsid(child), getpgid(child));
    mx_step_sleep();
  }
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  printf("tree_session: a session with two process groups kept\n");
  return 0;
}
