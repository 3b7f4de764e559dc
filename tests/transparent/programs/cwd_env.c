/* Working directory and environment: chdir into WORKDIR/sub, then every step a relative
 * file (counter.txt) is read, rewritten and read back through the relative path, getcwd is checked,
 * and setenv/unsetenv change variables (getenv checked, environ walked). counter.txt is rewritten
 * in place without truncation, a fixed-width line in one write(): the test kills the process with
 * -9 at an arbitrary moment after a checkpoint, and a rewrite killed between a truncation and its
 * write would leave an empty file that no restart can bring back (the file is not open across
 * steps, and a file open at the checkpoint must still exist at restart, so no rename either). */
#include <fcntl.h>
#include <sys/stat.h>

#include "mx.h"

MX_PROGRAM("cwd_env");

extern char** environ;

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char sub[4096], want[4096], buf[4096];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  mkdir(sub, 0755);
  MX_CHECK(chdir(sub) == 0, "chdir %s", sub);
  MX_CHECK(getcwd(want, sizeof want) != NULL, "getcwd");
  setenv("MX_CONSTANT", "unchanged", 1);
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(getcwd(buf, sizeof buf) != NULL && strcmp(buf, want) == 0,
             "step %d: cwd is '%s', want '%s'", s, buf, want);
    const char* c = getenv("MX_CONSTANT");
    MX_CHECK(c != NULL && strcmp(c, "unchanged") == 0, "step %d: MX_CONSTANT lost", s);
    if (s > 0) {
      const char* v = getenv("MX_STEP");
      char w[32];
      snprintf(w, sizeof w, "%d", s - 1);
      MX_CHECK(v != NULL && strcmp(v, w) == 0, "step %d: MX_STEP is '%s'", s, v ? v : "(unset)");
      MX_CHECK((getenv("MX_ODD") != NULL) == ((s - 1) % 2 == 1), "step %d: MX_ODD", s);
      int n = 0;
      for (char** e = environ; *e != NULL; ++e)
        if (strncmp(*e, "MX_", 3) == 0) ++n;
      MX_CHECK(n == 2 + ((s - 1) % 2 == 1), "step %d: %d MX_ variables in environ", s, n);
      /* counter.txt is not open across steps: a process killed after a checkpoint may have
       * rewritten it with a later step, which a restart cannot undo (the file is not open) */
      FILE* f = fopen("counter.txt", "r");
      MX_CHECK(f != NULL, "step %d: relative open of counter.txt failed", s);
      int got = -1;
      MX_CHECK(fscanf(f, "%d", &got) == 1 && got >= s - 1, "step %d: counter %d", s, got);
      fclose(f);
    }
    char v[32];
    snprintf(v, sizeof v, "%d", s);
    setenv("MX_STEP", v, 1);
    if (s % 2 == 1)
      setenv("MX_ODD", "yes", 1);
    else
      unsetenv("MX_ODD");
    int fd = open("counter.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    MX_CHECK(fd >= 0, "open counter.txt for writing");
    char line[16];
    int len = snprintf(line, sizeof line, "%10d\n", s);
    MX_CHECK(write(fd, line, (size_t)len) == len, "write counter.txt");
    MX_CHECK(close(fd) == 0, "close counter.txt");
    FILE* f = fopen("counter.txt", "r");
    int back = -1;
    MX_CHECK(f != NULL && fscanf(f, "%d", &back) == 1 && back == s,
             "step %d: counter.txt read back %d", s, back);
    fclose(f);
    mx_step_sleep();
  }
  printf("cwd ends in /sub, MX_STEP=%s, counter.txt rewritten %d times\n", getenv("MX_STEP"),
         MX_STEPS);
  return 0;
}
