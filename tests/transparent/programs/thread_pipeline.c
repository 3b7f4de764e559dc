/* pthreads pipeline: producer -> stage A -> stage B -> consumer through bounded queues, each a
 * mutex and two condition variables. The consumer checks every item's value and order; the
 * main thread checks that the consumer keeps making progress. */
#include <pthread.h>

#include "mx.h"

MX_PROGRAM("thread_pipeline");

#define QCAP 4
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  uint64_t items[QCAP];
  int head, count;
} queue_t;

static queue_t queues[3];
static volatile int consumed;
static uint64_t result_hash = MX_HASH_INIT;

static void q_init(queue_t* q) {
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  q->head = q->count = 0;
}
static void q_put(queue_t* q, uint64_t v) {
  pthread_mutex_lock(&q->mu);
  while (q->count == QCAP) pthread_cond_wait(&q->not_full, &q->mu);
  q->items[(q->head + q->count) % QCAP] = v;
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}
static uint64_t q_get(queue_t* q) {
  pthread_mutex_lock(&q->mu);
  while (q->count == 0) pthread_cond_wait(&q->not_empty, &q->mu);
  uint64_t v = q->items[q->head];
  q->head = (q->head + 1) % QCAP;
  q->count--;
  pthread_cond_signal(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return v;
}
static uint64_t f_a(uint64_t x) { return x * 3 + 1; }
static uint64_t f_b(uint64_t x) { return (x << 7) ^ (x >> 3) ^ 0x5bd1e995ULL; }

static void* producer(void* arg) {
  (void)arg;
  for (uint64_t i = 1; i <= MX_STEPS; ++i) {
    q_put(&queues[0], i);
    mx_step_sleep();
  }
  q_put(&queues[0], 0);
  return NULL;
}
static void* stage_a(void* arg) {
  (void)arg;
  for (;;) {
    uint64_t v = q_get(&queues[0]);
    q_put(&queues[1], v == 0 ? 0 : f_a(v));
    if (v == 0) return NULL;
  }
}
static void* stage_b(void* arg) {
  (void)arg;
  for (;;) {
    uint64_t v = q_get(&queues[1]);
    q_put(&queues[2], v == 0 ? 0 : f_b(v));
    if (v == 0) return NULL;
  }
}
static void* consumer(void* arg) {
  (void)arg;
  for (uint64_t i = 1;; ++i) {
    uint64_t v = q_get(&queues[2]);
    if (v == 0) {
      MX_CHECK(i == MX_STEPS + 1, "end marker after %llu items", (unsigned long long)(i - 1));
      return NULL;
    }
    MX_CHECK(v == f_b(f_a(i)), "item %llu: got %llx", (unsigned long long)i, (unsigned long long)v);
    result_hash = mx_hash(result_hash, &v, sizeof v);
    __atomic_store_n(&consumed, (int)i, __ATOMIC_RELEASE);
  }
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  for (int i = 0; i < 3; ++i) q_init(&queues[i]);
  pthread_t t[4];
  void* (*fn[4])(void*) = {producer, stage_a, stage_b, consumer};
  for (int i = 0; i < 4; ++i) MX_CHECK(pthread_create(&t[i], NULL, fn[i], NULL) == 0, "create");
  int last = -1, still = 0;
  while (__atomic_load_n(&consumed, __ATOMIC_ACQUIRE) < MX_STEPS) {
    mx_step_sleep();
    int now = __atomic_load_n(&consumed, __ATOMIC_ACQUIRE);
    still = now == last ? still + 1 : 0;
    last = now;
    MX_CHECK(still < 40, "the pipeline stopped at item %d", now);
  }
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("pipeline items %d hash %016llx\n", consumed, (unsigned long long)result_hash);
  return 0;
}
