/* MPI + OpenMP: MPI_Init_thread(MPI_THREAD_FUNNELED) (provided level checked, MPI_Query_thread,
 * MPI_Is_thread_main), then every step OpenMP parallel loops over a shared array (a team of
 * 2 threads, so the runtime's worker threads are parked between regions when a checkpoint
 * lands) with an integer reduction, followed by MPI calls from the main thread: an Allreduce
 * of the partial results and a halo exchange of the array's ends; also a parallel region in
 * which the master thread calls MPI (`omp master` + barrier, allowed under FUNNELED). */
#include <omp.h>

#include "mt.h"

#define N 20000
#define TEAM 2

static int64_t a[N], b[N];

int main(int argc, char** argv) {
  int provided = -1;
  mt_init_thread(&argc, &argv, "hybrid_openmp", 80, 40, MPI_THREAD_FUNNELED, &provided);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(provided >= MPI_THREAD_FUNNELED, "provided thread level %d", provided);
  int q = -1, is_main = 0;
  MT_MPI(MPI_Query_thread(&q));
  MT_MPI(MPI_Is_thread_main(&is_main));
  MT_CHECK(q == provided && is_main, "Query_thread %d, Is_thread_main %d", q, is_main);
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  omp_set_dynamic(0);
  for (int i = 0; i < N; ++i) a[i] = (int64_t)(i % 977) + r;
  uint64_t h = MT_HASH_INIT;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    int64_t local = 0;
    int threads_seen = 0;
    /* One parallel region per step (4 ranks x 2 threads share 2 cores: every region costs a
     * few scheduler slices): compute b from a, reduce, copy back. */
#pragma omp parallel num_threads(TEAM) reduction(+ : local)
    {
#pragma omp single
      threads_seen = omp_get_num_threads();
#pragma omp for schedule(static)
      for (int i = 0; i < N; ++i) {
        b[i] = (a[i] * 3 + (i > 0 ? a[i - 1] : 0) + s) % 1000003;
        local += b[i];
      }
#pragma omp for schedule(dynamic, 1000)
      for (int i = 0; i < N; ++i) a[i] = b[i];
    }
    MT_CHECK(threads_seen == TEAM, "step %d: team of %d threads", s, threads_seen);
    /* Serial check of the parallel loop (every 10th step). */
    if (s % 10 == 0) {
      int64_t serial = 0;
      for (int i = 0; i < N; ++i) serial += a[i];
      MT_CHECK(serial == local, "step %d: reduction %lld, serial %lld", s, (long long)local,
               (long long)serial);
    }

    /* MPI from the main thread, between parallel regions. */
    int64_t total = 0, mine = local;
    MT_MPI(MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
    int64_t edge_out = a[N - 1], edge_in = -1;
    MT_MPI(MPI_Sendrecv(&edge_out, 1, MPI_INT64_T, right, 1, &edge_in, 1, MPI_INT64_T, left, 1,
                        MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    a[0] = (a[0] + edge_in) % 1000003;
    h = mt_hash_i64(h, total);

    /* MPI from the master thread inside a parallel region. */
    int64_t bc = total % 1000;
    if (s % 5 == 0)
#pragma omp parallel num_threads(TEAM)
    {
#pragma omp master
      {
        bc = r == s % n ? total % 1000 : -1;
        MPI_Bcast(&bc, 1, MPI_INT64_T, s % n, MPI_COMM_WORLD);
      }
#pragma omp barrier
    }
    MT_CHECK(bc == total % 1000, "step %d: bcast from master thread %lld", s, (long long)bc);
    mt_step_sleep();
  }
  h = mt_hash(h, a, sizeof a);
  mt_finish(h);
  return 0;
}
