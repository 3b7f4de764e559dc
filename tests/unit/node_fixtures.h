// Fixtures for the tests of jobs on several nodes (node_comm, node_part, node_l2): a job
// coordinator that only serves its key-value store, and one node's part of a job checkpoint.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "coord/coordinator.h"
#include "coord/manifest.h"
#include "env/env.h"
#include "test_util.h"

namespace cairn::testing {

// A coordinator of `nodes` participants in `dir` (its address file there) that nobody joins
// within the test: it serves its store to JobStore::Open(dir, job_key).
inline Result<std::unique_ptr<coord::Coordinator>> StartStoreCoordinator(
    const std::string& dir, int nodes, const std::string& job_key) {
  coord::CoordinatorOptions o;
  o.dir = dir;
  o.participants = nodes;
  o.job_key = job_key;
  o.bind_host = "127.0.0.1";
  o.advertise_host = "127.0.0.1";
  o.phase_timeout_ms = 2000;
  o.join_timeout_ms = 60000;
  return coord::Coordinator::Start(o);
}

// Node part of job checkpoint v in node_dir: images p-<10+r>.v<v>.cimg holding images[r], and
// the node manifest naming them. *entry becomes the job manifest's line for this node.
inline void WriteNodePart(const std::string& node_dir, uint64_t v,
                          const std::vector<std::string>& images, coord::ManifestImage* entry) {
  ASSERT_TRUE(Env::Default()->CreateDirs(node_dir).ok());
  coord::Manifest m;
  m.kind = "tree";
  m.version = v;
  m.participants = static_cast<int>(images.size());
  for (size_t r = 0; r < images.size(); ++r) {
    const std::string img =
        node_dir + "/p-" + std::to_string(10 + r) + ".v" + std::to_string(v) + ".cimg";
    ASSERT_TRUE(WriteText(img, images[r]));
    coord::ManifestImage im;
    im.rank = static_cast<int>(r);
    im.bytes = images[r].size();
    im.hash = "-";
    im.path = img;
    im.pid = static_cast<int>(10 + r);
    m.images.push_back(im);
  }
  ASSERT_TRUE(coord::WriteManifest(node_dir, m).ok());
  entry->path = coord::ManifestPath(node_dir, v);
  auto st = Env::Default()->Stat(entry->path);
  ASSERT_TRUE(st.ok());
  entry->bytes = st.value().size;
  entry->hash = "-";
}

}  // namespace cairn::testing
