/* CPU affinity: the main thread pins itself to CPU 0 (sched_setaffinity) and a second thread
 * to the last CPU of the initial mask (pthread_setaffinity_np); every step each checks its
 * mask with sched_getaffinity and that sched_getcpu() is inside it. */
#include <pthread.h>
#include <sched.h>

#include "mx.h"

MX_PROGRAM("cpu_affinity");

static int last_cpu;

static void check_mask(const char* who, int cpu, int step) {
  cpu_set_t set;
  CPU_ZERO(&set);
  MX_CHECK(sched_getaffinity(0, sizeof set, &set) == 0, "sched_getaffinity");
  MX_CHECK(CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set),
           "%s step %d: affinity has %d CPUs (CPU %d set: %d), want only CPU %d", who, step,
           CPU_COUNT(&set), cpu, CPU_ISSET(cpu, &set), cpu);
  int now = sched_getcpu();
  MX_CHECK(now == cpu, "%s step %d: running on CPU %d, pinned to %d", who, step, now, cpu);
}

static void* thread_body(void* arg) {
  (void)arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(last_cpu, &set);
  MX_CHECK(pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0, "setaffinity");
  for (int s = 0; s < MX_STEPS; ++s) {
    check_mask("thread", last_cpu, s);
    mx_step_sleep();
  }
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  cpu_set_t set;
  CPU_ZERO(&set);
  MX_CHECK(sched_getaffinity(0, sizeof set, &set) == 0, "initial mask");
  MX_CHECK(CPU_ISSET(0, &set), "CPU 0 is not in the initial mask");
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) last_cpu = c;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  MX_CHECK(sched_setaffinity(0, sizeof set, &set) == 0, "sched_setaffinity");
  pthread_t t;
  MX_CHECK(pthread_create(&t, NULL, thread_body, NULL) == 0, "create");
  for (int s = 0; s < MX_STEPS; ++s) {
    check_mask("main", 0, s);
    mx_step_sleep();
  }
  pthread_join(t, NULL);
  printf("affinity held for %d steps in 2 threads\n", MX_STEPS);
  return 0;
}
