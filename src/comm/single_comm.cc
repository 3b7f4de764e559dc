#include "comm/comm.h"

namespace cairn {
namespace {

class SingleComm final : public Comm {
 public:
  explicit SingleComm(int rank) : rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return 1; }
  bool collective() const override { return false; }
  Status Barrier() override { return Status::Ok(); }
  Result<int64_t> AllMin(int64_t v) override { return v; }
  Result<int64_t> AllMax(int64_t v) override { return v; }
  Result<std::vector<uint64_t>> GatherToRoot(uint64_t v) override {
    return std::vector<uint64_t>{v};
  }
  Result<std::vector<std::string>> AllGather(const std::string& mine) override {
    return std::vector<std::string>{mine};
  }
  Status Exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& recvs) override {
    if (!sends.empty() || !recvs.empty()) {
      return Status::InvalidArgument("a single-process communicator has no peers");
    }
    return Status::Ok();
  }

 private:
  int rank_;
};

}  // namespace

std::unique_ptr<Comm> MakeSingleComm(int rank) { return std::make_unique<SingleComm>(rank); }

}  // namespace cairn
