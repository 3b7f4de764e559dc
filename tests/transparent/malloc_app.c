// Test program: 2 threads allocate, fill, verify and free heavily (malloc, calloc, realloc,
// posix_memalign, aligned_alloc) while being checkpointed. Usage: malloc_app READY RELEASE.
// Each thread does a fixed amount of counted work (its checksum is printed, so the output
// is timing-independent), then keeps allocating until RELEASE exists. Any corruption aborts.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 512
static atomic_int g_ready = 0;
static atomic_int g_released = 0;

static uint64_t Next(uint64_t* s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void* Alloc(uint64_t r, size_t n) {
  void* p = NULL;
  switch (r % 4) {
    case 0:
      return malloc(n);
    case 1:
      return calloc(1, n);
    case 2:
      return posix_memalign(&p, 64, n) == 0 ? p : NULL;
    default:
      return aligned_alloc(4096, (n + 4095) / 4096 * 4096);
  }
}

struct Slot {
  unsigned char* p;
  size_t n;
  unsigned char tag;
};

static uint64_t Round(struct Slot* slots, uint64_t* seed) {
  uint64_t r = Next(seed);
  struct Slot* s = &slots[r % SLOTS];
  uint64_t sum = 0;
  if (s->p != NULL) {
    for (size_t i = 0; i < s->n; i += 61) {
      if (s->p[i] != s->tag) {
        fprintf(stderr, "malloc_app: corrupted block\n");
        abort();
      }
    }
    sum += s->n * s->tag;
    if (r & 64) {
      size_t n2 = 1 + (Next(seed) % 200000);
      unsigned char* q = realloc(s->p, n2);
      if (q == NULL) abort();
      s->p = q;
      if (n2 > s->n) memset(q + s->n, s->tag, n2 - s->n);
      s->n = n2;
      return sum;
    }
    free(s->p);
    s->p = NULL;
    return sum;
  }
  s->n = 1 + (Next(seed) % ((r & 1) ? 200000 : 2000));
  s->tag = (unsigned char)(r >> 8);
  s->p = Alloc(r >> 16, s->n);
  if (s->p == NULL) abort();
  memset(s->p, s->tag, s->n);
  return sum;
}

static void* Worker(void* arg) {
  uint64_t seed = 88172645463325252ULL + (uintptr_t)arg;
  struct Slot slots[SLOTS];
  memset(slots, 0, sizeof slots);
  uint64_t sum = 0;
  for (int i = 0; i < 200000; ++i) sum += Round(slots, &seed);
  atomic_fetch_add(&g_ready, 1);
  uint64_t scratch_seed = seed;
  while (!atomic_load(&g_released)) (void)Round(slots, &scratch_seed);
  for (int i = 0; i < SLOTS; ++i) free(slots[i].p);
  uint64_t* out = malloc(sizeof *out);
  *out = sum;
  return out;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  pthread_t th[2];
  for (uintptr_t i = 0; i < 2; ++i) pthread_create(&th[i], NULL, Worker, (void*)i);
  while (atomic_load(&g_ready) < 2) usleep(1000);
  FILE* f = fopen(argv[1], "w");
  if (f != NULL) fclose(f);
  while (access(argv[2], F_OK) != 0) usleep(10000);
  atomic_store(&g_released, 1);
  for (int i = 0; i < 2; ++i) {
    void* r;
    pthread_join(th[i], &r);
    printf("thread %d: %llu\n", i, (unsigned long long)*(uint64_t*)r);
    free(r);
  }
  return 0;
}
