// Tests of a node's part of a job checkpoint as L2 data (tree/node_part.h): packing, the
// checks an install makes before it writes anything, and the pruning of .ec files. Real files
// in temporary directories; the codes themselves run in transparent.tree_two_nodes_l2.
#include "tree/node_part.h"

#include <gtest/gtest.h>

#include <string>

#include "common/hash.h"
#include "coord/manifest.h"
#include "env/env.h"
#include "node_fixtures.h"
#include "test_util.h"
#include "transparent/image_records.h"

namespace cairn {
namespace {

using cairn::testing::ReadText;
using cairn::testing::TempDir;
using cairn::testing::WriteText;

// Job checkpoint v of two nodes in `job`: node `node`'s part (two images and its node
// manifest) in `node_dir`; the other node's part is named but not written.
void WriteJobCheckpoint(const std::string& job, const std::string& node_dir, int node, uint64_t v) {
  coord::Manifest jm;
  jm.kind = "nodes";
  jm.version = v;
  jm.participants = 2;
  for (int n = 0; n < 2; ++n) {
    coord::ManifestImage im;
    im.rank = n;
    if (n == node) {
      cairn::testing::WriteNodePart(
          node_dir, v, {"image 0 of v" + std::to_string(v), "image 1 of v" + std::to_string(v)},
          &im);
    } else {
      im.bytes = 1;
      im.hash = "-";
      im.path = job + "/elsewhere.manifest";
    }
    jm.images.push_back(im);
  }
  ASSERT_TRUE(coord::WriteManifest(job, jm).ok());
}

TEST(NodePart, PacksTheNodesPartAndInstallsItBackWhole) {
  TempDir t;
  const std::string job = t / "job", node = t / "scratch";
  ASSERT_TRUE(Env::Default()->CreateDirs(job).ok());
  ASSERT_TRUE(Env::Default()->CreateDirs(node).ok());
  WriteJobCheckpoint(job, node, 1, 3);
  tree::NodePart part(Env::Default(), node, job, 1);
  auto packed = part.Read("nodes", 3);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  EXPECT_EQ(packed.value().compare(0, 8, "CAIRNNP1"), 0);
  const std::string manifest = ReadText(coord::ManifestPath(node, 3));

  ASSERT_TRUE(Env::Default()->RemoveTree(node).ok());  // the node lost its scratch
  ASSERT_TRUE(part.Install("nodes", 3, packed.value()).ok());
  EXPECT_EQ(ReadText(node + "/p-10.v3.cimg"), "image 0 of v3");
  EXPECT_EQ(ReadText(node + "/p-11.v3.cimg"), "image 1 of v3");
  EXPECT_EQ(ReadText(coord::ManifestPath(node, 3)), manifest);
  auto again = part.Read("nodes", 3);  // what was installed is the same part
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), packed.value());

  EXPECT_EQ(part.Read("nodes", 4).status().code(), Code::kNotFound);  // no such checkpoint
  EXPECT_EQ(part.EcPath("nodes", 3), node + "/l2.v3.ec");
}

TEST(NodePart, InstallRefusesFlippedBytesAndNamesOutsideTheDirectory) {
  TempDir t;
  const std::string job = t / "job", node = t / "scratch";
  ASSERT_TRUE(Env::Default()->CreateDirs(job).ok());
  ASSERT_TRUE(Env::Default()->CreateDirs(node).ok());
  WriteJobCheckpoint(job, node, 0, 1);
  tree::NodePart part(Env::Default(), node, job, 0);
  auto packed = part.Read("nodes", 1);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  ASSERT_TRUE(Env::Default()->RemoveTree(node).ok());

  // Every single flipped byte is refused, and nothing is written.
  for (size_t at : {size_t{3}, size_t{12}, packed.value().size() / 2, packed.value().size() - 1}) {
    std::string bad = packed.value();
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    EXPECT_FALSE(part.Install("nodes", 1, bad).ok()) << "byte " << at;
    EXPECT_FALSE(Env::Default()->Exists(node + "/p-10.v1.cimg")) << "byte " << at;
  }
  EXPECT_EQ(part.Install("nodes", 1, packed.value().substr(0, packed.value().size() - 5)).code(),
            Code::kCorruption);

  // A well-formed pack whose file name leaves the directory.
  transparent::records::Enc e;
  e.str() = "CAIRNNP1";
  e.Count(1);
  const std::string body = "evil";
  e.Str("../evil.v1.manifest");
  e.U64(Hash64(body.data(), body.size()));
  e.Blob64(body);
  EXPECT_EQ(part.Install("nodes", 1, e.str()).code(), Code::kCorruption);
  EXPECT_FALSE(Env::Default()->Exists(t / "evil.v1.manifest"));
}

TEST(NodePart, PruneEcKeepsOnlyTheJobsCheckpoints) {
  TempDir t;
  const std::string job = t / "job", node = t / "scratch";
  ASSERT_TRUE(Env::Default()->CreateDirs(job).ok());
  ASSERT_TRUE(Env::Default()->CreateDirs(node).ok());
  WriteJobCheckpoint(job, node, 0, 5);
  for (const char* n : {"l2.v4.ec", "l2.v5.ec", "l2.vx.ec", "other.ec"}) {
    ASSERT_TRUE(WriteText(node + "/" + n, "x"));
  }
  tree::NodePart(Env::Default(), node, job, 0).PruneEc();
  EXPECT_FALSE(Env::Default()->Exists(node + "/l2.v4.ec"));  // job.v4 is gone
  EXPECT_TRUE(Env::Default()->Exists(node + "/l2.v5.ec"));
  EXPECT_TRUE(Env::Default()->Exists(node + "/l2.vx.ec"));  // not ours
  EXPECT_TRUE(Env::Default()->Exists(node + "/other.ec"));
}

}  // namespace
}  // namespace cairn
