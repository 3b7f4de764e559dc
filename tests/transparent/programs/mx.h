/* Shared helpers of the transparent-checkpointing matrix programs (tests/transparent/matrix.sh).
 *
 * Contract of every matrix program:
 *   PROGRAM WORKDIR
 * runs a deterministic computation for about 3 s of wall time in MX_STEPS small steps,
 * sleeping MX_STEP_MS between steps so that checkpoints land mid-run; checks its own state at
 * every step and, on any inconsistency, writes "PROGRAM: check failed ..." to stderr and exits
 * with status 3 (MX_CHECK). It prints to stdout ONLY at the end: a few deterministic lines (no
 * pids, no times). Files it creates live under WORKDIR (the harness compares the WORKDIRs of
 * the reference run and of the checkpointed run). Exit status 0 when every check held. */
#ifndef CAIRN_TESTS_TRANSPARENT_PROGRAMS_MX_H_
#define CAIRN_TESTS_TRANSPARENT_PROGRAMS_MX_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MX_STEPS 200
#define MX_STEP_MS 15

/* The number of steps: MX_STEPS, or the environment's MX_STEPS (1..100000) for a variant whose
 * checkpoints take longer, so that the program still runs when its last cycle checkpoints it
 * (a restored process reads its own saved environment: the same value). */
static inline int mx_steps(void) {
  const char* s = getenv("MX_STEPS");
  const int n = s != NULL ? atoi(s) : 0;
  return n > 0 && n <= 100000 ? n : MX_STEPS;
}

extern const char* mx_name; /* defined by MX_PROGRAM(name) in each program */

#define MX_PROGRAM(name) const char* mx_name = name

/* Fails the program with a message naming the failed condition. */
#define MX_CHECK(cond, ...)                                                                    \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "%s: check failed at %s:%d (%s): ", mx_name, __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                            \
      fputc('\n', stderr);                                                                     \
      fflush(stderr);                                                                          \
      _exit(3);                                                                                \
    }                                                                                          \
  } while (0)

/* Sleeps `ms` milliseconds of real time, resuming after signals (EINTR). */
static inline void mx_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rem;
  while (nanosleep(&ts, &rem) != 0 && errno == EINTR) ts = rem;
}

static inline void mx_step_sleep(void) { mx_sleep_ms(MX_STEP_MS); }

/* FNV-1a, 64 bits. */
static inline uint64_t mx_hash(uint64_t h, const void* data, size_t len) {
  const unsigned char* p = (const unsigned char*)data;
  for (size_t i = 0; i < len; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}
#define MX_HASH_INIT 1469598103934665603ULL

/* A deterministic 64-bit generator (splitmix64). */
static inline uint64_t mx_next(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* The workdir argument (argv[1]); fails without it. */
static inline const char* mx_workdir(int argc, char** argv) {
  MX_CHECK(argc >= 2, "usage: %s WORKDIR", argv[0]);
  return argv[1];
}

/* Hash of a whole file's content, or fails. */
static inline uint64_t mx_file_hash(const char* path, size_t* size_out) {
  FILE* f = fopen(path, "rb");
  MX_CHECK(f != NULL, "cannot open %s: %s", path, strerror(errno));
  uint64_t h = MX_HASH_INIT;
  size_t total = 0;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    h = mx_hash(h, buf, n);
    total += n;
  }
  fclose(f);
  if (size_out != NULL) *size_out = total;
  return h;
}

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_TESTS_TRANSPARENT_PROGRAMS_MX_H_ */
