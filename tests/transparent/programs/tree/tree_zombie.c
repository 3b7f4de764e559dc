/* Two children end at once, one with exit status 42 and one killed by SIGTERM; the parent
 * leaves them unreaped through the whole run (checkpoints find them exited) and reaps them
 * at the end, checking pid and status. A third child runs to the end. */
#include <signal.h>

#include "tree.h"

MX_PROGRAM("tree_zombie");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  const pid_t a = fork();
  MX_CHECK(a >= 0, "fork");
  if (a == 0) _exit(42);
  const pid_t b = fork();
  MX_CHECK(b >= 0, "fork");
  if (b == 0) {
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    _exit(1);
  }
  const pid_t c = fork();
  MX_CHECK(c >= 0, "fork");
  if (c == 0) {
    for (int s = 0; s < MX_STEPS; ++s) mx_step_sleep();
    _exit(5);
  }
  for (;;) { /* until a has exited */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    MX_CHECK(waitid(P_PID, (id_t)a, &si, WEXITED | WNOHANG | WNOWAIT) == 0, "waitid");
    if (si.si_pid == a) break;
    mx_sleep_ms(1);
  }
  for (int s = 0; s < MX_STEPS; ++s) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    MX_CHECK(waitid(P_PID, (id_t)a, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == a,
             "step %d: child %d is not an unreaped exited child", s, (int)a);
    mx_step_sleep();
  }
  const int sa = tr_wait(a), sb = tr_wait(b), sc = tr_wait(c);
  MX_CHECK(WIFEXITED(sa) && WEXITSTATUS(sa) == 42, "status of a: %#x", sa);
  MX_CHECK(WIFSIGNALED(sb) && WTERMSIG(sb) == SIGTERM, "status of b: %#x", sb);
  MX_CHECK(WIFEXITED(sc) && WEXITSTATUS(sc) == 5, "status of c: %#x", sc);
  printf("tree_zombie: exit 42, SIGTERM and exit 5 reaped\n");
  return 0;
}
