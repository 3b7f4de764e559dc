// MPI_Init / MPI_Init_thread / MPI_Finalize / MPI_Abort and the other calls whose only job is
// to bring the lower half up or down (shim.h).
#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "mpi/shim.h"
#include "transparent/preload/lower_api.h"

namespace cairn::mpi {

int g_required_level = MPI_THREAD_SINGLE, g_provided_level = MPI_THREAD_SINGLE;

namespace {

std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fds.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return fds;
}

template <typename Fn>
int InitLowerHalf(int required, int* provided, Fn&& init) {
  g_required_level = required;
  // The level the program asks for, no higher: the checkpoint thread calls MPI only while every
  // program thread is held outside it (protocol.cc), so calls stay serialized at any level,
  // and asking more costs the program (Open MPI 4.1 takes its locks at every level above
  // MPI_THREAD_SINGLE: a quarter of an 8-byte ping-pong's time, measured with perf).
  const int level = required;
  const std::vector<int> before = OpenFds();
  // The MPI library and its own companions: the language bindings (which need libopen-pal
  // and friends too, and would otherwise make them look like the program's) and the runtime.
  static const char* const kRoots[] = {
      "libmpi.so",      "libmpi_mpifh.so", "libmpi_usempi",   "libmpi_cxx.so",  "libopen-pal.so",
      "libopen-rte.so", "libmpich.so",     "libmpichfort.so", "libmpichcxx.so", nullptr};
  const bool active = cairn_preload_ckpt_dir() != nullptr;
  if (active) cairn_lower_snapshot_libs(kRoots);
  int got = MPI_THREAD_SINGLE;
  int rc;
  {
    Lower l;
    rc = init(level, &got);
  }
  if (rc != MPI_SUCCESS) return rc;
  g_provided_level = got;
  if (provided != nullptr) *provided = got;
  if (!active) return rc;
  cairn_lower_mark_fds_since(before.data(), before.size());
  if (const char* pmi = std::getenv("PMI_FD"); pmi != nullptr) cairn_lower_mark_fd(std::atoi(pmi));
  int rank = 0, size = 1;
  {
    Lower l;
    CAIRN_REAL(MPI_Comm_rank)(MPI_COMM_WORLD, &rank);
    CAIRN_REAL(MPI_Comm_size)(MPI_COMM_WORLD, &size);
  }
  OnInit(rank, size);
  return rc;
}

}  // namespace
}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

CAIRN_API int MPI_Init(int* argc, char*** argv) {
  if (FromLower()) return CAIRN_REAL(MPI_Init)(argc, argv);
  return InitLowerHalf(MPI_THREAD_SINGLE, nullptr, [&](int level, int* got) {
    return CAIRN_REAL(MPI_Init_thread)(argc, argv, level, got);
  });
}
CAIRN_PMPI(MPI_Init)

CAIRN_API int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
  if (FromLower()) return CAIRN_REAL(MPI_Init_thread)(argc, argv, required, provided);
  return InitLowerHalf(required, provided, [&](int level, int* got) {
    return CAIRN_REAL(MPI_Init_thread)(argc, argv, level, got);
  });
}
CAIRN_PMPI(MPI_Init_thread)

CAIRN_API int MPI_Query_thread(int* provided) {
  *provided = g_provided_level;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Query_thread)

CAIRN_API int MPI_Finalize(void) {
  if (FromLower()) return CAIRN_REAL(MPI_Finalize)();
  {
    Call c;  // not during a checkpoint
    OnFinalize();
  }
  Lower l;
  return CAIRN_REAL(MPI_Finalize)();
}
CAIRN_PMPI(MPI_Finalize)

CAIRN_API int MPI_Abort(MPI_Comm comm, int code) {
  if (FromLower()) return CAIRN_REAL(MPI_Abort)(comm, code);
  Lower l;
  return CAIRN_REAL(MPI_Abort)(Comms().ToReal(comm), code);
}
CAIRN_PMPI(MPI_Abort)

CAIRN_API int MPI_Pack(const void* in, int count, MPI_Datatype type, void* out, int size, int* pos,
                       MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Pack)(in, count, type, out, size, pos, comm);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Pack)(in, count, Types().ToReal(type), out, size, pos,
                              Comms().ToReal(comm));
}
CAIRN_PMPI(MPI_Pack)

CAIRN_API int MPI_Unpack(const void* in, int size, int* pos, void* out, int count,
                         MPI_Datatype type, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Unpack)(in, size, pos, out, count, type, comm);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Unpack)(in, size, pos, out, count, Types().ToReal(type),
                                Comms().ToReal(comm));
}
CAIRN_PMPI(MPI_Unpack)

CAIRN_API int MPI_Pack_size(int count, MPI_Datatype type, MPI_Comm comm, int* size) {
  if (FromLower()) return CAIRN_REAL(MPI_Pack_size)(count, type, comm, size);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Pack_size)(count, Types().ToReal(type), Comms().ToReal(comm), size);
}
CAIRN_PMPI(MPI_Pack_size)
