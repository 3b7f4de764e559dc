/* The parent signals its child by pid (SIGUSR1 every step, SIGUSR2 at the end) and the
 * process group with kill(0, SIGUSR1) now and then; the child counts. Signals must keep
 * reaching the right process across restarts. */
#include <signal.h>

#include "tree.h"

MX_PROGRAM("tree_signals");

static volatile sig_atomic_t usr1, usr2;
static void on_usr1(int sig) {
  (void)sig;
  usr1++;
}
static void on_usr2(int sig) {
  (void)sig;
  usr2++;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);
  int ack[2];
  MX_CHECK(pipe(ack) == 0, "pipe");
  MX_CHECK(setpgid(0, 0) == 0 || errno == EPERM, "setpgid");
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(ack[0]);
    tr_write_all(ack[1], "r", 1);
    int last = -1;
    while (usr2 == 0) {
      if (usr1 != last) {
        last = usr1;
        char c = 'a';
        tr_write_all(ack[1], &c, 1); /* one acknowledgement per signal seen (coalesced ok) */
      }
      mx_sleep_ms(1);
    }
    _exit(usr1 >= 1 ? 0 : 2);
  }
  close(ack[1]);
  char c;
  MX_CHECK(tr_read_all(ack[0], &c, 1), "child not ready");
  int sent = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(kill(child, SIGUSR1) == 0, "step %d: kill(%d): %s", s, (int)child, strerror(errno));
    ++sent;
    MX_CHECK(tr_read_all(ack[0], &c, 1), "step %d: no acknowledgement", s);
    mx_step_sleep();
  }
  MX_CHECK(kill(child, SIGUSR2) == 0, "kill SIGUSR2");
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  printf("tree_signals: %d signals acknowledged by the child\n", sent);
  return 0;
}
