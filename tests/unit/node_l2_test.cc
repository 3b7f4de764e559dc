// L2 codes across nodes end to end (tree/node_l2.h): four nodes as threads, each with its own
// directory, a real coordinator serving the job store, EncodeNodeParts on every node, then
// some nodes lose their directory and RecoverNodeParts must rebuild their parts byte for byte
// from the survivors (XOR: one node; Reed-Solomon with k = 2: two), or find no version when
// more are lost than the code tolerates (and then write nothing).
#include "tree/node_l2.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "coord/coordinator.h"
#include "coord/manifest.h"
#include "node_fixtures.h"
#include "test_util.h"

namespace cairn::tree {
namespace {

using cairn::testing::ReadText;
using cairn::testing::TempDir;
using cairn::testing::WriteText;

constexpr char kJob[] = "job-node-l2";
constexpr int kNodes = 4;

class NodeL2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    job_ = dir_ / "job";
    ASSERT_TRUE(Env::Default()->CreateDirs(job_).ok());
    auto c = cairn::testing::StartStoreCoordinator(job_, kNodes, kJob);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c.value());
    WriteJobCheckpoint(1);
  }

  std::string NodeDir(int n) const { return dir_ / ("node" + std::to_string(n)); }

  // Job checkpoint v: every node's part (two images of sizes that differ from node to node,
  // and its node manifest), and the job manifest naming the node manifests.
  void WriteJobCheckpoint(uint64_t v) {
    coord::Manifest jm;
    jm.kind = "nodes";
    jm.version = v;
    jm.participants = kNodes;
    for (int n = 0; n < kNodes; ++n) {
      std::vector<std::string> images;
      for (int r = 0; r < 2; ++r) {
        std::string text(100000 + static_cast<size_t>(n) * 7777 + static_cast<size_t>(r) * 13, 0);
        for (size_t i = 0; i < text.size(); ++i) {
          text[i] = static_cast<char>(
              (i * 31 + static_cast<size_t>(n) * 7 + static_cast<size_t>(r)) & 0xff);
        }
        images.push_back(std::move(text));
      }
      coord::ManifestImage node;
      node.rank = n;
      cairn::testing::WriteNodePart(NodeDir(n), v, images, &node);
      jm.images.push_back(node);
    }
    ASSERT_TRUE(coord::WriteManifest(job_, jm).ok());
  }

  // Every file of every node directory, by path.
  std::map<std::string, std::string> Snapshot() const {
    std::map<std::string, std::string> out;
    for (int n = 0; n < kNodes; ++n) {
      auto names = Env::Default()->ListDir(NodeDir(n));
      if (!names.ok()) continue;
      for (const std::string& f : names.value()) {
        if (f.size() > 3 && f.compare(f.size() - 3, 3, ".ec") == 0) continue;
        out[NodeDir(n) + "/" + f] = ReadText(NodeDir(n) + "/" + f);
      }
    }
    return out;
  }

  Config Cfg(const std::string& scheme, int n) const {
    Config c;
    c.ec_scheme = scheme;
    c.ec_set_size = kNodes;
    c.ec_parity = 2;
    c.failure_domain = "domain" + std::to_string(n);
    return c;
  }

  void OnEveryNode(const std::function<void(int)>& fn) {
    std::vector<std::thread> t;
    for (int n = 0; n < kNodes; ++n) t.emplace_back(fn, n);
    for (auto& x : t) x.join();
  }

  void Encode(const std::string& scheme) {
    OnEveryNode([&](int n) {
      Status st =
          EncodeNodeParts(Cfg(scheme, n), NodeDir(n), job_, kJob, n, 1, 10000, Env::Default());
      EXPECT_TRUE(st.ok()) << "node " << n << ": " << st.ToString();
      EXPECT_TRUE(Env::Default()->Exists(NodeDir(n) + "/l2.v1.ec")) << "node " << n;
    });
  }

  // Each node recovers; `lost` nodes have nothing on scratch. Returns each node's answer.
  std::vector<uint64_t> Recover(const std::string& scheme, const std::vector<int>& lost) {
    std::vector<uint64_t> got(kNodes, 99);
    auto store = coord::JobStore::Open(job_, kJob, 3000);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return got;
    OnEveryNode([&](int n) {
      const bool gone = std::find(lost.begin(), lost.end(), n) != lost.end();
      NodeL2Place place{store.value(), "127.0.0.1", NodeDir(n), job_, n, kNodes};
      auto v = RecoverNodeParts(Cfg(scheme, n), place,
                                gone ? std::set<uint64_t>{} : std::set<uint64_t>{1}, {}, 10000,
                                Env::Default());
      EXPECT_TRUE(v.ok()) << "node " << n << ": " << v.status().ToString();
      if (v.ok()) got[static_cast<size_t>(n)] = v.value();
    });
    return got;
  }

  TempDir dir_;
  std::string job_;
  std::unique_ptr<coord::Coordinator> coord_;
};

TEST_F(NodeL2Test, XorRebuildsALostNodeByteForByte) {
  const auto before = Snapshot();
  Encode("xor");
  ASSERT_TRUE(Env::Default()->RemoveTree(NodeDir(2)).ok());
  EXPECT_EQ(Recover("xor", {2}), std::vector<uint64_t>(kNodes, 1));
  EXPECT_EQ(Snapshot(), before);
  EXPECT_TRUE(Env::Default()->Exists(NodeDir(2) + "/l2.v1.ec"));  // its parity too
}

TEST_F(NodeL2Test, ReedSolomonRebuildsTwoLostNodes) {
  const auto before = Snapshot();
  Encode("rs");
  ASSERT_TRUE(Env::Default()->RemoveTree(NodeDir(1)).ok());
  ASSERT_TRUE(Env::Default()->RemoveTree(NodeDir(3)).ok());
  EXPECT_EQ(Recover("rs", {1, 3}), std::vector<uint64_t>(kNodes, 1));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(NodeL2Test, XorCannotRebuildTwoLostNodesAndWritesNothing) {
  Encode("xor");
  ASSERT_TRUE(Env::Default()->RemoveTree(NodeDir(0)).ok());
  ASSERT_TRUE(Env::Default()->RemoveTree(NodeDir(1)).ok());
  EXPECT_EQ(Recover("xor", {0, 1}), std::vector<uint64_t>(kNodes, 0));
  EXPECT_FALSE(Env::Default()->Exists(coord::ManifestPath(NodeDir(0), 1)));
  EXPECT_FALSE(Env::Default()->Exists(coord::ManifestPath(NodeDir(1), 1)));
}

TEST_F(NodeL2Test, ACorruptSurvivorIsNotUsedToRebuild) {
  Encode("xor");
  ASSERT_TRUE(Env::Default()->RemoveTree(NodeDir(2)).ok());
  // Node 0's parity file has a flipped byte: its checksum fails, so node 0 counts as having
  // lost its parity, and with node 2's data gone too XOR cannot rebuild node 2.
  ASSERT_TRUE(cairn::testing::FlipByte(NodeDir(0) + "/l2.v1.ec", -20));
  const auto got = Recover("xor", {2});
  EXPECT_EQ(got[2], 0u);
  EXPECT_FALSE(Env::Default()->Exists(coord::ManifestPath(NodeDir(2), 1)));
}

}  // namespace
}  // namespace cairn::tree
