// MPI_Wtime across a restart: the new library's clock starts again (Open MPI counts from
// MPI_Init), so the shim adds an offset that makes the time go on from where it was, plus the
// wall-clock time the job was down (recipes.h: RestartClock, called by the replay).
#include <time.h>

#include <atomic>

#include "mpi/recipes.h"
#include "mpi/shim.h"

using namespace cairn::mpi;  // NOLINT

namespace {

std::atomic<double> g_offset{0};
// The last time returned, and the wall clock then (upper-half memory: in the image).
std::atomic<double> g_last{0}, g_last_wall{0};

double Wall() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

namespace cairn::mpi {

void RestartClock() {
  const double real = CAIRN_REAL(MPI_Wtime)();
  double down = Wall() - g_last_wall.load();
  if (down < 0 || g_last_wall.load() == 0) down = 0;
  g_offset = g_last.load() + down - real;
}

}  // namespace cairn::mpi

CAIRN_API double MPI_Wtime(void) {
  if (FromLower()) return CAIRN_REAL(MPI_Wtime)();
  Call c;
  double t;
  {
    Lower l;
    t = CAIRN_REAL(MPI_Wtime)() + g_offset.load(std::memory_order_relaxed);
  }
  // Never backwards (several threads: the largest value stays).
  double last = g_last.load(std::memory_order_relaxed);
  if (t < last) return last;
  if (g_last.compare_exchange_weak(last, t, std::memory_order_relaxed)) g_last_wall = Wall();
  return t;
}
CAIRN_PMPI(MPI_Wtime)
