/* 32 threads, each running its own deterministic hash chain in small steps with sleeps; the
 * main thread checks that every thread keeps advancing (none stopped after a restart). */
#include <pthread.h>

#include "mx.h"

MX_PROGRAM("many_threads");

#define THREADS 32
static volatile int progress[THREADS];
static uint64_t chains[THREADS];

static void* body(void* arg) {
  int id = (int)(intptr_t)arg;
  uint64_t h = MX_HASH_INIT + (uint64_t)id;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int i = 0; i < 200; ++i) h = mx_hash(h, &i, sizeof i);
    __atomic_store_n(&progress[id], s + 1, __ATOMIC_RELEASE);
    mx_step_sleep();
  }
  chains[id] = h;
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; ++i)
    MX_CHECK(pthread_create(&t[i], NULL, body, (void*)(intptr_t)i) == 0, "create %d", i);
  int last[THREADS], still[THREADS];
  memset(last, 0, sizeof last);
  memset(still, 0, sizeof still);
  for (;;) {
    int done = 0;
    mx_step_sleep();
    for (int i = 0; i < THREADS; ++i) {
      int p = __atomic_load_n(&progress[i], __ATOMIC_ACQUIRE);
      if (p == MX_STEPS) {
        ++done;
        continue;
      }
      still[i] = p == last[i] ? still[i] + 1 : 0;
      last[i] = p;
      MX_CHECK(still[i] < 60, "thread %d stopped at step %d", i, p);
    }
    if (done == THREADS) break;
  }
  for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
  printf("threads %d hash %016llx\n", THREADS,
         (unsigned long long)mx_hash(MX_HASH_INIT, chains, sizeof chains));
  return 0;
}
