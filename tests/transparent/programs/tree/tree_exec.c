/* The parent forks and exec()s this program again as a filter ("filter" mode) whose stdin and
 * stdout are pipes to the parent: it answers each number with its square. The exec()ed
 * program is followed through the preload library's constructor, and its descriptors 0 and 1
 * (pipes to its parent, unlike the parent's own) must come back at a restart. */
#include "tree.h"

MX_PROGRAM("tree_exec");

static int filter(void) {
  uint64_t v;
  const pid_t parent = getppid();
  while (tr_read_all(0, &v, sizeof v)) {
    MX_CHECK(getppid() == parent, "filter: parent %d is now %d", parent, getppid());
    v = v * v;
    tr_write_all(1, &v, sizeof v);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "filter") == 0) return filter();
  (void)mx_workdir(argc, argv);
  int down[2], up[2];
  MX_CHECK(pipe(down) == 0 && pipe(up) == 0, "pipe");
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    MX_CHECK(dup2(down[0], 0) == 0 && dup2(up[1], 1) == 1, "dup2");
    close(down[0]);
    close(down[1]);
    close(up[0]);
    close(up[1]);
    execl("/proc/self/exe", argv[0], "filter", (char*)NULL);
    _exit(127);
  }
  close(down[0]);
  close(up[1]);
  uint64_t state = 99, sum = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    uint64_t v = mx_next(&state) % 100000, sq;
    tr_write_all(down[1], &v, sizeof v);
    MX_CHECK(tr_read_all(up[0], &sq, sizeof sq), "step %d: no answer", s);
    MX_CHECK(sq == v * v, "step %d: %llu squared is not %llu", s, (unsigned long long)v,
             (unsigned long long)sq);
    sum += sq;
    mx_step_sleep();
  }
  close(down[1]);
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "filter status %#x", st);
  printf("tree_exec: %d squares, sum %llu\n", MX_STEPS, (unsigned long long)sum);
  return 0;
}
