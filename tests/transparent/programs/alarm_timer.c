/* alarm(): alarm(1) armed, the SIGALRM handler counts; re-armed in the main loop after each
 * expiry until it has fired 3 times. Checks that the alarm fires within 1.6 s of sleeping
 * after being armed (a lost alarm is caught) and that getitimer(ITIMER_REAL) shows it armed,
 * one-shot, with at most 1 s left. */
#include <signal.h>
#include <sys/time.h>

#include "mx.h"

MX_PROGRAM("alarm_timer");

static volatile sig_atomic_t fired;
static void on_alarm(int sig) {
  (void)sig;
  fired++;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  signal(SIGALRM, on_alarm);
  alarm(1);
  int since_arm = 0, seen = 0, steps = 0;
  while (fired < 3) {
    mx_step_sleep();
    ++steps;
    if (fired != seen) {
      seen = fired;
      since_arm = 0;
      if (fired < 3) MX_CHECK(alarm(1) == 0, "an alarm was still armed after it fired");
      continue;
    }
    ++since_arm;
    MX_CHECK(since_arm < 1600 / MX_STEP_MS, "the alarm did not fire within %d ms of sleep",
             since_arm * MX_STEP_MS);
    /* query without disturbing: the alarm is an ITIMER_REAL one-shot of at most 1 s */
    struct itimerval cur;
    MX_CHECK(getitimer(ITIMER_REAL, &cur) == 0, "getitimer");
    MX_CHECK(fired != seen || cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0,
             "step %d: the alarm is no longer armed", steps);
    MX_CHECK(
        cur.it_value.tv_sec <= 1 && cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 0,
        "step %d: alarm state %ld.%06ld / %ld", steps, (long)cur.it_value.tv_sec,
        (long)cur.it_value.tv_usec, (long)cur.it_interval.tv_usec);
    MX_CHECK(steps < 2000, "runaway");
  }
  MX_CHECK(alarm(0) == 0, "an alarm remained armed");
  printf("alarm fired %d times\n", (int)fired);
  return 0;
}
