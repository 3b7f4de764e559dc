/* setitimer(ITIMER_REAL) periodic every 7 ms, SIGALRM counted by a handler (SA_RESTART).
 * Every step getitimer must report the same interval and an armed timer, and the timer must
 * keep firing (a timer that no longer fires is caught within 20 steps). */
#include <signal.h>
#include <sys/time.h>

#include "mx.h"

MX_PROGRAM("itimer");

static volatile sig_atomic_t ticks;
static void on_alrm(int sig) {
  (void)sig;
  ticks++;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval real = {{0, 7000}, {0, 7000}};
  MX_CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer");
  int still = 0, last = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    struct itimerval cur;
    MX_CHECK(getitimer(ITIMER_REAL, &cur) == 0, "getitimer");
    if (cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0) {
      /* Linux re-arms a periodic ITIMER_REAL when its SIGALRM is dequeued: a getitimer between
       * the expiry and the delivery (on the return from that very call) reads 0, natively
       * too. The handler has run now; a timer that is really disarmed reads 0 again. */
      MX_CHECK(getitimer(ITIMER_REAL, &cur) == 0, "getitimer");
    }
    MX_CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 7000,
             "step %d: ITIMER_REAL interval %ld.%06ld", s, (long)cur.it_interval.tv_sec,
             (long)cur.it_interval.tv_usec);
    MX_CHECK(cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0, "step %d: ITIMER_REAL disarmed",
             s);
    MX_CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 7000,
             "step %d: ITIMER_REAL value %ld.%06ld", s, (long)cur.it_value.tv_sec,
             (long)cur.it_value.tv_usec);
    still = ticks == last ? still + 1 : 0;
    last = ticks;
    MX_CHECK(still < 20, "step %d: ITIMER_REAL stopped firing (%d ticks)", s, last);
    mx_step_sleep();
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("itimer 7 ms kept firing for %d steps\n", MX_STEPS);
  return 0;
}
