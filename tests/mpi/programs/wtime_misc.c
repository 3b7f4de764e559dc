/* Environment queries whose answers must not change across a restart: MPI_Wtime monotone
 * (never backwards between steps, and each step's interval at least the time slept) and
 * MPI_Wtick positive; MPI_Get_processor_name, MPI_Get_version (equal to the header's
 * MPI_VERSION / MPI_SUBVERSION), MPI_Get_library_version, MPI_Initialized / MPI_Finalized
 * (before and after MPI_Finalize), MPI_Comm_size / MPI_Comm_rank of MPI_COMM_WORLD and
 * MPI_COMM_SELF, MPI_Comm_get_parent (MPI_COMM_NULL), MPI_Query_thread; the program ends
 * normally (exit status 0, MPI_Abort never called). */
#include "mt.h"

int main(int argc, char** argv) {
  int flag = -1;
  MT_MPI(MPI_Initialized(&flag));
  if (flag != 0) {
    printf("FAIL wtime_misc: MPI_Initialized before MPI_Init\n");
    return 1;
  }
  mt_init(&argc, &argv, "wtime_misc", 200, 35);
  const int n = mt_size, r = mt_rank;
  uint64_t h = MT_HASH_INIT;
  char proc0[MPI_MAX_PROCESSOR_NAME], lib0[MPI_MAX_LIBRARY_VERSION_STRING];
  int plen0 = 0, llen0 = 0, thread0 = -1;
  MT_MPI(MPI_Get_processor_name(proc0, &plen0));
  MT_MPI(MPI_Get_library_version(lib0, &llen0));
  MT_MPI(MPI_Query_thread(&thread0));
  MT_CHECK(plen0 > 0 && plen0 < MPI_MAX_PROCESSOR_NAME && (int)strlen(proc0) == plen0,
           "processor name '%s' (%d)", proc0, plen0);
  MT_CHECK(llen0 > 0 && llen0 < MPI_MAX_LIBRARY_VERSION_STRING, "library version length %d", llen0);
  double prev = MPI_Wtime();
  const double tick = MPI_Wtick();
  MT_CHECK(tick > 0 && tick < 0.01, "Wtick %g", tick);
  double slept = 0, measured = 0;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    MT_MPI(MPI_Initialized(&flag));
    MT_CHECK(flag == 1, "step %d: MPI_Initialized %d", s, flag);
    MT_MPI(MPI_Finalized(&flag));
    MT_CHECK(flag == 0, "step %d: MPI_Finalized %d", s, flag);
    int sz = -1, rk = -1, ver = -1, sub = -1, th = -1;
    MT_MPI(MPI_Comm_size(MPI_COMM_WORLD, &sz));
    MT_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rk));
    MT_CHECK(sz == n && rk == r, "step %d: size %d rank %d, want %d %d", s, sz, rk, n, r);
    MT_MPI(MPI_Comm_size(MPI_COMM_SELF, &sz));
    MT_MPI(MPI_Comm_rank(MPI_COMM_SELF, &rk));
    MT_CHECK(sz == 1 && rk == 0, "step %d: MPI_COMM_SELF size %d rank %d", s, sz, rk);
    MT_MPI(MPI_Get_version(&ver, &sub));
    MT_CHECK(ver == MPI_VERSION && sub == MPI_SUBVERSION, "step %d: version %d.%d, header %d.%d",
             s, ver, sub, MPI_VERSION, MPI_SUBVERSION);
    MPI_Comm parent;
    MT_MPI(MPI_Comm_get_parent(&parent));
    MT_CHECK(parent == MPI_COMM_NULL, "step %d: a parent communicator", s);
    MT_MPI(MPI_Query_thread(&th));
    MT_CHECK(th == thread0, "step %d: thread level %d, was %d", s, th, thread0);
    char proc[MPI_MAX_PROCESSOR_NAME], lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int plen = 0, llen = 0;
    MT_MPI(MPI_Get_processor_name(proc, &plen));
    MT_CHECK(plen == plen0 && strcmp(proc, proc0) == 0, "step %d: processor name '%s', was '%s'",
             s, proc, proc0);
    MT_MPI(MPI_Get_library_version(lib, &llen));
    MT_CHECK(llen == llen0 && strcmp(lib, lib0) == 0, "step %d: library version changed", s);

    /* Wtime: never backwards, and at least the time slept since the last step. */
    const double now = MPI_Wtime();
    MT_CHECK(now >= prev, "step %d: MPI_Wtime went back from %.6f to %.6f", s, prev, now);
    if (s > 0)
      MT_CHECK(now - prev >= mt_step_ms * 1e-3 * 0.9,
               "step %d: MPI_Wtime advanced %.6f s over a sleep of %d ms", s, now - prev, mt_step_ms);
    measured += now - prev;
    prev = now;

    /* Everyone agrees on the step (and on the rank count). */
    int64_t v = s + r, sum = 0;
    MT_MPI(MPI_Allreduce(&v, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
    MT_CHECK(sum == (int64_t)s * n + (int64_t)n * (n - 1) / 2, "step %d: allreduce", s);
    h = mt_hash_i64(h, sum);
    mt_step_sleep();
    slept += mt_step_ms * 1e-3;
  }
  MT_CHECK(measured >= (slept - mt_step_ms * 1e-3) * 0.9, "Wtime measured %.3f s for %.3f s of sleep",
           measured, slept);
  /* mt_finish finalizes; then MPI_Finalized must say so. */
  mt_finish(h);
  MT_MPI(MPI_Finalized(&flag));
  if (flag != 1) {
    printf("FAIL wtime_misc rank %d: MPI_Finalized %d after MPI_Finalize\n", r, flag);
    return 1;
  }
  return 0;
}
