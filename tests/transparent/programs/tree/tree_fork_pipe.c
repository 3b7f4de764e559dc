/* A parent streams MX_STEPS numbers to a forked child through a pipe, one per step; the child
 * sums them and answers through a second pipe at the end. Both check at every step that
 * their pids are the ones they had (getpid, getppid, fork's result, /proc/self). */
#include "tree.h"

MX_PROGRAM("tree_fork_pipe");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int down[2], up[2];
  MX_CHECK(pipe(down) == 0 && pipe(up) == 0, "pipe");
  const pid_t parent = getpid();
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(down[1]);
    close(up[0]);
    const pid_t me = getpid();
    uint64_t sum = 0, h = MX_HASH_INIT, v;
    int n = 0;
    while (tr_read_all(down[0], &v, sizeof v)) {
      MX_CHECK(getpid() == me && tr_proc_self_pid() == me, "child pid changed from %d", me);
      MX_CHECK(getppid() == parent, "child: parent %d is now %d", parent, getppid());
      sum += v;
      h = mx_hash(h, &v, sizeof v);
      ++n;
    }
    uint64_t out[3] = {(uint64_t)n, sum, h};
    tr_write_all(up[1], out, sizeof out);
    _exit(7);
  }
  close(down[0]);
  close(up[1]);
  uint64_t state = 42, expect_sum = 0, expect_h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    uint64_t v = mx_next(&state) % 1000003;
    expect_sum += v;
    expect_h = mx_hash(expect_h, &v, sizeof v);
    tr_write_all(down[1], &v, sizeof v);
    MX_CHECK(getpid() == parent && tr_proc_self_pid() == parent, "parent pid changed");
    MX_CHECK(kill(child, 0) == 0, "step %d: child %d is gone", s, (int)child);
    mx_step_sleep();
  }
  close(down[1]);
  uint64_t got[3];
  MX_CHECK(tr_read_all(up[0], got, sizeof got), "no answer from the child");
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "child status %#x", st);
  MX_CHECK(got[0] == MX_STEPS && got[1] == expect_sum && got[2] == expect_h,
           "child saw %llu numbers, sum %llu", (unsigned long long)got[0],
           (unsigned long long)got[1]);
  printf("tree_fork_pipe: %d numbers, sum %llu, hash %016llx\n", MX_STEPS,
         (unsigned long long)expect_sum, (unsigned long long)expect_h);
  return 0;
}
