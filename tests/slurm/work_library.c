/* A program using the cairn C API for the library Slurm job test: the same deterministic
 * work as work_plain.c, with its state protected. At start it restores the newest
 * checkpoint; after each step it asks cairn_need_checkpoint, checkpoints when told to, and
 * exits 0 once cairn_should_exit says so. Prints only "result <hex>" (stdout) at the end;
 * progress goes to stderr.
 *   work_library STEPS SLEEP_MS CONFIG */
#include <cairn/cairn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "work.h"

struct work {
  uint64_t state[WORK_N];
  uint64_t acc;
  long step;
};
static struct work w;
static cairn_client_t* g_client = NULL;

static int check(cairn_status_t st, const char* what) {
  if (st == CAIRN_OK) return 0;
  fprintf(stderr, "work_library: %s: %s\n", what, cairn_last_error(g_client));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s STEPS SLEEP_MS CONFIG\n", argv[0]);
    return 2;
  }
  const long steps = atol(argv[1]);
  const long sleep_ms = atol(argv[2]);
  cairn_client_t* c = NULL;
  if (check(cairn_open_single(0, argv[3], &c), "open")) return 1;
  g_client = c;
  if (check(cairn_protect(c, 0, &w, sizeof w), "protect")) return 1;
  long long version = 0;
  cairn_status_t st = cairn_restart_latest(c, "work", CAIRN_ANY_VERSION, &version);
  if (st == CAIRN_OK) {
    fprintf(stderr, "work_library: restarted from version %lld (step %ld)\n", version, w.step);
  } else if (st == CAIRN_E_NOT_FOUND) {
    work_init(w.state);
    w.acc = 0;
    w.step = 0;
  } else {
    check(st, "restart");
    return 1;
  }
  while (w.step < steps) {
    work_step(w.state, &w.acc, w.step, sleep_ms);
    w.step += 1;
    int need = 0;
    if (check(cairn_need_checkpoint(c, &need), "need_checkpoint")) return 1;
    if (need) {
      if (check(cairn_checkpoint(c, "work", w.step), "checkpoint")) return 1;
      int stop = 0;
      if (check(cairn_should_exit(c, &stop), "should_exit")) return 1;
      if (stop) {
        fprintf(stderr, "work_library: final checkpoint at step %ld: exiting\n", w.step);
        return check(cairn_close(c, 1), "close");
      }
    }
  }
  printf("result %016llx\n", (unsigned long long)w.acc);
  return check(cairn_close(c, 1), "close");
}
