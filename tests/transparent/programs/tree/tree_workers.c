/* Four forked workers compute hashes step by step and exit with their own status; the parent
 * collects their results through one shared pipe (fixed-size records) and waits for each by
 * pid, checking the status. */
#include "tree.h"

MX_PROGRAM("tree_workers");

#define NW 4

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int results[2];
  MX_CHECK(pipe(results) == 0, "pipe");
  pid_t pids[NW];
  for (int w = 0; w < NW; ++w) {
    pids[w] = fork();
    MX_CHECK(pids[w] >= 0, "fork");
    if (pids[w] == 0) {
      close(results[0]);
      uint64_t state = 1000 + (uint64_t)w, h = MX_HASH_INIT;
      for (int s = 0; s < MX_STEPS; ++s) {
        uint64_t v = mx_next(&state);
        h = mx_hash(h, &v, sizeof v);
        mx_step_sleep();
      }
      uint64_t rec[2] = {(uint64_t)w, h};
      tr_write_all(results[1], rec, sizeof rec);
      _exit(10 + w);
    }
  }
  close(results[1]);
  uint64_t hashes[NW] = {0};
  for (int i = 0; i < NW; ++i) {
    uint64_t rec[2];
    MX_CHECK(tr_read_all(results[0], rec, sizeof rec), "result %d missing", i);
    MX_CHECK(rec[0] < NW && hashes[rec[0]] == 0, "bad record for worker %llu",
             (unsigned long long)rec[0]);
    hashes[rec[0]] = rec[1];
  }
  for (int w = NW - 1; w >= 0; --w) {
    const int st = tr_wait(pids[w]);
    MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 10 + w, "worker %d status %#x", w, st);
  }
  for (int w = 0; w < NW; ++w) {
    printf("tree_workers: worker %d hash %016llx\n", w, (unsigned long long)hashes[w]);
  }
  return 0;
}
