/* Shared helpers of the MPI checkpoint/restart test programs (tests/mpi/mpi_matrix.sh).
 *
 * Contract of every program (C here, the Fortran ones follow the same rules):
 *   mpirun -np 4 PROGRAM [STEPS [STEP_MS]]
 * runs STEPS steps (a default that lasts ~6-10 s on 4 ranks), sleeping STEP_MS milliseconds per
 * step so that a checkpoint lands mid-run. Every rank checks what it receives against values it
 * can compute itself; a failed check prints "FAIL <program> rank <r>: <what>" to stdout and
 * calls MPI_Abort(MPI_COMM_WORLD, 1). Rank 0 prints "PROGRESS <program> <step> <steps>" to
 * stderr about 20 times per run, and at the end exactly two lines to stdout:
 *   RESULT <program> <value>      (a deterministic checksum: independent of timing, of
 *   OK                             restarts and of the MPI implementation)
 * Nothing else goes to stdout. Files are created in the current directory. */
#ifndef CAIRN_TESTS_MPI_PROGRAMS_MT_H_
#define CAIRN_TESTS_MPI_PROGRAMS_MT_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char* mt_name = "?";
static int mt_rank = -1;
static int mt_size = 0;
static int mt_steps = 0;
static int mt_step_ms = 0;

#if defined(__GNUC__)
#define MT_UNUSED __attribute__((unused))
#define MT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MT_UNUSED
#define MT_PRINTF(a, b)
#endif

static void mt_fail(const char* file, int line, const char* cond, const char* fmt, ...)
    MT_PRINTF(4, 5);
static MT_UNUSED void mt_fail(const char* file, int line, const char* cond, const char* fmt,
                              ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  printf("FAIL %s rank %d: %s [%s:%d: %s]\n", mt_name, mt_rank, msg, file, line, cond);
  fflush(stdout);
  fprintf(stderr, "FAIL %s rank %d: %s [%s:%d: %s]\n", mt_name, mt_rank, msg, file, line, cond);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  _exit(1);
}

/* Fails the program (all ranks) with a message naming the failed condition. */
#define MT_CHECK(cond, ...)                                             \
  do {                                                                  \
    if (!(cond)) mt_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);       \
  } while (0)

/* Checks that an MPI call returned MPI_SUCCESS. */
#define MT_MPI(call)                                                                  \
  do {                                                                                \
    int mt_rc_ = (call);                                                              \
    if (mt_rc_ != MPI_SUCCESS) mt_fail(__FILE__, __LINE__, #call, "MPI error %d", mt_rc_); \
  } while (0)

/* Sleeps `ms` milliseconds of real time, resuming after signals (EINTR). */
static MT_UNUSED void mt_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rem;
  while (nanosleep(&ts, &rem) != 0 && errno == EINTR) ts = rem;
}

static MT_UNUSED void mt_step_sleep(void) { mt_sleep_ms(mt_step_ms); }

/* FNV-1a, 64 bits. */
#define MT_HASH_INIT 1469598103934665603ULL
static MT_UNUSED uint64_t mt_hash(uint64_t h, const void* data, size_t len) {
  const unsigned char* p = (const unsigned char*)data;
  for (size_t i = 0; i < len; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}
static MT_UNUSED uint64_t mt_hash_u64(uint64_t h, uint64_t v) { return mt_hash(h, &v, sizeof v); }
static MT_UNUSED uint64_t mt_hash_i64(uint64_t h, int64_t v) { return mt_hash(h, &v, sizeof v); }

/* A deterministic 64-bit mixer (splitmix64 finalizer) and a pure function of small integers:
 * the value every sender puts in a message and every receiver recomputes. */
static MT_UNUSED uint64_t mt_mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static MT_UNUSED int32_t mt_val(int64_t a, int64_t b, int64_t c) {
  return (int32_t)(mt_mix((uint64_t)a * 1000003ULL ^ mt_mix((uint64_t)b * 7919ULL + (uint64_t)c)) &
                   0x3fffffff);
}

/* MPI_Init (or MPI_Init_thread when `required` >= 0), rank, size, STEPS and STEP_MS from argv. */
static MT_UNUSED void mt_init_thread(int* argc, char*** argv, const char* name, int default_steps,
                                     int default_step_ms, int required, int* provided) {
  mt_name = name;
  if (required >= 0) {
    int p = -1;
    MPI_Init_thread(argc, argv, required, &p);
    if (provided != NULL) *provided = p;
  } else {
    MPI_Init(argc, argv);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mt_size);
  mt_steps = default_steps;
  mt_step_ms = default_step_ms;
  if (*argc >= 2) mt_steps = atoi((*argv)[1]);
  if (*argc >= 3) mt_step_ms = atoi((*argv)[2]);
  MT_CHECK(mt_steps >= 1 && mt_step_ms >= 0, "usage: %s [STEPS [STEP_MS]]", (*argv)[0]);
}

static MT_UNUSED void mt_init(int* argc, char*** argv, const char* name, int default_steps,
                              int default_step_ms) {
  mt_init_thread(argc, argv, name, default_steps, default_step_ms, -1, NULL);
}

/* Rank 0: "PROGRESS name step steps" on stderr about 20 times per run (and at the last step). */
static MT_UNUSED void mt_progress(int step) {
  int every = mt_steps >= 20 ? mt_steps / 20 : 1;
  if (mt_rank == 0 && (step % every == 0 || step == mt_steps - 1)) {
    fprintf(stderr, "PROGRESS %s %d %d\n", mt_name, step + 1, mt_steps);
    fflush(stderr);
  }
}

/* Combines every rank's `local` checksum (in rank order, on rank 0), prints RESULT and OK on
 * rank 0, and finalizes. Every check has passed when this is reached (a failure aborts). */
static MT_UNUSED void mt_finish(uint64_t local) {
  uint64_t* all = NULL;
  if (mt_rank == 0) all = (uint64_t*)calloc((size_t)mt_size, sizeof *all);
  MT_MPI(MPI_Gather(&local, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD));
  int failures = 0, total = 0;
  MT_MPI(MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  MT_CHECK(total == 0, "%d ranks reported failures", total);
  if (mt_rank == 0) {
    uint64_t h = MT_HASH_INIT;
    h = mt_hash_u64(h, (uint64_t)mt_size);
    h = mt_hash_u64(h, (uint64_t)mt_steps);
    for (int r = 0; r < mt_size; ++r) h = mt_hash_u64(h, all[r]);
    free(all);
    printf("RESULT %s %020llu\n", mt_name, (unsigned long long)h);
    printf("OK\n");
    fflush(stdout);
  }
  MPI_Finalize();
}

#endif /* CAIRN_TESTS_MPI_PROGRAMS_MT_H_ */
