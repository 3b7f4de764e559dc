// Test program for transparent checkpointing: 4 worker threads and the main thread.
// Usage: threads_app READY_FILE RELEASE_FILE
// Each worker fills 16 MiB with a deterministic pattern and checksums it (phase 1), then,
// until RELEASE_FILE exists, keeps rewriting and verifying a scratch buffer (any corruption
// by a checkpoint is fatal), then does phase 2 and the main thread prints every result.
// The output does not depend on timing, so a run that was checkpointed must print exactly
// what an uninterrupted run prints. READY_FILE is created once all workers are in the loop.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 4
#define WORDS (16u << 17) /* 16 MiB of uint64_t */

static atomic_int g_ready = 0;
static atomic_int g_released = 0;

struct Work {
  int id;
  uint64_t sum1, sum2;
  uint64_t* data;
};

static uint64_t Lcg(uint64_t* s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s;
}

static void* Worker(void* p) {
  struct Work* w = p;
  w->data = malloc(WORDS * sizeof(uint64_t));
  if (w->data == NULL) abort();
  uint64_t s = (uint64_t)w->id + 1, sum = 0;
  for (size_t i = 0; i < WORDS; ++i) sum += (w->data[i] = Lcg(&s));
  w->sum1 = sum;
  uint64_t scratch[4096];
  atomic_fetch_add(&g_ready, 1);
  for (uint64_t round = 0; !atomic_load(&g_released); ++round) {
    for (size_t i = 0; i < 4096; ++i) scratch[i] = round * 31 + i;
    for (size_t i = 0; i < 4096; ++i) {
      if (scratch[i] != round * 31 + i) {
        fprintf(stderr, "thread %d: scratch corrupted\n", w->id);
        abort();
      }
    }
  }
  sum = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < WORDS; ++i) sum = sum * 31 + (w->data[i] ^ (uint64_t)pass);
  }
  w->sum2 = sum;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: threads_app READY_FILE RELEASE_FILE\n");
    return 2;
  }
  struct Work work[NTHREADS];
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; ++i) {
    work[i].id = i;
    if (pthread_create(&th[i], NULL, Worker, &work[i]) != 0) return 1;
  }
  while (atomic_load(&g_ready) < NTHREADS) usleep(1000);
  FILE* f = fopen(argv[1], "w");
  if (f != NULL) fclose(f);
  while (access(argv[2], F_OK) != 0) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  atomic_store(&g_released, 1);
  uint64_t total = 0;
  for (int i = 0; i < NTHREADS; ++i) {
    pthread_join(th[i], NULL);
    printf("thread %d: %016llx %016llx\n", i, (unsigned long long)work[i].sum1,
           (unsigned long long)work[i].sum2);
    total ^= work[i].sum1 ^ work[i].sum2;
    free(work[i].data);
  }
  printf("total: %016llx\n", (unsigned long long)total);
  return 0;
}
