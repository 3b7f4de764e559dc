/* rseq / sched_getcpu: in 4 threads, sched_getcpu() must return a CPU of the thread's affinity
 * mask every step; where glibc registered rseq (__rseq_size > 0), the thread's rseq area must
 * hold a valid cpu_id (a thread no longer registered after a restart keeps a stale or
 * negative one) and agree with getcpu(2). */
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#include "mx.h"

#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define MX_HAVE_RSEQ 1
#else
#define MX_HAVE_RSEQ 0
#endif

MX_PROGRAM("rseq_cpu");

#define THREADS 4
static volatile int done_steps[THREADS];

static void check(int id, int step) {
  cpu_set_t set;
  CPU_ZERO(&set);
  MX_CHECK(sched_getaffinity(0, sizeof set, &set) == 0, "getaffinity");
  int cpu = sched_getcpu();
  MX_CHECK(cpu >= 0 && CPU_ISSET(cpu, &set), "thread %d step %d: sched_getcpu() = %d", id, step,
           cpu);
#if MX_HAVE_RSEQ
  if (__rseq_size > 0) {
    struct rseq* rs = (struct rseq*)((char*)__builtin_thread_pointer() + __rseq_offset);
    int32_t rcpu = (int32_t)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
    unsigned kcpu = 0;
    MX_CHECK(syscall(SYS_getcpu, &kcpu, NULL, NULL) == 0, "getcpu");
    MX_CHECK(rcpu >= 0 && CPU_ISSET(rcpu, &set), "thread %d step %d: rseq cpu_id %d", id, step,
             rcpu);
    /* a registered area is refreshed by the kernel on every migration: after a few retries it
     * matches the CPU the thread runs on */
    int agree = 0;
    for (int i = 0; i < 100 && !agree; ++i) {
      syscall(SYS_getcpu, &kcpu, NULL, NULL);
      agree = (unsigned)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED) == kcpu;
    }
    MX_CHECK(agree, "thread %d step %d: rseq cpu_id %d never agrees with getcpu %u", id, step,
             (int)rs->cpu_id, kcpu);
  }
#endif
}

static void* body(void* arg) {
  int id = (int)(intptr_t)arg;
  for (int s = 0; s < MX_STEPS; ++s) {
    check(id, s);
    if (id == 1 && s % 20 == 10) {
      /* migrate: pin to another CPU of the machine and back */
      cpu_set_t set, one;
      sched_getaffinity(0, sizeof set, &set);
      int target = -1;
      for (int c = CPU_SETSIZE - 1; c >= 0; --c)
        if (CPU_ISSET(c, &set)) {
          target = c;
          break;
        }
      CPU_ZERO(&one);
      CPU_SET(target, &one);
      sched_setaffinity(0, sizeof one, &one);
      MX_CHECK(sched_getcpu() == target, "thread 1 step %d: not moved to CPU %d", s, target);
      check(id, s);
      sched_setaffinity(0, sizeof set, &set);
    }
    done_steps[id] = s + 1;
    mx_step_sleep();
  }
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  pthread_t t[THREADS];
  for (int i = 1; i < THREADS; ++i)
    MX_CHECK(pthread_create(&t[i], NULL, body, (void*)(intptr_t)i) == 0, "create");
  body((void*)(intptr_t)0);
  for (int i = 1; i < THREADS; ++i) pthread_join(t[i], NULL);
  printf("sched_getcpu and rseq valid in %d threads for %d steps\n", THREADS, MX_STEPS);
  return 0;
}
