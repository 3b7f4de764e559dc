/* A signal handler counting SIGUSR1 sent to itself (kill, raise, tgkill from a second thread);
 * the handler, its flags (SA_RESTART|SA_SIGINFO) and its sa_mask must survive; SIGUSR2 is
 * ignored (SIG_IGN) and SIGHUP is left at SIG_DFL. */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "mx.h"

MX_PROGRAM("signal_count");

static volatile sig_atomic_t count;
static volatile sig_atomic_t bad_code;

static void on_usr1(int sig, siginfo_t* si, void* ctx) {
  (void)ctx;
  if (sig != SIGUSR1 || (si->si_code != SI_USER && si->si_code != SI_TKILL)) bad_code = 1;
  count++;
}

static pid_t main_tid;
static void* sender(void* arg) {
  (void)arg;
  for (int i = 0; i < MX_STEPS / 4; ++i) {
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    mx_sleep_ms(MX_STEP_MS * 4);
  }
  return NULL;
}

static void check_actions(int step) {
  struct sigaction sa;
  MX_CHECK(sigaction(SIGUSR1, NULL, &sa) == 0, "sigaction query");
  MX_CHECK(sa.sa_sigaction == on_usr1, "step %d: the SIGUSR1 handler vanished", step);
  MX_CHECK((sa.sa_flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART),
           "step %d: flags %#x", step, (unsigned)sa.sa_flags);
  MX_CHECK(sigismember(&sa.sa_mask, SIGTERM) == 1 && sigismember(&sa.sa_mask, SIGINT) == 0,
           "step %d: sa_mask changed", step);
  MX_CHECK(sigaction(SIGUSR2, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN,
           "step %d: SIGUSR2 no longer ignored", step);
  MX_CHECK(sigaction(SIGHUP, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL,
           "step %d: SIGHUP no longer default", step);
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGUSR2, SIG_IGN);
  main_tid = (pid_t)syscall(SYS_gettid);
  pthread_t t;
  int own = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    if (s == 10) MX_CHECK(pthread_create(&t, NULL, sender, NULL) == 0, "create");
    check_actions(s);
    int before = count;
    MX_CHECK(kill(getpid(), SIGUSR1) == 0, "kill");
    raise(SIGUSR1);
    raise(SIGUSR2); /* ignored */
    ++own;
    MX_CHECK(count >= before + 1, "step %d: the handler did not run (count %d -> %d)", s, before,
             (int)count);
    MX_CHECK(!bad_code, "step %d: wrong si_code", s);
    mx_step_sleep();
  }
  pthread_join(t, NULL);
  mx_sleep_ms(50);
  /* 2 per step + MX_STEPS/4 from the thread; kill+raise can merge while one is pending */
  int total = count;
  MX_CHECK(total >= MX_STEPS + MX_STEPS / 4 && total <= 2 * MX_STEPS + MX_STEPS / 4,
           "count %d out of range", total);
  printf("signal handler ran for %d steps, actions intact\n", own);
  return 0;
}
