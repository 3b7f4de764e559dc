/* POSIX timers: timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL with SIGUSR2 and a value) periodic
 * every 5 ms, and a second one (CLOCK_REALTIME, SIGRTMIN+4) periodic every 20 ms with a
 * different value; the handler checks si_value and counts per timer. Every step timer_gettime
 * on both ids must give the intervals, and each must keep firing. A third, one-shot timer is
 * armed every 30 steps and must fire once. */
#include <signal.h>

#include "mx.h"

MX_PROGRAM("posix_timer");

static volatile sig_atomic_t ticks[3], bad_value;

static void on_tick(int sig, siginfo_t* si, void* ctx) {
  (void)ctx;
  int v = si->si_value.sival_int;
  if (si->si_code != SI_TIMER || v < 1000 || v > 1002) {
    bad_value = 1;
    return;
  }
  if ((v == 1000 || v == 1002) && sig != SIGUSR2) bad_value = 2;
  ticks[v - 1000]++;
}

static timer_t make(clockid_t clock, int sig, int value) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = sig;
  ev.sigev_value.sival_int = value;
  timer_t id;
  MX_CHECK(timer_create(clock, &ev, &id) == 0, "timer_create: %s", strerror(errno));
  return id;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_tick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGRTMIN + 4, &sa, NULL);
  timer_t fast = make(CLOCK_MONOTONIC, SIGUSR2, 1000);
  timer_t slow = make(CLOCK_REALTIME, SIGRTMIN + 4, 1001);
  timer_t once = make(CLOCK_MONOTONIC, SIGUSR2, 1002);
  struct itimerspec f = {{0, 5000000}, {0, 5000000}}, sl = {{0, 20000000}, {0, 20000000}};
  MX_CHECK(timer_settime(fast, 0, &f, NULL) == 0, "settime fast");
  MX_CHECK(timer_settime(slow, 0, &sl, NULL) == 0, "settime slow");
  int still[2] = {0, 0}, last[2] = {0, 0}, armed = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    struct itimerspec cur;
    MX_CHECK(timer_gettime(fast, &cur) == 0, "step %d: timer_gettime(fast): %s", s,
             strerror(errno));
    MX_CHECK(cur.it_interval.tv_nsec == 5000000, "step %d: fast interval %ld", s,
             cur.it_interval.tv_nsec);
    MX_CHECK(timer_gettime(slow, &cur) == 0, "step %d: timer_gettime(slow)", s);
    MX_CHECK(cur.it_interval.tv_nsec == 20000000, "step %d: slow interval %ld", s,
             cur.it_interval.tv_nsec);
    MX_CHECK(timer_gettime(once, &cur) == 0 && cur.it_interval.tv_nsec == 0,
             "step %d: one-shot timer", s);
    for (int i = 0; i < 2; ++i) {
      still[i] = ticks[i] == last[i] ? still[i] + 1 : 0;
      last[i] = ticks[i];
      MX_CHECK(still[i] < 30, "step %d: timer %d stopped firing (%d ticks)", s, i, last[i]);
    }
    MX_CHECK(!bad_value, "step %d: a tick with a wrong value or signal (%d)", s, (int)bad_value);
    if (s % 30 == 0) {
      MX_CHECK(ticks[2] == armed, "step %d: the one-shot timer fired %d times, want %d", s,
               (int)ticks[2], armed);
      struct itimerspec o = {{0, 0}, {0, 40000000}};
      MX_CHECK(timer_settime(once, 0, &o, NULL) == 0, "settime once");
      ++armed;
    }
    mx_step_sleep();
  }
  mx_sleep_ms(100);
  MX_CHECK(ticks[2] == armed, "the one-shot timer fired %d times, want %d", (int)ticks[2], armed);
  timer_delete(fast);
  timer_delete(slow);
  timer_delete(once);
  printf("posix timers kept firing for %d steps, one-shot fired %d times\n", MX_STEPS, armed);
  return 0;
}
