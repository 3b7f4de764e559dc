/* Parent and child share MAP_SHARED|MAP_ANONYMOUS memory and take turns on a counter in it,
 * guarded by two process-shared POSIX semaphores in the same memory: after a restart the
 * memory must still be one object for both (or the turns stop). */
#include <semaphore.h>
#include <sys/mman.h>

#include "tree.h"

MX_PROGRAM("tree_shared_anon");

struct shared {
  sem_t ping, pong;
  uint64_t counter;
  uint64_t hash;
  char pad[1 << 20]; /* a large part, partly written */
};

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct shared* sh =
      mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(sh != MAP_FAILED, "mmap");
  MX_CHECK(sem_init(&sh->ping, 1, 0) == 0 && sem_init(&sh->pong, 1, 0) == 0, "sem_init");
  sh->hash = MX_HASH_INIT;
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    for (int s = 0; s < MX_STEPS; ++s) {
      while (sem_wait(&sh->ping) != 0) MX_CHECK(errno == EINTR, "sem_wait");
      MX_CHECK(sh->counter == (uint64_t)(2 * s + 1), "child step %d: counter %llu", s,
               (unsigned long long)sh->counter);
      sh->counter++;
      sh->pad[(s * 4099) % sizeof sh->pad] = (char)s;
      sh->hash = mx_hash(sh->hash, &sh->counter, sizeof sh->counter);
      MX_CHECK(sem_post(&sh->pong) == 0, "sem_post");
    }
    _exit(0);
  }
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(sh->counter == (uint64_t)(2 * s), "parent step %d: counter %llu", s,
             (unsigned long long)sh->counter);
    sh->counter++;
    MX_CHECK(sem_post(&sh->ping) == 0, "sem_post");
    while (sem_wait(&sh->pong) != 0) MX_CHECK(errno == EINTR, "sem_wait");
    MX_CHECK(sh->pad[(s * 4099) % sizeof sh->pad] == (char)s,
             "step %d: the child's write is "
             "not visible",
             s);
    mx_step_sleep();
  }
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  printf("tree_shared_anon: counter %llu, hash %016llx\n", (unsigned long long)sh->counter,
         (unsigned long long)sh->hash);
  return 0;
}
