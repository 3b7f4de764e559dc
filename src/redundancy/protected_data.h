// ProtectedData: what one member of an L2 set protects (redundancy_level.h), and where its
// .ec file goes. The codes only move bytes; this says which bytes and how they come back.
//
//   RankFiles (rank_files.h)      the library: one rank's checkpoint file on scratch
//   tree::NodePart (tree/node_part.h)  transparent images: one node's part of a job checkpoint
//
// Contract:
//   - Read(name, v): this member's bytes of version v, whole (kNotFound when it has none).
//   - Install(name, v, bytes): puts rebuilt bytes back where Read finds them; only bytes that
//     verify completely replace anything (atomically), otherwise an error and nothing changes.
//   - EcPath(name, v): this member's .ec file of version v. PrepareEc makes its directory.
#pragma once

#include <string>

#include "common/status.h"

namespace cairn::redundancy {

class ProtectedData {
 public:
  virtual ~ProtectedData() = default;
  virtual Result<std::string> Read(const std::string& name, long long version) = 0;
  virtual Status Install(const std::string& name, long long version, const std::string& bytes) = 0;
  virtual std::string EcPath(const std::string& name, long long version) = 0;
  virtual Status PrepareEc(const std::string& name, long long version) = 0;
};

}  // namespace cairn::redundancy
