/* A pool of 4 worker threads taking tasks from a shared queue (mutex + condition variable);
 * the main thread submits one batch of 8 tasks per step and waits for the batch to finish
 * (a second condition variable), checking every task's result. */
#include <pthread.h>

#include "mx.h"

MX_PROGRAM("thread_pool");

#define WORKERS 4
#define BATCH 8
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static uint64_t task_in[BATCH], task_out[BATCH];
static int next_task = BATCH, pending, stop;
static int per_worker[WORKERS];

static uint64_t work(uint64_t x) {
  uint64_t s = x;
  for (int i = 0; i < 20000; ++i) s = s * 6364136223846793005ULL + 1442695040888963407ULL;
  return s;
}

static void* worker(void* arg) {
  int id = (int)(intptr_t)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (!stop && next_task == BATCH) pthread_cond_wait(&work_cv, &mu);
    if (stop) break;
    int t = next_task++;
    uint64_t in = task_in[t];
    pthread_mutex_unlock(&mu);
    uint64_t out = work(in);
    pthread_mutex_lock(&mu);
    task_out[t] = out;
    per_worker[id]++;
    if (--pending == 0) pthread_cond_signal(&done_cv);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; ++i)
    MX_CHECK(pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i) == 0, "create");
  uint64_t seed = 42, h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    pthread_mutex_lock(&mu);
    for (int i = 0; i < BATCH; ++i) task_in[i] = mx_next(&seed);
    pending = BATCH;
    next_task = 0;
    pthread_cond_broadcast(&work_cv);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    int waits = 0;
    while (pending > 0) {
      deadline.tv_sec += 1;
      if (pthread_cond_timedwait(&done_cv, &mu, &deadline) == ETIMEDOUT) ++waits;
      MX_CHECK(waits < 30, "step %d: the batch did not finish (%d pending)", s, pending);
    }
    for (int i = 0; i < BATCH; ++i) {
      MX_CHECK(task_out[i] == work(task_in[i]), "step %d task %d: wrong result", s, i);
      h = mx_hash(h, &task_out[i], sizeof task_out[i]);
    }
    pthread_mutex_unlock(&mu);
    mx_step_sleep();
  }
  pthread_mutex_lock(&mu);
  stop = 1;
  pthread_cond_broadcast(&work_cv);
  pthread_mutex_unlock(&mu);
  int total = 0;
  for (int i = 0; i < WORKERS; ++i) {
    pthread_join(t[i], NULL);
    total += per_worker[i];
  }
  MX_CHECK(total == MX_STEPS * BATCH, "tasks done %d", total);
  printf("pool tasks %d hash %016llx\n", total, (unsigned long long)h);
  return 0;
}
