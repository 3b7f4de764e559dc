// See rank_files.h.
#include "redundancy/rank_files.h"

#include <cstdint>

#include "format/reader.h"
#include "redundancy/ec_file.h"

namespace cairn::redundancy {

Result<std::string> RankFiles::Read(const std::string& name, long long version) {
  return ReadFileToString(env_, scratch_->layout().RankFile(name, version, rank_), UINT64_MAX);
}

std::string RankFiles::EcPath(const std::string& name, long long version) {
  return JoinPath(scratch_->layout().VersionDir(name, version), EcFileName(rank_));
}

Status RankFiles::PrepareEc(const std::string& name, long long version) {
  return scratch_->PrepareVersion(name, version);
}

Status RankFiles::Install(const std::string& name, long long version, const std::string& bytes) {
  CAIRN_RETURN_IF_ERROR(scratch_->PrepareVersion(name, version));
  const std::string path = scratch_->layout().RankFile(name, version, rank_);
  auto f = env_->NewWritableFile(path + kTmpSuffix);
  if (!f.ok()) return f.status();
  Status st = f.value()->Append(bytes.data(), bytes.size());
  if (st.ok() && sync_) st = f.value()->Sync();
  if (st.ok()) st = f.value()->Close();
  if (st.ok()) {
    // Only a file that verifies completely replaces anything.
    auto r = format::CheckpointFileReader::Open(env_, path + kTmpSuffix);
    st = r.ok() ? Status::Ok() : r.status();
    if (st.ok()) {
      const auto& m = r.value()->manifest();
      bool memory_only = true;
      for (const auto& e : m.entries)
        memory_only = memory_only && e.kind != format::EntryKind::kFile;
      if (memory_only) st = r.value()->VerifyData();
    }
  }
  if (st.ok()) st = env_->Rename(path + kTmpSuffix, path);
  if (!st.ok()) (void)env_->RemoveFile(path + kTmpSuffix);
  return st;
}

}  // namespace cairn::redundancy
