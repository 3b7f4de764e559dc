// Communicator and group constructors beyond objects.cc's, with recipes (recipes.h):
// split_type, create_group, dup_with_info, Cart_sub, graph topologies, intercommunicators
// (create, merge, remote group), group set operations and rank ranges; MPI_Comm_disconnect;
// the Fortran conversions of groups and ops (Open MPI: functions; MPICH: macros).
#include <mpi.h>

#include <mutex>
#include <numeric>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/protocol_state.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"

using namespace cairn::mpi;  // NOLINT

namespace {

MPI_Comm C(MPI_Comm c) { return Comms().ToReal(c); }
MPI_Group G(MPI_Group g) { return Groups().ToReal(g); }

// A constructor that is collective on `parent` (counted like any collective there).
template <typename Fn>
int CollectiveCreate(MPI_Comm parent, MPI_Comm* real, Fn&& make) {
  CountCollective(parent);
  int rc;
  {
    Lower l;
    rc = make(real);
  }
  CompleteCollective(parent);
  return rc;
}

}  // namespace

CAIRN_API int MPI_Comm_split_type(MPI_Comm comm, int type, int key, MPI_Info info,
                                  MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_split_type)(comm, type, key, info, newcomm);
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(comm, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Comm_split_type)(C(comm), type, key, Infos().ToReal(info), r);
  });
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(RecipeOp::kCommSplitType, comm, real, newcomm, type, key);
}
CAIRN_PMPI(MPI_Comm_split_type)

CAIRN_API int MPI_Comm_dup_with_info(MPI_Comm comm, MPI_Info info, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_dup_with_info)(comm, info, newcomm);
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  int rc = CollectiveCreate(comm, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Comm_dup_with_info)(C(comm), Infos().ToReal(info), r);
  });
  if (rc != MPI_SUCCESS) return rc;
  rc = MakeComm(RecipeOp::kCommDup, comm, real, newcomm);  // the hints are not replayed
  OnCommDup(comm, *newcomm);
  return rc;
}
CAIRN_PMPI(MPI_Comm_dup_with_info)

// Collective on the group's members only: the parent's other ranks do not take part, so the
// new communicator's key comes from its rank 0 (KeyMode::kRoot), and it is not counted on the
// parent.
CAIRN_API int MPI_Comm_create_group(MPI_Comm comm, MPI_Group group, int tag, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_create_group)(comm, group, tag, newcomm);
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_create_group)(C(comm), G(group), tag, &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(RecipeOp::kCommCreateGroup, comm, real, newcomm, tag, 0, Bits(group), nullptr, 0,
                  KeyMode::kRoot);
}
CAIRN_PMPI(MPI_Comm_create_group)

CAIRN_API int MPI_Cart_sub(MPI_Comm comm, const int remain[], MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Cart_sub)(comm, remain, newcomm);
  Call c;
  int nd = 0;
  {
    Lower l;
    CAIRN_REAL(MPI_Cartdim_get)(C(comm), &nd);
  }
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(
      comm, &real, [&](MPI_Comm* r) { return CAIRN_REAL(MPI_Cart_sub)(C(comm), remain, r); });
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(RecipeOp::kCartSub, comm, real, newcomm, nd, 0, 0, remain,
                  static_cast<size_t>(nd > 0 ? nd : 0) * sizeof(int));
}
CAIRN_PMPI(MPI_Cart_sub)

CAIRN_API int MPI_Graph_create(MPI_Comm comm, int nnodes, const int index[], const int edges[],
                               int reorder, MPI_Comm* newcomm) {
  if (FromLower())
    return CAIRN_REAL(MPI_Graph_create)(comm, nnodes, index, edges, reorder, newcomm);
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(comm, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Graph_create)(C(comm), nnodes, index, edges, reorder, r);
  });
  if (rc != MPI_SUCCESS) return rc;
  const int nedges = nnodes > 0 ? index[nnodes - 1] : 0;
  std::vector<int> arr(index, index + (nnodes > 0 ? nnodes : 0));
  arr.insert(arr.end(), edges, edges + nedges);
  return MakeComm(RecipeOp::kGraphCreate, comm, real, newcomm, nnodes, reorder, 0, arr.data(),
                  arr.size() * sizeof(int));
}
CAIRN_PMPI(MPI_Graph_create)

namespace {
// Weights: MPI_UNWEIGHTED (flag 1) and MPI_WEIGHTS_EMPTY (flag 2) are special addresses.
int WeightFlag(const int* w) {
  if (w == MPI_UNWEIGHTED) return 1;
  if (w == MPI_WEIGHTS_EMPTY) return 2;
  return 0;
}
void AddWeights(std::vector<int>* arr, const int* w, int n) {
  for (int i = 0; i < n; ++i) arr->push_back(WeightFlag(w) == 0 ? w[i] : 0);
}
}  // namespace

CAIRN_API int MPI_Dist_graph_create_adjacent(MPI_Comm comm, int indeg, const int sources[],
                                             const int sweights[], int outdeg, const int dests[],
                                             const int dweights[], MPI_Info info, int reorder,
                                             MPI_Comm* newcomm) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Dist_graph_create_adjacent)(comm, indeg, sources, sweights, outdeg, dests,
                                                      dweights, info, reorder, newcomm);
  }
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(comm, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Dist_graph_create_adjacent)(C(comm), indeg, sources, sweights, outdeg,
                                                      dests, dweights, Infos().ToReal(info),
                                                      reorder, r);
  });
  if (rc != MPI_SUCCESS) return rc;
  std::vector<int> arr(sources, sources + indeg);
  AddWeights(&arr, sweights, indeg);
  arr.insert(arr.end(), dests, dests + outdeg);
  AddWeights(&arr, dweights, outdeg);
  const int flags = WeightFlag(sweights) | WeightFlag(dweights) << 2;
  return MakeComm(RecipeOp::kDistGraphAdjacent, comm, real, newcomm, indeg, outdeg, 0, arr.data(),
                  arr.size() * sizeof(int), KeyMode::kParent, reorder, flags);
}
CAIRN_PMPI(MPI_Dist_graph_create_adjacent)

CAIRN_API int MPI_Dist_graph_create(MPI_Comm comm, int n, const int sources[], const int degrees[],
                                    const int dests[], const int weights[], MPI_Info info,
                                    int reorder, MPI_Comm* newcomm) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Dist_graph_create)(comm, n, sources, degrees, dests, weights, info,
                                             reorder, newcomm);
  }
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(comm, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Dist_graph_create)(C(comm), n, sources, degrees, dests, weights,
                                             Infos().ToReal(info), reorder, r);
  });
  if (rc != MPI_SUCCESS) return rc;
  const int total = n > 0 ? std::accumulate(degrees, degrees + n, 0) : 0;
  std::vector<int> arr(sources, sources + (n > 0 ? n : 0));
  arr.insert(arr.end(), degrees, degrees + (n > 0 ? n : 0));
  arr.insert(arr.end(), dests, dests + total);
  AddWeights(&arr, weights, total);
  return MakeComm(RecipeOp::kDistGraph, comm, real, newcomm, n, reorder, 0, arr.data(),
                  arr.size() * sizeof(int), KeyMode::kParent, WeightFlag(weights), total);
}
CAIRN_PMPI(MPI_Dist_graph_create)

// Collective on the local communicator (and the leaders talk on the peer communicator): the
// two groups agree on the new key by exchanging their local ones (KeyMode::kIntercomm).
CAIRN_API int MPI_Intercomm_create(MPI_Comm local, int local_leader, MPI_Comm peer,
                                   int remote_leader, int tag, MPI_Comm* newcomm) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Intercomm_create)(local, local_leader, peer, remote_leader, tag, newcomm);
  }
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(local, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Intercomm_create)(C(local), local_leader, C(peer), remote_leader, tag, r);
  });
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(RecipeOp::kIntercommCreate, local, real, newcomm, local_leader, remote_leader,
                  Bits(peer), nullptr, 0, KeyMode::kIntercomm, tag);
}
CAIRN_PMPI(MPI_Intercomm_create)

CAIRN_API int MPI_Intercomm_merge(MPI_Comm inter, int high, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Intercomm_merge)(inter, high, newcomm);
  Call c;
  MPI_Comm real = MPI_COMM_NULL;
  const int rc = CollectiveCreate(inter, &real, [&](MPI_Comm* r) {
    return CAIRN_REAL(MPI_Intercomm_merge)(C(inter), high, r);
  });
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(RecipeOp::kIntercommMerge, inter, real, newcomm, high);
}
CAIRN_PMPI(MPI_Intercomm_merge)

// Like MPI_Comm_free (for the communicators of connect/accept/spawn/join).
CAIRN_API int MPI_Comm_disconnect(MPI_Comm* comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_disconnect)(comm);
  Call c;
  size_t i;
  if (!Comms().Index(*comm, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Comm_disconnect)(comm);
  }
  MPI_Comm real = Comms().Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_disconnect)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  // The rest is MPI_Comm_free's bookkeeping.
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  Comms().SetReal(i, MPI_COMM_NULL);
  OnCommFree(*comm);
  if (!NoRecipe(kObjComm, i)) {
    LogRecipe({RecipeOp::kCommFree, static_cast<uint32_t>(i), {0, 0}, {0, 0, 0, 0}, 0, 0});
  }
  ClearNoRecipe(kObjComm, i);
  State().counted[i] = false;
  Comms().Free(i);
  *comm = MPI_COMM_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_disconnect)

// ------------------------------------------------------------------ groups
CAIRN_API int MPI_Comm_remote_group(MPI_Comm comm, MPI_Group* group) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_remote_group)(comm, group);
  Call c;
  MPI_Group real = MPI_GROUP_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_remote_group)(C(comm), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return MakeGroup(RecipeOp::kCommRemoteGroup, real, group, Bits(comm), 0);
}
CAIRN_PMPI(MPI_Comm_remote_group)

namespace {
template <typename Fn>
int SetOp(RecipeOp op, MPI_Group a, MPI_Group b, MPI_Group* out, Fn fn) {
  Call c;
  MPI_Group real = MPI_GROUP_NULL;
  int rc;
  {
    Lower l;
    rc = fn(G(a), G(b), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return MakeGroup(op, real, out, Bits(a), Bits(b));
}
}  // namespace

CAIRN_API int MPI_Group_union(MPI_Group a, MPI_Group b, MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_union)(a, b, out);
  return SetOp(RecipeOp::kGroupUnion, a, b, out, CAIRN_REAL(MPI_Group_union));
}
CAIRN_PMPI(MPI_Group_union)

CAIRN_API int MPI_Group_intersection(MPI_Group a, MPI_Group b, MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_intersection)(a, b, out);
  return SetOp(RecipeOp::kGroupIntersection, a, b, out, CAIRN_REAL(MPI_Group_intersection));
}
CAIRN_PMPI(MPI_Group_intersection)

CAIRN_API int MPI_Group_difference(MPI_Group a, MPI_Group b, MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_difference)(a, b, out);
  return SetOp(RecipeOp::kGroupDifference, a, b, out, CAIRN_REAL(MPI_Group_difference));
}
CAIRN_PMPI(MPI_Group_difference)

namespace {
template <typename Fn>
int Ranges(RecipeOp op, MPI_Group group, int n, int ranges[][3], MPI_Group* out, Fn fn) {
  Call c;
  MPI_Group real = MPI_GROUP_NULL;
  int rc;
  {
    Lower l;
    rc = fn(G(group), n, ranges, &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return MakeGroup(op, real, out, Bits(group), 0, ranges,
                   static_cast<size_t>(n > 0 ? n : 0) * 3 * sizeof(int));
}
}  // namespace

CAIRN_API int MPI_Group_range_incl(MPI_Group group, int n, int ranges[][3], MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_range_incl)(group, n, ranges, out);
  return Ranges(RecipeOp::kGroupRangeIncl, group, n, ranges, out, CAIRN_REAL(MPI_Group_range_incl));
}
CAIRN_PMPI(MPI_Group_range_incl)

CAIRN_API int MPI_Group_range_excl(MPI_Group group, int n, int ranges[][3], MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_range_excl)(group, n, ranges, out);
  return Ranges(RecipeOp::kGroupRangeExcl, group, n, ranges, out, CAIRN_REAL(MPI_Group_range_excl));
}
CAIRN_PMPI(MPI_Group_range_excl)

// ------------------------------------------------------------------ Fortran handles
#ifndef MPI_Group_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Group_c2f(MPI_Group g) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_c2f)(g);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (Groups().Index(g, &i)) return GroupTable::FortranOf(i);
  return CAIRN_REAL(MPI_Group_c2f)(g);
}
CAIRN_PMPI(MPI_Group_c2f)
#endif

#ifndef MPI_Group_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Group MPI_Group_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_f2c)(f);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (GroupTable::IndexOfFortran(f, &i) && Groups().Used(i)) return Groups().Virtual(i);
  return CAIRN_REAL(MPI_Group_f2c)(f);
}
CAIRN_PMPI(MPI_Group_f2c)
#endif

#ifndef MPI_Op_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Op_c2f(MPI_Op o) {
  if (FromLower()) return CAIRN_REAL(MPI_Op_c2f)(o);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (Ops().Index(o, &i)) return OpTable::FortranOf(i);
  return CAIRN_REAL(MPI_Op_c2f)(o);
}
CAIRN_PMPI(MPI_Op_c2f)
#endif

#ifndef MPI_Op_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Op MPI_Op_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Op_f2c)(f);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (OpTable::IndexOfFortran(f, &i) && Ops().Used(i)) return Ops().Virtual(i);
  return CAIRN_REAL(MPI_Op_f2c)(f);
}
CAIRN_PMPI(MPI_Op_f2c)
#endif
