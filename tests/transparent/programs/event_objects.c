/* eventfd, timerfd, signalfd and epoll across checkpoints (issue 11, requirements 4 and 6):
 * - efd: a plain eventfd, written every step (through a dup of it, edup, on odd steps) and read
 *   every 4th step: the read must return exactly what was written since (the counter survives);
 * - sem: an EFD_SEMAPHORE|EFD_NONBLOCK eventfd gaining 2 and losing 1 each step (each read
 *   returns 1), drained at the end; then an empty read gives EAGAIN;
 * - tfd: a periodic 5 ms CLOCK_MONOTONIC timerfd (non-blocking): its period must stay 5 ms, and
 *   every 10 steps it must have expired at least once; once: a one-shot 1000 s timerfd whose
 *   time left must stay in (0, 1000 s];
 * - sfd: a signalfd for SIGUSR1 and SIGUSR2 (both blocked): raised on some steps and read
 *   back at once, one SIGUSR2 raised at the end of some steps and read at the next one, so a
 *   checkpoint lands with it pending;
 * - ep: an epoll watching efd, a pipe, tfd and sfd with distinct data; checked every step
 *   against what is known to be ready; ep2 watches ep; ep3 holds a one-shot eventfd that
 *   fired at step 0 and must never fire again. */
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "mx.h"

MX_PROGRAM("event_objects");

enum { kEfd = 0x1111, kPipe = 0x2222, kTfd = 0x3333, kSfd = 0x4444, kEp = 0x5555, kOnce = 0x6666 };

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

/* The data of the events epoll_wait(ep, 0 timeout) reports, as a bit set: 1 efd, 2 pipe,
 * 4 timer, 8 signalfd, 16 ep, 32 one-shot. */
static unsigned ready(int ep) {
  struct epoll_event ev[8];
  int n = epoll_wait(ep, ev, 8, 0);
  MX_CHECK(n >= 0, "epoll_wait: %s", strerror(errno));
  unsigned bits = 0;
  for (int i = 0; i < n; ++i) {
    switch (ev[i].data.u64) {
      case kEfd:
        bits |= 1;
        break;
      case kPipe:
        bits |= 2;
        break;
      case kTfd:
        bits |= 4;
        break;
      case kSfd:
        bits |= 8;
        break;
      case kEp:
        bits |= 16;
        break;
      case kOnce:
        bits |= 32;
        break;
      default:
        MX_CHECK(0, "epoll returned unknown data %llx", (unsigned long long)ev[i].data.u64);
    }
  }
  return bits;
}

static void add(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data = {.u64 = data}};
  MX_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl: %s", strerror(errno));
}

/* Reads every signal waiting on sfd; counts[signo]++. Returns how many. */
static int read_signals(int sfd, int counts[65]) {
  int got = 0;
  struct signalfd_siginfo si;
  ssize_t n;
  while ((n = read(sfd, &si, sizeof si)) == (ssize_t)sizeof si) {
    MX_CHECK(si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2, "signal %u", si.ssi_signo);
    counts[si.ssi_signo]++;
    ++got;
  }
  MX_CHECK(n < 0 && errno == EAGAIN, "signalfd read %zd: %s", n, strerror(errno));
  return got;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  MX_CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0, "sigprocmask");

  int efd = eventfd(0, 0);
  int edup = fcntl(efd, F_DUPFD, 40);
  int sem = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  int once = timerfd_create(CLOCK_MONOTONIC, 0);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
  int p[2];
  MX_CHECK(efd >= 0 && edup >= 40 && sem >= 0 && tfd >= 0 && once >= 0 && sfd >= 0 && pipe(p) == 0,
           "creating the objects: %s", strerror(errno));
  struct itimerspec period = {{0, 5000000}, {0, 5000000}}, far = {{0, 0}, {1000, 0}};
  MX_CHECK(timerfd_settime(tfd, 0, &period, NULL) == 0 && timerfd_settime(once, 0, &far, NULL) == 0,
           "timerfd_settime");
  int ep = epoll_create1(0), ep2 = epoll_create1(EPOLL_CLOEXEC), ep3 = epoll_create1(0);
  int oncefd = eventfd(0, 0);
  MX_CHECK(ep >= 0 && ep2 >= 0 && ep3 >= 0 && oncefd >= 0, "epoll_create1");
  add(ep, efd, EPOLLIN, kEfd);
  add(ep, p[0], EPOLLIN, kPipe);
  add(ep, tfd, EPOLLIN, kTfd);
  add(ep, sfd, EPOLLIN, kSfd);
  add(ep2, ep, EPOLLIN, kEp);
  add(ep3, oncefd, EPOLLIN | EPOLLONESHOT, kOnce);

  uint64_t written = 0, sum = 0, sem_left = 0, pipe_bytes = 0;
  int counts[65] = {0}, expired_recently = 0, epoll_checks = 0, carried = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    /* signals: one carried over from the last step, then this step's */
    int want[65] = {0};
    if (carried) want[SIGUSR2]++;
    if (s % 3 == 0) {
      raise(SIGUSR1);
      want[SIGUSR1]++;
    }
    if (s % 5 == 0 && !carried) {
      raise(SIGUSR2);
      want[SIGUSR2]++;
    }
    carried = 0;
    /* writes: the counter (through the dup on odd steps), the semaphore, the pipe */
    uint64_t v = (uint64_t)s + 1;
    MX_CHECK(write(s % 2 ? edup : efd, &v, sizeof v) == (ssize_t)sizeof v, "write efd");
    written += v;
    uint64_t two = 2;
    MX_CHECK(write(sem, &two, sizeof two) == (ssize_t)sizeof two, "write sem");
    sem_left += 2;
    if (s % 2 == 0) {
      MX_CHECK(write(p[1], "x", 1) == 1, "write pipe");
      ++pipe_bytes;
    }
    if (s == 0) {
      uint64_t one = 1;
      MX_CHECK(write(oncefd, &one, sizeof one) == (ssize_t)sizeof one, "write once");
      MX_CHECK(ready(ep3) == 32, "the one-shot did not fire");
    }
    /* epoll: efd, pipe and signalfd are ready exactly when we know they are */
    unsigned r = ready(ep);
    unsigned expect = 1u | (pipe_bytes ? 2u : 0u) | (want[SIGUSR1] || want[SIGUSR2] ? 8u : 0u);
    MX_CHECK((r & ~4u) == expect, "step %d: epoll says %x, want %x (timer aside)", s, r, expect);
    MX_CHECK(ready(ep2) == 16, "step %d: the epoll watching the epoll is not ready", s);
    MX_CHECK(ready(ep3) == 0, "step %d: the one-shot fired again", s);
    ++epoll_checks;
    /* reads */
    int got[65] = {0};
    read_signals(sfd, got);
    MX_CHECK(got[SIGUSR1] == want[SIGUSR1] && got[SIGUSR2] == want[SIGUSR2],
             "step %d: signals USR1 %d USR2 %d, want %d %d", s, got[SIGUSR1], got[SIGUSR2],
             want[SIGUSR1], want[SIGUSR2]);
    counts[SIGUSR1] += got[SIGUSR1];
    counts[SIGUSR2] += got[SIGUSR2];
    if (s % 4 == 3) {
      uint64_t c = 0;
      MX_CHECK(read(efd, &c, sizeof c) == (ssize_t)sizeof c, "read efd");
      MX_CHECK(c == written, "step %d: eventfd counter %llu, want %llu", s, (unsigned long long)c,
               (unsigned long long)written);
      sum += c;
      written = 0;
    }
    uint64_t one = 0;
    MX_CHECK(read(sem, &one, sizeof one) == (ssize_t)sizeof one && one == 1, "semaphore read");
    --sem_left;
    if (s % 2 == 1) {
      char c;
      MX_CHECK(read(p[0], &c, 1) == 1 && c == 'x', "read pipe");
      --pipe_bytes;
    }
    /* timers */
    uint64_t exp = 0;
    if (read(tfd, &exp, sizeof exp) == (ssize_t)sizeof exp) {
      expired_recently = 1;
    } else {
      MX_CHECK(errno == EAGAIN, "read tfd: %s", strerror(errno));
    }
    if (s % 10 == 9) {
      MX_CHECK(expired_recently, "step %d: the 5 ms timer did not expire in 10 steps", s);
      expired_recently = 0;
    }
    struct itimerspec cur;
    MX_CHECK(timerfd_gettime(tfd, &cur) == 0 && ns(cur.it_interval) == 5000000,
             "step %d: the timer's period is %lld ns", s, (long long)ns(cur.it_interval));
    MX_CHECK(timerfd_gettime(once, &cur) == 0 && ns(cur.it_interval) == 0 && ns(cur.it_value) > 0 &&
                 ns(cur.it_value) <= 1000000000000LL,
             "step %d: the one-shot timer has %lld ns left", s, (long long)ns(cur.it_value));
    if (s % 7 == 6) {
      raise(SIGUSR2); /* pending across the step boundary */
      carried = 1;
    }
    mx_step_sleep();
  }
  if (carried) read_signals(sfd, counts);
  /* drain the semaphore: exactly sem_left reads of 1, then EAGAIN */
  uint64_t one = 0, drained = 0;
  while (read(sem, &one, sizeof one) == (ssize_t)sizeof one) ++drained;
  MX_CHECK(errno == EAGAIN && drained == sem_left, "semaphore drained %llu, want %llu",
           (unsigned long long)drained, (unsigned long long)sem_left);
  printf("eventfd sum %llu semaphore %llu signals usr1 %d usr2 %d epoll checks %d\n",
         (unsigned long long)sum, (unsigned long long)drained, counts[SIGUSR1], counts[SIGUSR2],
         epoll_checks);
  return 0;
}
