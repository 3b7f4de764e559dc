/* A small unmodified program for the transparent Slurm job test: STEPS steps of
 * deterministic integer work on a 64 KiB array, each followed by a sleep of SLEEP_MS
 * milliseconds (so the run takes STEPS * SLEEP_MS of wall time); prints only
 * "result <hex>" at the end. Single thread, plain memory, stdout only.
 *   work_plain STEPS SLEEP_MS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "work.h"

static uint64_t state[WORK_N];

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s STEPS SLEEP_MS\n", argv[0]);
    return 2;
  }
  const long steps = atol(argv[1]);
  const long sleep_ms = atol(argv[2]);
  work_init(state);
  uint64_t acc = 0;
  for (long s = 0; s < steps; ++s) work_step(state, &acc, s, sleep_ms);
  printf("result %016llx\n", (unsigned long long)acc);
  return 0;
}
