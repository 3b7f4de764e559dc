// Helpers of the generated wrappers (scripts/gen_mpi_wrappers.py -> <build>/mpi_generated_*.cc)
// and of the hand-written ones that make requests outside p2p.cc (gen_support.cc).
//
// Contract:
//   - Out*(real, fn): the virtual handle for an object the library just made in `fn` (which has
//     no recipe: `fn` is named by the unsupported registry while the object lives). Null and
//     predefined handles pass through unchanged.
//   - OutErrh: error handlers are virtual (recipes.h: Errhs()); a handler the library returns
//     is mapped back to its virtual handle, a new one (created) is added without a recipe.
//   - OutRequest: a request of kind kOther in the request table (tested, waited and freed by
//     p2p.cc like any other); OutCollRequest: the same for a nonblocking collective on `vcomm`,
//     which the drain completes (FinishCollectiveRequests, shim.h).
//   - Live(kind, fn, ±1): live objects of kinds the shim does not virtualize.
//   - Fail(fn, why): the wrapper cannot translate its arguments: an stderr line, MPI_ERR_OTHER.
#pragma once

#include <mpi.h>

#include "mpi/recipes.h"
#include "mpi/shim.h"

namespace cairn::mpi {

// A request in the request table, made outside p2p.cc: kind, real handle, and for kSend the
// message it carries (counted for the drain). Entry index or -1. (p2p.cc: one definition for
// every request the shim makes, under RequestLock.)
long AddRequest(RequestInfo::Kind kind, MPI_Request real, void* buf, int count, MPI_Datatype vtype,
                int peer, int tag, MPI_Comm vcomm);
// Tests the real requests of nonblocking collectives once, marking the complete ones
// (called while a collective waits for a checkpoint round: the library must progress).
void ProgressCollectiveRequests();

namespace gen {

MPI_Comm OutComm(MPI_Comm real, const char* fn);
MPI_Group OutGroup(MPI_Group real, const char* fn);
MPI_Datatype OutType(MPI_Datatype real, const char* fn);
MPI_Op OutOp(MPI_Op real, const char* fn);
MPI_Info OutInfo(MPI_Info real, const char* fn);  // info.cc
MPI_Errhandler OutErrh(MPI_Errhandler real, const char* fn, bool created);
MPI_Request OutRequest(MPI_Request real, const char* fn);
// `keep1`/`keep2`: arrays from KeptTypes that the library may read until the request
// completes; freed after it did.
MPI_Request OutCollRequest(MPI_Request real, MPI_Comm vcomm, MPI_Datatype* keep1 = nullptr,
                           MPI_Datatype* keep2 = nullptr);
// An array of n handles for a translated argument of a nonblocking or persistent call.
MPI_Datatype* KeptTypes(int n);

enum LiveKind { kWin, kMessage, kSession, kLiveKinds };
void Live(LiveKind k, const char* fn, int delta);

// Lengths of per-peer arrays on a (real) communicator.
int CommPeers(MPI_Comm real);  // size, or the remote size of an intercommunicator
int InDegree(MPI_Comm real);
int OutDegree(MPI_Comm real);

int Fail(const char* fn, const char* why);

}  // namespace gen
}  // namespace cairn::mpi
