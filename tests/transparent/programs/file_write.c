/* Files written sequentially: WORKDIR/seq.txt opened O_WRONLY|O_CREAT|O_TRUNC (write(2)
 * lines) and WORKDIR/append.log opened O_WRONLY|O_APPEND through two
 * descriptors (their appends interleave in order), plus a
 * stdio FILE* (fprintf, flushed each step). Every step checks the offsets (lseek SEEK_CUR,
 * ftell) against what was written. The files' hashes are printed at the end. */
#include <fcntl.h>
#include <sys/stat.h>

#include "mx.h"

MX_PROGRAM("file_write");

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  char seq_path[4096], app_path[4096], std_path[4096];
  snprintf(seq_path, sizeof seq_path, "%s/seq.txt", dir);
  snprintf(app_path, sizeof app_path, "%s/append.log", dir);
  snprintf(std_path, sizeof std_path, "%s/stdio.txt", dir);
  int seq = open(seq_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int app1 = open(app_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  int app2 = open(app_path, O_WRONLY | O_APPEND);
  FILE* out = fopen(std_path, "w");
  MX_CHECK(seq >= 0 && app1 >= 0 && app2 >= 0 && out != NULL, "open");
  off_t seq_off = 0, app_size = 0;
  long std_off = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    MX_CHECK(lseek(seq, 0, SEEK_CUR) == seq_off, "step %d: seq offset %lld, want %lld", s,
             (long long)lseek(seq, 0, SEEK_CUR), (long long)seq_off);
    MX_CHECK((fcntl(app1, F_GETFL) & O_APPEND) && (fcntl(app2, F_GETFL) & O_APPEND),
             "step %d: O_APPEND lost", s);
    MX_CHECK((fcntl(seq, F_GETFL) & O_ACCMODE) == O_WRONLY, "step %d: seq not O_WRONLY", s);
    struct stat st;
    MX_CHECK(fstat(app1, &st) == 0 && st.st_size == app_size,
             "step %d: append.log size %lld, want %lld", s, (long long)st.st_size,
             (long long)app_size);
    MX_CHECK(ftell(out) == std_off, "step %d: ftell %ld, want %ld", s, ftell(out), std_off);
    char line[128];
    int n = snprintf(line, sizeof line, "line %d value %llu\n", s,
                     (unsigned long long)s * s * 2654435761u);
    MX_CHECK(write(seq, line, (size_t)n) == n, "write seq");
    seq_off += n;
    n = snprintf(line, sizeof line, "a1 %d\n", s);
    MX_CHECK(write(app1, line, (size_t)n) == n, "write app1");
    app_size += n;
    n = snprintf(line, sizeof line, "a2 %d\n", s);
    MX_CHECK(write(app2, line, (size_t)n) == n, "write app2");
    app_size += n;
    MX_CHECK(lseek(app2, 0, SEEK_CUR) == app_size, "step %d: append offset", s);
    std_off += fprintf(out, "stdio %d\n", s);
    fflush(out);
    mx_step_sleep();
  }
  close(seq);
  close(app1);
  close(app2);
  fclose(out);
  size_t a, b, c;
  uint64_t ha = mx_file_hash(seq_path, &a), hb = mx_file_hash(app_path, &b),
           hc = mx_file_hash(std_path, &c);
  printf("seq.txt %zu %016llx\nappend.log %zu %016llx\nstdio.txt %zu %016llx\n", a,
         (unsigned long long)ha, b, (unsigned long long)hb, c, (unsigned long long)hc);
  return 0;
}
