#include "comm/mpi_comm.h"

#include <algorithm>
#include <cstdint>
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

  Result<std::vector<std::string>> AllGather(const std::string& mine) override {
    int len = static_cast<int>(mine.size());
    std::vector<int> lens(static_cast<size_t>(size_));
    int rc = MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm_);
    if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError("MPI_Allgather", rc));
    std::vector<int> displs(static_cast<size_t>(size_));
    long long total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[static_cast<size_t>(r)] = static_cast<int>(total);
      total += lens[static_cast<size_t>(r)];
    }
    if (total > INT32_MAX) return Status::InvalidArgument("AllGather: too much data");
    std::string all(static_cast<size_t>(total), '\0');
    rc = MPI_Allgatherv(mine.data(), len, MPI_BYTE, all.data(), lens.data(), displs.data(),
                        MPI_BYTE, comm_);
    if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError("MPI_Allgatherv", rc));
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) {
      out.push_back(all.substr(static_cast<size_t>(displs[static_cast<size_t>(r)]),
                               static_cast<size_t>(lens[static_cast<size_t>(r)])));
    }
    return out;
  }

  Status Exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& recvs) override {
    // Large buffers go in pieces of at most 1 GiB (MPI counts are int).
    constexpr size_t kPiece = size_t{1} << 30;
    std::vector<MPI_Request> reqs;
    auto post = [&](const Transfer& t, bool send) -> Status {
      for (size_t off = 0, piece = 0; off < t.size || (t.size == 0 && piece == 0); ++piece) {
        int n = static_cast<int>(std::min(kPiece, t.size - off));
        MPI_Request r;
        int tag = t.tag * 64 + static_cast<int>(piece % 64);
        int rc = send ? MPI_Isend(t.data + off, n, MPI_BYTE, t.peer, tag, comm_, &r)
                      : MPI_Irecv(t.data + off, n, MPI_BYTE, t.peer, tag, comm_, &r);
        if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError(send ? "MPI_Isend" : "MPI_Irecv", rc));
        reqs.push_back(r);
        off += static_cast<size_t>(n);
        if (t.size == 0) break;
      }
      return Status::Ok();
    };
    for (const auto& t : recvs) CAIRN_RETURN_IF_ERROR(post(t, false));
    for (const auto& t : sends) CAIRN_RETURN_IF_ERROR(post(t, true));
    int rc = MPI_Waitall(static_cast<int>(reqs.size()), reqs.data(), MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) return Status::Unavailable(MpiError("MPI_Waitall", rc));
    return Status::Ok();
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
