/* A middle process forks a grandchild and exits at once: the grandchild is an orphan (its
 * parent is outside the job from then on) that keeps working and reports through a pipe to
 * the launched program, which reaps the middle one only. */
#include "tree.h"

MX_PROGRAM("tree_orphan");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int p[2];
  MX_CHECK(pipe(p) == 0, "pipe");
  const pid_t middle = fork();
  MX_CHECK(middle >= 0, "fork");
  if (middle == 0) {
    const pid_t orphan = fork();
    MX_CHECK(orphan >= 0, "fork");
    if (orphan == 0) {
      close(p[0]);
      uint64_t state = 9, h = MX_HASH_INIT;
      for (int s = 0; s < MX_STEPS; ++s) {
        uint64_t v = mx_next(&state);
        h = mx_hash(h, &v, sizeof v);
        mx_step_sleep();
      }
      tr_write_all(p[1], &h, sizeof h);
      _exit(0);
    }
    _exit(0);
  }
  close(p[1]);
  const int st = tr_wait(middle);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "middle status %#x", st);
  uint64_t h = 0;
  MX_CHECK(tr_read_all(p[0], &h, sizeof h), "no result from the orphan");
  printf("tree_orphan: orphan's hash %016llx\n", (unsigned long long)h);
  return 0;
}
