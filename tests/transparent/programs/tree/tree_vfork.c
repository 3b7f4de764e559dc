/* Children started with vfork() + exec (this program again, as a worker that sleeps N steps
 * and exits with N % 50), one every 40 steps, reaped in order by pid. */
#include "tree.h"

MX_PROGRAM("tree_vfork");

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "worker") == 0) {
    const int n = atoi(argv[2]);
    for (int s = 0; s < n; ++s) mx_step_sleep();
    return n % 50;
  }
  (void)mx_workdir(argc, argv);
  pid_t kids[8];
  int n = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    if (s % 40 == 0 && n < 8) {
      char steps[16];
      snprintf(steps, sizeof steps, "%d", 60 + n);
      pid_t pid = vfork();
      if (pid == 0) {
        execl("/proc/self/exe", argv[0], "worker", steps, (char*)NULL);
        _exit(127);
      }
      MX_CHECK(pid > 0, "vfork");
      kids[n++] = pid;
    }
    mx_step_sleep();
  }
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    const int st = tr_wait(kids[i]);
    MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == (60 + i) % 50, "worker %d status %#x", i, st);
    sum += WEXITSTATUS(st);
  }
  printf("tree_vfork: %d vfork()ed workers, statuses sum %d\n", n, sum);
  return 0;
}
