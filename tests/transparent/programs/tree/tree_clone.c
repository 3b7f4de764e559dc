/* A child made by clone() without CLONE_VM (a new process, as fork makes, on a stack the
 * parent allocated): it sends a running hash per step through a pipe, and the parent checks
 * each one against its own and waits for the child's exit status. */
#include <sched.h>
#include <sys/mman.h>

#include "tree.h"

MX_PROGRAM("tree_clone");

static int pipe_fds[2];

static int child_main(void* arg) {
  uint64_t state = *(const uint64_t*)arg;
  close(pipe_fds[0]);
  for (int s = 0; s < MX_STEPS; ++s) {
    uint64_t v = mx_next(&state);
    tr_write_all(pipe_fds[1], &v, sizeof v);
    mx_step_sleep();
  }
  close(pipe_fds[1]);
  return 42;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  MX_CHECK(pipe(pipe_fds) == 0, "pipe");
  const size_t stack_size = 1 << 20;
  char* stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  MX_CHECK(stack != MAP_FAILED, "mmap");
  uint64_t seed = 99;
  const pid_t child = clone(child_main, stack + stack_size, SIGCHLD, &seed);
  MX_CHECK(child > 0, "clone: %s", strerror(errno));
  close(pipe_fds[1]);
  uint64_t mine = 99, v, n = 0;
  while (tr_read_all(pipe_fds[0], &v, sizeof v)) {
    MX_CHECK(v == mx_next(&mine), "value %llu differs", (unsigned long long)n);
    ++n;
  }
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "child status %#x", st);
  MX_CHECK(n == MX_STEPS, "%llu values", (unsigned long long)n);
  printf("tree_clone: %llu values from a clone()d child, last %llu\n", (unsigned long long)n,
         (unsigned long long)v);
  return 0;
}
