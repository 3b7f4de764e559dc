/* Parent and child are both multi-threaded: each runs 3 worker threads that add to a shared
 * (per process) counter under a mutex; the child reports its total through a pipe. */
#include <pthread.h>

#include "tree.h"

MX_PROGRAM("tree_threads");

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total;

static void* worker(void* arg) {
  uint64_t state = (uint64_t)(uintptr_t)arg;
  for (int s = 0; s < MX_STEPS; ++s) {
    uint64_t v = mx_next(&state) % 100;
    pthread_mutex_lock(&mu);
    total += v;
    pthread_mutex_unlock(&mu);
    mx_step_sleep();
  }
  return NULL;
}

static uint64_t run(uint64_t seed) {
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) {
    MX_CHECK(pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)(seed + (uint64_t)i)) == 0,
             "pthread_create");
  }
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  return total;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int p[2];
  MX_CHECK(pipe(p) == 0, "pipe");
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(p[0]);
    uint64_t t = run(100);
    tr_write_all(p[1], &t, sizeof t);
    _exit(0);
  }
  close(p[1]);
  uint64_t mine = run(200), theirs = 0;
  MX_CHECK(tr_read_all(p[0], &theirs, sizeof theirs), "no total from the child");
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  printf("tree_threads: parent total %llu, child total %llu\n", (unsigned long long)mine,
         (unsigned long long)theirs);
  return 0;
}
