/* The deterministic work both Slurm test programs do (work_plain.c unmodified under cairn job
 * --transparent, work_library.c through the cairn C API): the library job's result is
 * checked against the plain program's, so they must share this code exactly. */
#ifndef CAIRN_TESTS_SLURM_WORK_H_
#define CAIRN_TESTS_SLURM_WORK_H_

#include <stdint.h>
#include <time.h>

#define WORK_N 8192

static uint64_t work_mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static void work_init(uint64_t* state) {
  for (int i = 0; i < WORK_N; ++i) state[i] = work_mix((uint64_t)i + 1);
}

/* Step `s`: 20 sweeps over the state, adding to *acc; then a sleep of sleep_ms. */
static void work_step(uint64_t* state, uint64_t* acc, long s, long sleep_ms) {
  for (int r = 0; r < 20; ++r) {
    for (int i = 0; i < WORK_N; ++i) {
      state[i] = work_mix(state[i] ^ state[(i + 1) % WORK_N] ^ (uint64_t)s);
      *acc += state[i] >> 7;
    }
  }
  if (sleep_ms > 0) {
    struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
    /* A checkpoint signal may cut the sleep short: sleep out the rest. */
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
}

#endif /* CAIRN_TESTS_SLURM_WORK_H_ */
