/* Blocked signals and pending signals: SIGUSR2 and SIGRTMIN+6 are blocked at start; SIGUSR2 is
 * raised once and SIGRTMIN+6 queued 3 times with values (sigqueue) early, and they stay pending
 * across the checkpoints (sigpending checked every step) until step 170, where they are
 * unblocked: the SIGUSR2 handler must run exactly once and the real-time one 3 times, in value
 * order. A second thread keeps its own mask (SIGINT blocked) and a thread-directed pending
 * SIGUSR1. */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "mx.h"

MX_PROGRAM("signal_pending");

static volatile sig_atomic_t usr2_runs, usr1_runs;
static volatile int rt_values[8];
static volatile sig_atomic_t rt_runs;
static volatile int thread_go;

static void on_usr2(int sig) {
  (void)sig;
  usr2_runs++;
}
static void on_usr1(int sig) {
  (void)sig;
  usr1_runs++;
}
static void on_rt(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  if (rt_runs < 8) rt_values[rt_runs] = si->si_value.sival_int;
  rt_runs++;
}

static void* thread_body(void* arg) {
  (void)arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
  for (int s = 0; s < MX_STEPS; ++s) {
    sigset_t cur, pend;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    MX_CHECK(sigismember(&cur, SIGINT) && sigismember(&cur, SIGUSR2), "thread step %d: mask lost",
             s);
    MX_CHECK(sigismember(&cur, SIGUSR1) == (__atomic_load_n(&thread_go, __ATOMIC_ACQUIRE) < 2),
             "thread step %d: SIGUSR1 mask lost", s);
    sigpending(&pend);
    if (!__atomic_load_n(&thread_go, __ATOMIC_ACQUIRE))
      MX_CHECK(sigismember(&pend, SIGUSR1), "thread step %d: pending SIGUSR1 lost", s);
    MX_CHECK(usr1_runs == 0 || __atomic_load_n(&thread_go, __ATOMIC_ACQUIRE),
             "thread step %d: SIGUSR1 delivered while blocked", s);
    if (__atomic_load_n(&thread_go, __ATOMIC_ACQUIRE) == 1) {
      __atomic_store_n(&thread_go, 2, __ATOMIC_RELEASE);
      sigemptyset(&set);
      sigaddset(&set, SIGUSR1);
      pthread_sigmask(SIG_UNBLOCK, &set, NULL);
      MX_CHECK(usr1_runs == 1, "thread: SIGUSR1 ran %d times after unblocking", (int)usr1_runs);
    }
    mx_step_sleep();
  }
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  const int rt = SIGRTMIN + 6;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_sigaction = on_rt;
  sa.sa_flags = SA_SIGINFO;
  sigaction(rt, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, rt);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, NULL);
  pthread_t t;
  MX_CHECK(pthread_create(&t, NULL, thread_body, NULL) == 0, "create");
  raise(SIGUSR2);
  for (int v = 1; v <= 3; ++v) {
    union sigval val;
    val.sival_int = v * 100;
    MX_CHECK(sigqueue(getpid(), rt, val) == 0, "sigqueue");
  }
  for (int s = 0; s < MX_STEPS; ++s) {
    sigset_t cur, pend;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    sigpending(&pend);
    if (s < 170) {
      MX_CHECK(sigismember(&cur, SIGUSR2) && sigismember(&cur, rt),
               "step %d: the blocked mask was lost", s);
      MX_CHECK(sigismember(&pend, SIGUSR2), "step %d: pending SIGUSR2 lost", s);
      MX_CHECK(sigismember(&pend, rt), "step %d: pending SIGRTMIN+6 lost", s);
      MX_CHECK(usr2_runs == 0 && rt_runs == 0, "step %d: a blocked signal was delivered", s);
    } else if (s == 170) {
      sigset_t un;
      sigemptyset(&un);
      sigaddset(&un, SIGUSR2);
      sigaddset(&un, rt);
      pthread_sigmask(SIG_UNBLOCK, &un, NULL);
      MX_CHECK(usr2_runs == 1, "SIGUSR2 ran %d times, want 1", (int)usr2_runs);
      MX_CHECK(rt_runs == 3, "SIGRTMIN+6 ran %d times, want 3", (int)rt_runs);
      for (int i = 0; i < 3; ++i)
        MX_CHECK(rt_values[i] == (i + 1) * 100, "queued value %d is %d", i, rt_values[i]);
      __atomic_store_n(&thread_go, 1, __ATOMIC_RELEASE);
    } else {
      MX_CHECK(!sigismember(&pend, SIGUSR2) && !sigismember(&pend, rt),
               "step %d: still pending after delivery", s);
    }
    mx_step_sleep();
  }
  pthread_join(t, NULL);
  MX_CHECK(usr1_runs == 1, "thread SIGUSR1 ran %d times", (int)usr1_runs);
  printf("pending: SIGUSR2 x%d, SIGRTMIN+6 x%d values %d %d %d, thread SIGUSR1 x%d\n",
         (int)usr2_runs, (int)rt_runs, rt_values[0], rt_values[1], rt_values[2], (int)usr1_runs);
  return 0;
}
