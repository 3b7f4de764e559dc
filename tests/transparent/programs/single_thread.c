/* A single-threaded program stays single-threaded for glibc under `cairn launch` (issue 11,
 * requirement 6): the library's checkpoint thread is one glibc does not count, so glibc keeps
 * its single-thread fast paths (unlocked malloc, stdio and mutexes). Checked at every step,
 * before and after each checkpoint and restart; the steps also use malloc, stdio and a mutex. */
#include <pthread.h>
#include <sys/single_threaded.h>

#include "mx.h"

MX_PROGRAM("single_thread");

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s/steps.txt", dir);
  FILE* f = fopen(path, "w");
  MX_CHECK(f != NULL, "fopen: %s", strerror(errno));
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(__libc_single_threaded, "step %d: glibc counts more than one thread", s);
    MX_CHECK(pthread_mutex_lock(&mu) == 0, "lock");
    char* p = malloc(64 + (size_t)s);
    MX_CHECK(p != NULL, "malloc");
    snprintf(p, 64, "step %d", s);
    fprintf(f, "%s\n", p);
    h = mx_hash(h, p, strlen(p));
    free(p);
    MX_CHECK(pthread_mutex_unlock(&mu) == 0, "unlock");
    mx_step_sleep();
  }
  MX_CHECK(fclose(f) == 0, "fclose");
  printf("single thread: %d steps, one thread throughout, hash %016llx\n", MX_STEPS,
         (unsigned long long)h);
  return 0;
}
