// RankFiles: the library's L2 data (protected_data.h): rank `rank`'s checkpoint file
// <scratch>/<name>/v<V>/r<rank>.ckpt, and its .ec file r<rank>.ec beside it. A rebuilt rank
// file replaces nothing unless it opens as a checkpoint file (header, table and footer
// hashes) and, when it holds only memory regions, every entry verifies.
#pragma once

#include "env/env.h"
#include "redundancy/protected_data.h"
#include "storage/level.h"

namespace cairn::redundancy {

class RankFiles : public ProtectedData {
 public:
  RankFiles(Env* env, const Level* scratch, int rank, bool sync)
      : env_(env), scratch_(scratch), rank_(rank), sync_(sync) {}
  Result<std::string> Read(const std::string& name, long long version) override;
  Status Install(const std::string& name, long long version, const std::string& bytes) override;
  std::string EcPath(const std::string& name, long long version) override;
  Status PrepareEc(const std::string& name, long long version) override;

 private:
  Env* env_;
  const Level* scratch_;
  int rank_;
  bool sync_;
};

}  // namespace cairn::redundancy
