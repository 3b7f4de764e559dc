// Test program: the application must not be able to install a handler for, or block, the
// checkpoint signal (SIGRTMIN+2, the default). Usage: signal_app READY RELEASE.
// Prints "ok" lines; after blocking every signal it waits for RELEASE, so that the test can
// show a checkpoint still succeeds.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void Handler(int sig) { (void)sig; }

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const int cs = SIGRTMIN + 2;
  int fails = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = Handler;
  errno = 0;
  if (sigaction(cs, &sa, NULL) == 0 || errno != EINVAL) {
    printf("FAIL: sigaction on the checkpoint signal was not refused with EINVAL\n");
    ++fails;
  } else {
    printf("ok: sigaction refused\n");
  }
  errno = 0;
  if (signal(cs, Handler) != SIG_ERR || errno != EINVAL) {
    printf("FAIL: signal() on the checkpoint signal was not refused with EINVAL\n");
    ++fails;
  } else {
    printf("ok: signal refused\n");
  }
  if (sigaction(SIGUSR1, &sa, NULL) != 0) {
    printf("FAIL: sigaction(SIGUSR1) failed\n");
    ++fails;
  }
  sigset_t all, cur;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  sigprocmask(SIG_BLOCK, NULL, &cur);
  if (sigismember(&cur, cs) || !sigismember(&cur, SIGUSR1)) {
    printf("FAIL: sigprocmask blocked the checkpoint signal (or not SIGUSR1)\n");
    ++fails;
  } else {
    printf("ok: sigprocmask cannot block it\n");
  }
  pthread_sigmask(SIG_SETMASK, &all, NULL);
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  if (sigismember(&cur, cs)) {
    printf("FAIL: pthread_sigmask blocked the checkpoint signal\n");
    ++fails;
  } else {
    printf("ok: pthread_sigmask cannot block it\n");
  }
  fflush(stdout);
  FILE* f = fopen(argv[1], "w");
  if (f != NULL) fclose(f);
  while (access(argv[2], F_OK) != 0) usleep(10000);
  printf("done\n");
  return fails == 0 ? 0 : 1;
}
