/* A chain of three processes: the grandchild generates numbers, the child doubles them and
 * passes them up, the parent sums. Each checks at every number that its parent is still the
 * same pid. */
#include "tree.h"

MX_PROGRAM("tree_chain");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int p1[2];
  MX_CHECK(pipe(p1) == 0, "pipe");
  const pid_t top = getpid();
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(p1[0]);
    int p2[2];
    MX_CHECK(pipe(p2) == 0, "pipe");
    const pid_t me = getpid();
    const pid_t grandchild = fork();
    MX_CHECK(grandchild >= 0, "fork");
    if (grandchild == 0) {
      close(p2[0]);
      close(p1[1]);
      uint64_t state = 7;
      for (int s = 0; s < MX_STEPS; ++s) {
        MX_CHECK(getppid() == me, "grandchild: parent %d is now %d", me, getppid());
        uint64_t v = mx_next(&state) % 65536;
        tr_write_all(p2[1], &v, sizeof v);
        mx_step_sleep();
      }
      _exit(0);
    }
    close(p2[1]);
    uint64_t v;
    while (tr_read_all(p2[0], &v, sizeof v)) {
      MX_CHECK(getppid() == top, "child: parent %d is now %d", top, getppid());
      v *= 2;
      tr_write_all(p1[1], &v, sizeof v);
    }
    const int st = tr_wait(grandchild);
    MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "grandchild status %#x", st);
    _exit(0);
  }
  close(p1[1]);
  uint64_t sum = 0, v;
  int n = 0;
  while (tr_read_all(p1[0], &v, sizeof v)) {
    sum += v;
    ++n;
  }
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  MX_CHECK(n == MX_STEPS, "got %d numbers", n);
  printf("tree_chain: %d numbers, doubled sum %llu\n", n, (unsigned long long)sum);
  return 0;
}
