// What the generated wrappers call (coverage.h): virtual handles for objects made by functions
// without a recipe, requests made outside p2p.cc, nonblocking collectives (progress while a
// checkpoint round holds collectives back, completion by the drain), per-peer array lengths.
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "mpi/coverage.h"
#include "mpi/protocol_state.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"
#include "transparent/preload/futex.h"

namespace cairn::mpi {
namespace {

// Serializes the tests of nonblocking collectives' real requests by the shim itself.
std::mutex g_coll_lock;

}  // namespace

void ProgressCollectiveRequests() {
  std::unique_lock<std::mutex> g(g_coll_lock, std::try_to_lock);
  if (!g.owns_lock()) return;
  RequestTable& t = Requests();
  for (size_t i = 0; i < t.Limit(); ++i) {
    if (!t.Used(i)) continue;
    RequestInfo& r = Info(i);
    if (r.kind != RequestInfo::kOther || !r.collective || r.completed) continue;
    MPI_Request real = t.Real(i);
    if (real == MPI_REQUEST_NULL) continue;
    int flag = 0;
    MPI_Status st;
    int rc;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Test)(&real, &flag, &st);
    }
    if (rc != MPI_SUCCESS || !flag) continue;
    r.status = st;
    r.completed = true;  // p2p.cc's TestOne returns it from the entry
    t.SetReal(i, MPI_REQUEST_NULL);
  }
}

bool FinishCollectiveRequests(char* err, size_t err_len) {
  std::lock_guard<std::mutex> g(g_coll_lock);
  int timeout_s = 120;
  if (const char* t = std::getenv("CAIRN_CKPT_TIMEOUT"); t != nullptr && std::atoi(t) > 0) {
    timeout_s = std::atoi(t);
  }
  const int64_t deadline = NowMs() + int64_t{timeout_s} * 1000;
  RequestTable& t = Requests();
  for (unsigned spin = 0;; ++spin) {
    size_t left = 0;
    for (size_t i = 0; i < t.Limit(); ++i) {
      if (!t.Used(i)) continue;
      RequestInfo& r = Info(i);
      if (r.kind != RequestInfo::kOther || !r.collective || r.completed) continue;
      MPI_Request real = t.Real(i);
      if (real == MPI_REQUEST_NULL) continue;
      int flag = 0;
      MPI_Status st;
      const int rc = CAIRN_REAL(MPI_Test)(&real, &flag, &st);
      if (rc != MPI_SUCCESS) {
        std::snprintf(err, err_len, "completing a nonblocking collective failed (%d)", rc);
        return false;
      }
      if (!flag) {
        ++left;
        continue;
      }
      r.status = st;
      r.completed = true;
      t.SetReal(i, MPI_REQUEST_NULL);
    }
    if (left == 0) return true;
    if (NowMs() > deadline) {
      std::snprintf(err, err_len, "%zu nonblocking collectives did not complete", left);
      return false;
    }
    if ((spin & 63) == 63) ::sched_yield();
  }
}

namespace gen {

MPI_Comm OutComm(MPI_Comm real, const char* fn) {
  if (real == MPI_COMM_NULL || real == MPI_COMM_WORLD || real == MPI_COMM_SELF) return real;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  CommTable& t = Comms();
  if (std::strcmp(fn, "MPI_Comm_get_parent") == 0) {
    for (size_t i = 0; i < t.Limit(); ++i) {
      if (t.Used(i) && t.Real(i) == real) return t.Virtual(i);
    }
  }
  long i = t.Add(real);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  ProtocolState& s = State();
  std::snprintf(s.name[i], sizeof s.name[i], "n%ld", i);
  s.counted[i] = false;  // unknown members: never counted (and never restarted)
  s.started[i] = 0;
  s.completed[i] = 0;
  MarkNoRecipe(kObjComm, static_cast<size_t>(i), fn);
  return t.Virtual(static_cast<size_t>(i));
}

MPI_Group OutGroup(MPI_Group real, const char* fn) {
  if (real == MPI_GROUP_NULL || real == MPI_GROUP_EMPTY) return real;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  long i = Groups().Add(real);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  MarkNoRecipe(kObjGroup, static_cast<size_t>(i), fn);
  return Groups().Virtual(static_cast<size_t>(i));
}

MPI_Datatype OutType(MPI_Datatype real, const char* fn) {
  if (real == MPI_DATATYPE_NULL) return real;
  int ni = 0, na = 0, nd = 0, combiner = MPI_COMBINER_NAMED;
  {
    Lower l;
    if (CAIRN_REAL(MPI_Type_get_envelope)(real, &ni, &na, &nd, &combiner) != MPI_SUCCESS) {
      return real;
    }
  }
  if (combiner == MPI_COMBINER_NAMED) return real;  // predefined
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  long i = Types().Add(real);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  MarkNoRecipe(kObjType, static_cast<size_t>(i), fn);
  return Types().Virtual(static_cast<size_t>(i));
}

MPI_Op OutOp(MPI_Op real, const char* fn) {
  if (real == MPI_OP_NULL) return real;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  long i = Ops().Add(real);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  MarkNoRecipe(kObjOp, static_cast<size_t>(i), fn);
  return Ops().Virtual(static_cast<size_t>(i));
}

MPI_Errhandler OutErrh(MPI_Errhandler real, const char* fn, bool created) {
  if (real == MPI_ERRHANDLER_NULL || real == MPI_ERRORS_ARE_FATAL || real == MPI_ERRORS_RETURN) {
    return real;
  }
#ifdef MPI_ERRORS_ABORT
  if (real == MPI_ERRORS_ABORT) return real;
#endif
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  ErrhTable& t = Errhs();
  if (!created) {
    for (size_t i = 0; i < t.Limit(); ++i) {
      if (t.Used(i) && t.Real(i) == real) return t.Virtual(i);
    }
    return real;
  }
  long i = t.Add(real);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  MarkNoRecipe(kObjErrh, static_cast<size_t>(i), fn);
  return t.Virtual(static_cast<size_t>(i));
}

MPI_Request OutRequest(MPI_Request real, const char* fn) {
  if (real == MPI_REQUEST_NULL) return real;
  long i =
      AddRequest(RequestInfo::kOther, real, nullptr, 0, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_NULL);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  return Requests().Virtual(static_cast<size_t>(i));
}

namespace {

// Translated arrays of nonblocking collectives, kept while their request is pending (the
// request table entry still used and still holding the same real request).
struct Kept {
  size_t index;
  MPI_Request real;
  MPI_Datatype* array;
};
std::vector<Kept> g_kept;
std::mutex g_kept_lock;

void Keep(size_t index, MPI_Request real, MPI_Datatype* a) {
  if (a == nullptr) return;
  std::lock_guard<std::mutex> g(g_kept_lock);
  RequestTable& t = Requests();
  for (size_t k = 0; k < g_kept.size();) {
    const Kept& x = g_kept[k];
    if (!t.Used(x.index) || t.Real(x.index) != x.real) {
      delete[] x.array;
      g_kept[k] = g_kept.back();
      g_kept.pop_back();
    } else {
      ++k;
    }
  }
  g_kept.push_back({index, real, a});
}

}  // namespace

MPI_Datatype* KeptTypes(int n) { return new MPI_Datatype[n > 0 ? n : 1]; }

MPI_Request OutCollRequest(MPI_Request real, MPI_Comm vcomm, MPI_Datatype* keep1,
                           MPI_Datatype* keep2) {
  if (real == MPI_REQUEST_NULL) return real;
  long i = AddRequest(RequestInfo::kOther, real, nullptr, 0, MPI_DATATYPE_NULL, 0, 0, vcomm);
  if (i < 0) {
    NoteUnsupported("(more MPI requests than the shim's table holds)");
    return real;  // the arrays stay for good
  }
  Info(static_cast<size_t>(i)).collective = true;
  Keep(static_cast<size_t>(i), real, keep1);
  Keep(static_cast<size_t>(i), real, keep2);
  return Requests().Virtual(static_cast<size_t>(i));
}

int CommPeers(MPI_Comm real) {
  int inter = 0, n = 0;
  Lower l;
  CAIRN_REAL(MPI_Comm_test_inter)(real, &inter);
  if (inter) {
    CAIRN_REAL(MPI_Comm_remote_size)(real, &n);
  } else {
    CAIRN_REAL(MPI_Comm_size)(real, &n);
  }
  return n;
}

namespace {
void Degrees(MPI_Comm real, int* in, int* out) {
  *in = *out = 0;
  Lower l;
  int topo = MPI_UNDEFINED;
  CAIRN_REAL(MPI_Topo_test)(real, &topo);
  if (topo == MPI_CART) {
    int nd = 0;
    CAIRN_REAL(MPI_Cartdim_get)(real, &nd);
    *in = *out = 2 * nd;
  } else if (topo == MPI_GRAPH) {
    int rank = 0;
    CAIRN_REAL(MPI_Comm_rank)(real, &rank);
    CAIRN_REAL(MPI_Graph_neighbors_count)(real, rank, in);
    *out = *in;
  } else if (topo == MPI_DIST_GRAPH) {
    int weighted = 0;
    CAIRN_REAL(MPI_Dist_graph_neighbors_count)(real, in, out, &weighted);
  }
}
}  // namespace

int InDegree(MPI_Comm real) {
  int in, out;
  Degrees(real, &in, &out);
  return in;
}

int OutDegree(MPI_Comm real) {
  int in, out;
  Degrees(real, &in, &out);
  return out;
}

int Fail(const char* fn, const char* why) {
  std::fprintf(stderr, "cairn mpi: %s is not supported under cairn: %s\n", fn, why);
  NoteUnsupported(fn);
  return MPI_ERR_OTHER;
}

}  // namespace gen
}  // namespace cairn::mpi
