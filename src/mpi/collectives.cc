// Collectives: the library's own blocking collectives, counted per communicator so that a
// checkpoint can run every rank forward to the same collective (shim.h, protocol.cc).
#include "mpi/shim.h"

namespace cairn::mpi {
namespace {

// Runs a collective on `comm`: counted, handles translated by the caller's lambda.
template <typename Fn>
int Collective(MPI_Comm comm, Fn&& fn) {
  Call c;
  CountCollective(comm);
  int rc;
  {
    Lower l;
    rc = fn(Comms().ToReal(comm));
  }
  CompleteCollective(comm);
  return rc;
}

MPI_Datatype T(MPI_Datatype t) { return Types().ToReal(t); }
MPI_Op O(MPI_Op o) { return Ops().ToReal(o); }

}  // namespace
}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

CAIRN_API int MPI_Barrier(MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Barrier)(comm);
  return Collective(comm, [&](MPI_Comm rc) { return CAIRN_REAL(MPI_Barrier)(rc); });
}
CAIRN_PMPI(MPI_Barrier)

CAIRN_API int MPI_Bcast(void* buf, int count, MPI_Datatype type, int root, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Bcast)(buf, count, type, root, comm);
  return Collective(
      comm, [&](MPI_Comm rc) { return CAIRN_REAL(MPI_Bcast)(buf, count, T(type), root, rc); });
}
CAIRN_PMPI(MPI_Bcast)

CAIRN_API int MPI_Reduce(const void* s, void* r, int count, MPI_Datatype type, MPI_Op op, int root,
                         MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Reduce)(s, r, count, type, op, root, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Reduce)(s, r, count, T(type), O(op), root, rc);
  });
}
CAIRN_PMPI(MPI_Reduce)

CAIRN_API int MPI_Allreduce(const void* s, void* r, int count, MPI_Datatype type, MPI_Op op,
                            MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Allreduce)(s, r, count, type, op, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Allreduce)(s, r, count, T(type), O(op), rc);
  });
}
CAIRN_PMPI(MPI_Allreduce)

CAIRN_API int MPI_Scan(const void* s, void* r, int count, MPI_Datatype type, MPI_Op op,
                       MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Scan)(s, r, count, type, op, comm);
  return Collective(
      comm, [&](MPI_Comm rc) { return CAIRN_REAL(MPI_Scan)(s, r, count, T(type), O(op), rc); });
}
CAIRN_PMPI(MPI_Scan)

CAIRN_API int MPI_Exscan(const void* s, void* r, int count, MPI_Datatype type, MPI_Op op,
                         MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Exscan)(s, r, count, type, op, comm);
  return Collective(
      comm, [&](MPI_Comm rc) { return CAIRN_REAL(MPI_Exscan)(s, r, count, T(type), O(op), rc); });
}
CAIRN_PMPI(MPI_Exscan)

CAIRN_API int MPI_Reduce_scatter_block(const void* s, void* r, int count, MPI_Datatype type,
                                       MPI_Op op, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Reduce_scatter_block)(s, r, count, type, op, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Reduce_scatter_block)(s, r, count, T(type), O(op), rc);
  });
}
CAIRN_PMPI(MPI_Reduce_scatter_block)

CAIRN_API int MPI_Reduce_scatter(const void* s, void* r, const int counts[], MPI_Datatype type,
                                 MPI_Op op, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Reduce_scatter)(s, r, counts, type, op, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Reduce_scatter)(s, r, counts, T(type), O(op), rc);
  });
}
CAIRN_PMPI(MPI_Reduce_scatter)

CAIRN_API int MPI_Gather(const void* s, int sc, MPI_Datatype st, void* r, int rcount,
                         MPI_Datatype rt, int root, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Gather)(s, sc, st, r, rcount, rt, root, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Gather)(s, sc, T(st), r, rcount, T(rt), root, rc);
  });
}
CAIRN_PMPI(MPI_Gather)

CAIRN_API int MPI_Gatherv(const void* s, int sc, MPI_Datatype st, void* r, const int rcounts[],
                          const int displs[], MPI_Datatype rt, int root, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Gatherv)(s, sc, st, r, rcounts, displs, rt, root, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Gatherv)(s, sc, T(st), r, rcounts, displs, T(rt), root, rc);
  });
}
CAIRN_PMPI(MPI_Gatherv)

CAIRN_API int MPI_Scatter(const void* s, int sc, MPI_Datatype st, void* r, int rcount,
                          MPI_Datatype rt, int root, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Scatter)(s, sc, st, r, rcount, rt, root, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Scatter)(s, sc, T(st), r, rcount, T(rt), root, rc);
  });
}
CAIRN_PMPI(MPI_Scatter)

CAIRN_API int MPI_Scatterv(const void* s, const int scounts[], const int displs[], MPI_Datatype st,
                           void* r, int rcount, MPI_Datatype rt, int root, MPI_Comm comm) {
  if (FromLower())
    return CAIRN_REAL(MPI_Scatterv)(s, scounts, displs, st, r, rcount, rt, root, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Scatterv)(s, scounts, displs, T(st), r, rcount, T(rt), root, rc);
  });
}
CAIRN_PMPI(MPI_Scatterv)

CAIRN_API int MPI_Allgather(const void* s, int sc, MPI_Datatype st, void* r, int rcount,
                            MPI_Datatype rt, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Allgather)(s, sc, st, r, rcount, rt, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Allgather)(s, sc, T(st), r, rcount, T(rt), rc);
  });
}
CAIRN_PMPI(MPI_Allgather)

CAIRN_API int MPI_Allgatherv(const void* s, int sc, MPI_Datatype st, void* r, const int rcounts[],
                             const int displs[], MPI_Datatype rt, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Allgatherv)(s, sc, st, r, rcounts, displs, rt, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Allgatherv)(s, sc, T(st), r, rcounts, displs, T(rt), rc);
  });
}
CAIRN_PMPI(MPI_Allgatherv)

CAIRN_API int MPI_Alltoall(const void* s, int sc, MPI_Datatype st, void* r, int rcount,
                           MPI_Datatype rt, MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Alltoall)(s, sc, st, r, rcount, rt, comm);
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Alltoall)(s, sc, T(st), r, rcount, T(rt), rc);
  });
}
CAIRN_PMPI(MPI_Alltoall)

CAIRN_API int MPI_Alltoallv(const void* s, const int scounts[], const int sdispls[],
                            MPI_Datatype st, void* r, const int rcounts[], const int rdispls[],
                            MPI_Datatype rt, MPI_Comm comm) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Alltoallv)(s, scounts, sdispls, st, r, rcounts, rdispls, rt, comm);
  }
  return Collective(comm, [&](MPI_Comm rc) {
    return CAIRN_REAL(MPI_Alltoallv)(s, scounts, sdispls, T(st), r, rcounts, rdispls, T(rt), rc);
  });
}
CAIRN_PMPI(MPI_Alltoallv)
