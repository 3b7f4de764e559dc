#include "comm/mpi_comm.h"

#include <string>

namespace cairn {
namespace {

std::string MpiError(const char* what, int rc) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, buf, &len);
  return std::string(what) + " failed: " + std::string(buf, static_cast<size_t>(len));
}

class MpiComm final : public Comm {
 public:
  MpiComm(MPI_Comm c, int rank, int size) : comm_(c), rank_(rank), size_(size) {}
  ~MpiComm() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool collective() const override { return true; }
  Status Barrier() override {
    int rc = MPI_Barrier(comm_);
    return rc == MPI_SUCCESS ? Status::Ok() : Status::Unavailable(MpiError("MPI_Barrier", rc));
  }
  Result<int64_t> AllMin(int64_t v) override { return Reduce(v, MPI_MIN); }
  Result<int64_t> AllMax(int64_t v) override { return Reduce(v, MPI_MAX); }
  Result<std::vector<uint64_t>> GatherToRoot(uint64_t v) override {
    std::vector<uint64_t> out(rank_ == 0 ? static_cast<size_t>(size_) : 0);
    int rc = MPI_Gather(&v, 1, MPI_UINT64_T, out.data(), 1, MPI_UINT64_T, 0, comm_);
    if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError("MPI_Gather", rc));
    return out;
  }

 private:
  Result<int64_t> Reduce(int64_t v, MPI_Op op) {
    int64_t out = 0;
    int rc = MPI_Allreduce(&v, &out, 1, MPI_INT64_T, op, comm_);
    if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError("MPI_Allreduce", rc));
    return out;
  }
  MPI_Comm comm_;
  int rank_;
  int size_;
};

}  // namespace

Result<std::unique_ptr<Comm>> MakeMpiComm(MPI_Comm comm) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    return Status::FailedPrecondition("MPI is not initialized: call MPI_Init before VELOC_Init");
  }
  MPI_Comm dup;
  // Errors are returned, not fatal, on cairn's own communicator.
  int rc = MPI_Comm_dup(comm, &dup);
  if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError("MPI_Comm_dup", rc));
  MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  int rank = 0, size = 0;
  MPI_Comm_rank(dup, &rank);
  MPI_Comm_size(dup, &size);
  return std::unique_ptr<Comm>(std::make_unique<MpiComm>(dup, rank, size));
}

}  // namespace cairn
