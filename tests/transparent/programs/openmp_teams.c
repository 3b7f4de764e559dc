/* OpenMP: parallel loops with teams of 2, 3 and 4 threads (the runtime keeps a pool of
 * threads parked between regions, which must survive a restart), a reduction checked against
 * a serial computation, a critical section, threadprivate data and a nested-free barrier
 * pattern. */
#include <omp.h>

#include "mx.h"

MX_PROGRAM("openmp_teams");

#define N 200000
static double a[N], b[N];
static int tp_counter;
#pragma omp threadprivate(tp_counter)

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  omp_set_dynamic(0);
  for (int i = 0; i < N; ++i) {
    a[i] = (double)(i % 1000) * 0.5;
    b[i] = (double)((i * 7) % 1000) * 0.25;
  }
  uint64_t h = MX_HASH_INIT;
  long critical_total = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    int team = 2 + s % 3;
    double sum = 0.0;
    long count = 0;
    int seen_threads = 0;
#pragma omp parallel num_threads(team) reduction(+ : sum, count)
    {
#pragma omp single
      seen_threads = omp_get_num_threads();
#pragma omp for schedule(static)
      for (int i = 0; i < N; ++i) {
        a[i] = a[i] * 0.5 + b[i] + (double)(s % 7);
        sum += a[i];
        count++;
      }
      tp_counter++;
#pragma omp critical
      critical_total += 1;
    }
    MX_CHECK(seen_threads == team, "step %d: team of %d threads, want %d", s, seen_threads, team);
    MX_CHECK(count == N, "step %d: count %ld", s, count);
    double serial = 0.0;
    for (int i = 0; i < N; ++i) serial += a[i];
    double diff = serial - sum;
    if (diff < 0) diff = -diff;
    MX_CHECK(diff <= 1e-9 * (serial < 0 ? -serial : serial) + 1e-6,
             "step %d: reduction %.17g, serial %.17g", s, sum, serial);
    long bits = (long)(serial * 1024.0);
    h = mx_hash(h, &bits, sizeof bits);
    mx_step_sleep();
  }
  long expected = 0;
  for (int s = 0; s < MX_STEPS; ++s) expected += 2 + s % 3;
  MX_CHECK(critical_total == expected, "critical sections %ld, want %ld", critical_total, expected);
  printf("openmp steps %d critical %ld hash %016llx\n", MX_STEPS, critical_total,
         (unsigned long long)h);
  return 0;
}
