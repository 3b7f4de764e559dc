// See node_part.h.
#include "tree/node_part.h"

#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "common/hash.h"
#include "common/log.h"
#include "coord/manifest.h"
#include "transparent/image_records.h"
#include "tree/levels.h"

namespace cairn::tree {
namespace {

namespace rec = cairn::transparent::records;

constexpr char kMagic[] = "CAIRNNP1";
constexpr size_t kMagicLen = 8;
constexpr char kEcPrefix[] = "l2.v";
constexpr char kEcSuffix[] = ".ec";

bool PlainName(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

}  // namespace

Result<std::string> NodePart::Read(const std::string& name, long long version) {
  const std::string job_manifest = coord::ManifestPath(job_dir_, static_cast<uint64_t>(version));
  auto job = coord::ReadManifest(job_manifest, env_);
  if (!job.ok()) return job.status();
  if (node_ < 0 || static_cast<size_t>(node_) >= job.value().images.size()) {
    return Status::NotFound("'" + name + "' checkpoint " + std::to_string(version) +
                            " has no part of node " + std::to_string(node_));
  }
  const std::string node_manifest = job.value().images[static_cast<size_t>(node_)].path;
  if (DirName(node_manifest) != node_dir_) {
    return Status::FailedPrecondition("node " + std::to_string(node_) + "'s part of checkpoint " +
                                      std::to_string(version) + " is in '" +
                                      DirName(node_manifest) + "', not in '" + node_dir_ + "'");
  }
  auto m = coord::ReadManifest(node_manifest, env_);
  if (!m.ok()) return m.status();
  auto files = TreeCheckpointFiles(node_manifest, m.value(), env_);
  if (!files.ok()) return files.status();
  rec::Enc e;
  e.str().append(kMagic, kMagicLen);
  e.Count(files.value().size());
  for (const std::string& f : files.value()) {
    auto bytes = ReadFileToString(env_, JoinPath(node_dir_, f), UINT64_MAX);
    if (!bytes.ok()) return bytes.status();
    e.Str(f);
    e.U64(Hash64(bytes.value().data(), bytes.value().size()));
    e.Blob64(bytes.value());
  }
  if (e.too_long()) return Status::InvalidArgument("node part too large to pack");
  return std::move(e.str());
}

Status NodePart::Install(const std::string& name, long long version, const std::string& bytes) {
  const std::string what = "node " + std::to_string(node_) + "'s part of '" + name +
                           "' checkpoint " + std::to_string(version);
  if (bytes.size() < kMagicLen || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0) {
    return Status::Corruption(what + ": not a packed node part");
  }
  struct File {
    std::string name;
    size_t offset = 0;
    uint64_t size = 0;
  };
  std::vector<File> files;
  size_t pos = kMagicLen;
  auto left = [&] { return bytes.size() - pos; };
  const uint32_t n = left() >= 4 ? rec::LoadLE<uint32_t>(bytes.data() + pos) : 0;
  pos += 4;
  for (uint32_t i = 0; i < n; ++i) {
    const std::string bad = what + ": file " + std::to_string(i) + " does not parse";
    if (pos > bytes.size() || left() < 4) return Status::Corruption(bad);
    const uint32_t len = rec::LoadLE<uint32_t>(bytes.data() + pos);
    pos += 4;
    if (len > left() || left() - len < 16) return Status::Corruption(bad);
    File f;
    f.name = bytes.substr(pos, len);
    pos += len;
    const uint64_t hash = rec::LoadLE<uint64_t>(bytes.data() + pos);
    f.size = rec::LoadLE<uint64_t>(bytes.data() + pos + 8);
    pos += 16;
    if (f.size > left() || !PlainName(f.name)) return Status::Corruption(bad);
    f.offset = pos;
    pos += f.size;
    if (Hash64(bytes.data() + f.offset, f.size) != hash) {
      return Status::Corruption(what + ": '" + f.name + "' does not match its hash");
    }
    files.push_back(std::move(f));
  }
  if (pos != bytes.size() || files.empty() ||
      coord::ManifestVersionFromName(files.back().name) == 0) {
    return Status::Corruption(what + ": does not end with its node manifest");
  }
  CAIRN_RETURN_IF_ERROR(env_->CreateDirs(node_dir_));
  std::vector<std::string> written;  // files that were not there before (a chain's older
                                     // images may be: an older checkpoint keeps them)
  Status st;
  for (const File& f : files) {
    const std::string path = JoinPath(node_dir_, f.name);
    const bool existed = env_->Exists(path);
    st = WriteFileAtomic(env_, path, bytes.substr(f.offset, f.size), true);
    if (!st.ok()) break;
    if (!existed) written.push_back(path);
  }
  if (!st.ok()) {
    for (const std::string& p : written) (void)env_->RemoveFile(p);
    return st.Annotate(what);
  }
  return Status::Ok();
}

std::string NodePart::EcPath(const std::string&, long long version) {
  return JoinPath(node_dir_, kEcPrefix + std::to_string(version) + kEcSuffix);
}

Status NodePart::PrepareEc(const std::string&, long long) { return env_->CreateDirs(node_dir_); }

void NodePart::PruneEc() const {
  auto names = env_->ListDir(node_dir_);
  auto kept = coord::ListManifests(job_dir_, env_);
  if (!names.ok() || !kept.ok()) return;
  const std::set<uint64_t> versions(kept.value().begin(), kept.value().end());
  const std::string prefix = kEcPrefix, suffix = kEcSuffix;
  for (const std::string& n : names.value()) {
    if (n.size() <= prefix.size() + suffix.size() || n.compare(0, prefix.size(), prefix) != 0 ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string digits = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    if (versions.count(std::strtoull(digits.c_str(), nullptr, 10)) == 0) {
      (void)env_->RemoveFile(JoinPath(node_dir_, n));
    }
  }
}

}  // namespace cairn::tree
