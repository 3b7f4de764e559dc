/* A small unmodified program for the transparent Slurm job test: STEPS steps of
 * deterministic integer work on a 64 KiB array, each followed by a sleep of SLEEP_MS
 * milliseconds (so the run takes STEPS * SLEEP_MS of wall time); prints only
 * "result <hex>" at the end. Single thread, plain memory, stdout only.
 *   work_plain STEPS SLEEP_MS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 8192

static uint64_t state[N];

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s STEPS SLEEP_MS\n", argv[0]);
    return 2;
  }
  const long steps = atol(argv[1]);
  const long sleep_ms = atol(argv[2]);
  for (int i = 0; i < N; ++i) state[i] = mix((uint64_t)i + 1);
  uint64_t acc = 0;
  for (long s = 0; s < steps; ++s) {
    for (int r = 0; r < 20; ++r) {
      for (int i = 0; i < N; ++i) {
        state[i] = mix(state[i] ^ state[(i + 1) % N] ^ (uint64_t)s);
        acc += state[i] >> 7;
      }
    }
    if (sleep_ms > 0) {
      struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
      /* A checkpoint signal may cut the sleep short: sleep out the rest. */
      while (nanosleep(&ts, &ts) != 0) {
      }
    }
  }
  printf("result %016llx\n", (unsigned long long)acc);
  return 0;
}
