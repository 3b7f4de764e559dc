// NodePart: one node's part of a job checkpoint as L2 data (redundancy/protected_data.h), so
// the node agents of a job on several machines protect each other's images with partner
// copies, XOR or Reed-Solomon (redundancy/redundancy_level.h over tree/node_comm.h).
//
// Version v is the job's checkpoint v: JOB/job.v<v>.manifest (kind "nodes") names this node's
// manifest in node_dir, which names the node's process images. The node's part is that
// manifest, its images and the older images of their chains (levels.h TreeCheckpointFiles).
//
// Contract:
//   - Read(name, v) packs the part into one byte string:
//       "CAIRNNP1" | u32 count | per file: u32 name length, name, u64 XXH3-64 of the bytes,
//       u64 size, bytes
//     the node manifest last. kNotFound when the job manifest or the node's part is gone,
//     kCorruption when an image has another size than its manifest says.
//   - Install(name, v, bytes) unpacks into node_dir: every name must be a plain file name
//     (no '/', not "." or ".."), every file's hash must match; each file is written as
//     name.tmp and renamed, the node manifest last, so a partial install never commits a
//     checkpoint. On any error the files it wrote are removed and nothing else changed.
//   - EcPath(v): node_dir/l2.v<v>.ec. PruneEc removes the .ec files of node_dir whose job
//     checkpoint is no longer in JOB (retention of the job manifests).
#pragma once

#include <string>

#include "env/env.h"
#include "redundancy/protected_data.h"

namespace cairn::tree {

class NodePart : public redundancy::ProtectedData {
 public:
  NodePart(Env* env, std::string node_dir, std::string job_dir, int node)
      : env_(env), node_dir_(std::move(node_dir)), job_dir_(std::move(job_dir)), node_(node) {}
  Result<std::string> Read(const std::string& name, long long version) override;
  Status Install(const std::string& name, long long version, const std::string& bytes) override;
  std::string EcPath(const std::string& name, long long version) override;
  Status PrepareEc(const std::string& name, long long version) override;

  // Removes node_dir's .ec files of job versions JOB no longer has a manifest of.
  void PruneEc() const;

 private:
  Env* env_;
  std::string node_dir_, job_dir_;
  int node_;
};

}  // namespace cairn::tree
