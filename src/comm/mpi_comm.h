// Comm over an MPI communicator. Only compiled when CAIRN_HAVE_MPI.
#pragma once

#include <mpi.h>

#include "comm/comm.h"

namespace cairn {

// Duplicates `comm` (so cairn's messages never match the application's) and wraps it.
// Fails with kFailedPrecondition when MPI is not initialized.
Result<std::unique_ptr<Comm>> MakeMpiComm(MPI_Comm comm);

}  // namespace cairn
