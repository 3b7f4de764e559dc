/* Thread-local storage: __thread variables (initialised and zero), a large TLS array and
 * pthread_key_t values, each checked by its own thread at every step; main's TLS too. */
#include <pthread.h>

#include "mx.h"

MX_PROGRAM("tls");

#define THREADS 6
static __thread uint64_t tls_value = 0x1234;
static __thread int tls_zero;
static __thread unsigned char tls_array[4096];
static pthread_key_t key;
static uint64_t results[THREADS + 1];

static void destructor(void* p) { free(p); }

static void* body(void* arg) {
  int id = (int)(intptr_t)arg;
  MX_CHECK(tls_value == 0x1234 && tls_zero == 0, "thread %d: bad initial TLS", id);
  tls_value = 1000 + (uint64_t)id;
  uint64_t* heap = malloc(sizeof *heap);
  *heap = 7 * (uint64_t)id;
  pthread_setspecific(key, heap);
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(tls_value == 1000 + (uint64_t)id + (uint64_t)s, "thread %d step %d: tls_value %llu",
             id, s, (unsigned long long)tls_value);
    MX_CHECK(tls_zero == s, "thread %d step %d: tls_zero %d", id, s, tls_zero);
    for (int i = 0; i < 4096; i += 97)
      MX_CHECK(tls_array[i] == (unsigned char)(id * 31 + s + i - 1) || s == 0,
               "thread %d step %d: tls_array[%d]", id, s, i);
    for (int i = 0; i < 4096; ++i) tls_array[i] = (unsigned char)(id * 31 + s + i);
    uint64_t* p = pthread_getspecific(key);
    MX_CHECK(p == heap && *p == 7 * (uint64_t)id + (uint64_t)s, "thread %d step %d: key value", id,
             s);
    *p += 1;
    tls_value++;
    tls_zero++;
    mx_step_sleep();
  }
  results[id] = tls_value * 31 + (uint64_t)tls_zero;
  return NULL;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  pthread_key_create(&key, destructor);
  pthread_t t[THREADS];
  for (int i = 1; i <= THREADS; ++i)
    MX_CHECK(pthread_create(&t[i - 1], NULL, body, (void*)(intptr_t)i) == 0, "create");
  body((void*)(intptr_t)0);
  for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
  uint64_t h = mx_hash(MX_HASH_INIT, results, sizeof results);
  printf("tls threads %d hash %016llx\n", THREADS + 1, (unsigned long long)h);
  return 0;
}
