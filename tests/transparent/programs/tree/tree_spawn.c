/* Children started without fork(): posix_spawn of this program as a counter, popen of a
 * shell pipeline that reads the parent's numbers, and system() of a shell that sleeps. All
 * are followed through the library's constructor in the exec()ed programs. */
#include <spawn.h>

#include "tree.h"

MX_PROGRAM("tree_spawn");

extern char** environ;

/* "count N": sleeps N steps and exits with N % 100. */
static int count(int n) {
  for (int s = 0; s < n; ++s) mx_step_sleep();
  return n % 100;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "count") == 0) return count(atoi(argv[2]));
  (void)mx_workdir(argc, argv);
  char steps[16];
  snprintf(steps, sizeof steps, "%d", MX_STEPS + 7);
  char* child_argv[] = {argv[0], (char*)"count", steps, NULL};
  pid_t spawned;
  MX_CHECK(posix_spawn(&spawned, "/proc/self/exe", NULL, NULL, child_argv, environ) == 0,
           "posix_spawn");
  /* popen: a shell pipeline through sort that gets one number per step. */
  FILE* to_sort = popen("sort -n | md5sum > sorted.md5", "w");
  MX_CHECK(to_sort != NULL, "popen");
  uint64_t state = 5;
  for (int s = 0; s < MX_STEPS; ++s) {
    fprintf(to_sort, "%llu\n", (unsigned long long)(mx_next(&state) % 100000));
    fflush(to_sort);
    if (s == MX_STEPS / 2) {
      MX_CHECK(system("sleep 0.3; exit 3") == 3 << 8, "system() status");
    }
    mx_step_sleep();
  }
  MX_CHECK(pclose(to_sort) == 0, "pclose");
  const int st = tr_wait(spawned);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == (MX_STEPS + 7) % 100, "spawned status %#x", st);
  char sum[64] = {0};
  FILE* f = fopen("sorted.md5", "r");
  MX_CHECK(f != NULL && fgets(sum, sizeof sum, f) != NULL, "sorted.md5");
  fclose(f);
  printf("tree_spawn: spawned child exited %d, sorted %s", WEXITSTATUS(st), sum);
  return 0;
}
