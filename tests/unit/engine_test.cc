// Engine tests through cairn::Client with a single-process communicator: the
// checkpoint and restart protocols, levels, retention, fallback and errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <numeric>
#include <vector>

#include "client/client.h"
#include "storage/layout.h"
#include "test_util.h"

namespace cairn {
namespace {

using cairn::testing::FlipByte;
using cairn::testing::TempDir;
using cairn::testing::WriteText;

class EngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> Open(const std::string& extra = "", int rank = 0) {
    std::string cfg = dir_ / "cfg";
    EXPECT_TRUE(
        WriteText(cfg, "scratch = " + scratch() + "\npersistent = " + persistent() + "\n" + extra));
    auto c = Client::Create(MakeSingleComm(rank), cfg);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  std::string scratch() const { return dir_ / "scratch"; }
  std::string persistent() const { return dir_ / "persistent"; }
  std::string ScratchFile(long long v, int rank = 0) const {
    return Layout(scratch()).RankFile("heat", v, rank);
  }
  std::string PersistentFile(long long v, int rank = 0) const {
    return Layout(persistent()).RankFile("heat", v, rank);
  }
  bool Exists(const std::string& p) const { return Env::Default()->Exists(p); }
  // Checkpoints versions 1..n where data[i] = version * 1000 + i.
  void CheckpointVersions(Client& c, int n) {
    for (int v = 1; v <= n; ++v) {
      Fill(v);
      ASSERT_TRUE(c.Checkpoint("heat", v).ok());
    }
  }
  void Fill(int v) {
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = v * 1000.0 + static_cast<double>(i);
    step_ = v;
  }
  void Protect(Client& c) {
    ASSERT_TRUE(c.Protect(0, data_.data(), data_.size(), sizeof(double), "").ok());
    ASSERT_TRUE(c.Protect(1, &step_, 1, sizeof(step_), "").ok());
  }
  bool HoldsVersion(int v) const {
    if (step_ != v) return false;
    for (size_t i = 0; i < data_.size(); ++i) {
      if (data_[i] != v * 1000.0 + static_cast<double>(i)) return false;
    }
    return true;
  }
  TempDir dir_;
  std::vector<double> data_ = std::vector<double>(50000);
  int step_ = 0;
};

TEST_F(EngineTest, CheckpointRestartRoundTrip) {
  auto c = Open();
  Protect(*c);
  CheckpointVersions(*c, 3);
  Fill(0);
  auto v = c->RestartTest("heat", 0);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.value(), 3);
  ASSERT_TRUE(c->Restart("heat", 3).ok());
  EXPECT_TRUE(HoldsVersion(3));
  ASSERT_TRUE(c->Restart("heat", 2).ok());
  EXPECT_TRUE(HoldsVersion(2));
  EXPECT_EQ(c->RestartTest("heat", 2).value(), 2);
}

TEST_F(EngineTest, FilesArePrivateAndNoTemporariesRemain) {
  auto c = Open();
  Protect(*c);
  CheckpointVersions(*c, 1);
  struct stat st;
  ASSERT_EQ(::stat(ScratchFile(1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(scratch().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(Exists(PersistentFile(1)));
  EXPECT_FALSE(Exists(ScratchFile(1) + ".tmp"));
  EXPECT_FALSE(Exists(PersistentFile(1) + ".tmp"));
}

TEST_F(EngineTest, NothingToRestart) {
  auto c = Open();
  Protect(*c);
  auto v = c->RestartTest("heat", 0);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kNotFound);
  EXPECT_FALSE(c->Restart("heat", 4).ok());
}

TEST_F(EngineTest, RestartsFromPersistentWhenScratchIsWiped) {
  {
    auto c = Open();
    Protect(*c);
    CheckpointVersions(*c, 2);
  }
  ASSERT_TRUE(Env::Default()->RemoveTree(scratch()).ok());
  auto c = Open();
  Protect(*c);
  Fill(0);
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 2);
  ASSERT_TRUE(c->Restart("heat", 2).ok());
  EXPECT_TRUE(HoldsVersion(2));
}

TEST_F(EngineTest, CorruptScratchFallsBackToPersistentOfSameVersion) {
  {
    auto c = Open();
    Protect(*c);
    CheckpointVersions(*c, 2);
  }
  ASSERT_TRUE(FlipByte(ScratchFile(2), 4096));
  auto c = Open();
  Protect(*c);
  Fill(0);
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 2);
  ASSERT_TRUE(c->Restart("heat", 2).ok());
  EXPECT_TRUE(HoldsVersion(2));
}

TEST_F(EngineTest, CorruptNewestEverywhereFallsBackToOlderVersion) {
  {
    auto c = Open();
    Protect(*c);
    CheckpointVersions(*c, 3);
  }
  ASSERT_TRUE(FlipByte(ScratchFile(3), 4096));
  ASSERT_TRUE(FlipByte(PersistentFile(3), 10));  // header
  auto c = Open();
  Protect(*c);
  Fill(0);
  auto v = c->RestartTest("heat", 0);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), 2);
  ASSERT_TRUE(c->Restart("heat", 2).ok());
  EXPECT_TRUE(HoldsVersion(2));
  // Restoring the bad version directly is refused and leaves memory alone.
  Fill(0);
  EXPECT_FALSE(c->Restart("heat", 3).ok());
  EXPECT_TRUE(HoldsVersion(0));
}

// Restart at read speed: Restart_test checks the structure only and Restart verifies the data
// as it reads it. A copy whose data fails is passed over for another copy of the same version.
TEST_F(EngineTest, OnePassRestartTakesAnotherCopyOfTheSameVersion) {
  {
    auto c = Open();
    Protect(*c);
    CheckpointVersions(*c, 2);
  }
  ASSERT_TRUE(FlipByte(ScratchFile(2), 4096));  // data: the structure is intact
  auto c = Open();
  c->SetVerifyBeforeRestore(false);
  Protect(*c);
  Fill(0);
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 2);
  long long restored = -1;
  ASSERT_TRUE(c->Restart("heat", 2, -1, /*older_ok=*/false, &restored).ok());
  EXPECT_EQ(restored, 2);
  EXPECT_TRUE(HoldsVersion(2));  // from persistent
}

// When no copy of the version verifies: the exact restart fails (kCorruption), Restart_test
// then passes over the bad copy, and a restart that accepts older versions takes the newest
// one that verifies, saying which.
TEST_F(EngineTest, OnePassRestartFallsBackOnlyWhenAllowed) {
  {
    auto c = Open();
    Protect(*c);
    CheckpointVersions(*c, 3);
  }
  ASSERT_TRUE(FlipByte(ScratchFile(3), 4096));     // data
  ASSERT_TRUE(FlipByte(PersistentFile(3), 5000));  // data
  auto c = Open();
  c->SetVerifyBeforeRestore(false);
  Protect(*c);
  Fill(0);
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 3);
  EXPECT_EQ(c->Restart("heat", 3).code(), Code::kCorruption);
  EXPECT_FALSE(HoldsVersion(3));
  EXPECT_EQ(c->RestartTest("heat", 0).value(), 2);  // the bad copies are known
  Fill(0);
  long long restored = -1;
  ASSERT_TRUE(c->Restart("heat", 3, -1, /*older_ok=*/true, &restored).ok());
  EXPECT_EQ(restored, 2);
  EXPECT_TRUE(HoldsVersion(2));
  // A fresh client (a new run) finds the same: structure intact, data not.
  auto c2 = Open();
  c2->SetVerifyBeforeRestore(false);
  Protect(*c2);
  Fill(0);
  restored = -1;
  ASSERT_TRUE(c2->Restart("heat", 3, -1, true, &restored).ok());
  EXPECT_EQ(restored, 2);
  EXPECT_TRUE(HoldsVersion(2));
}

TEST_F(EngineTest, CorruptionAfterTestIsCaughtWhileReading) {
  auto c = Open("persistent_interval = -1\n");
  Protect(*c);
  CheckpointVersions(*c, 1);
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 1);
  // Rewrite the file with a flipped byte: new mtime, so the cache is invalidated. (File
  // time stamps are kernel-tick coarse; the wait makes the change visible to stat.)
  ::usleep(30000);
  ASSERT_TRUE(FlipByte(ScratchFile(1), 5000));
  EXPECT_EQ(c->Restart("heat", 1).code(), Code::kCorruption);
}

TEST_F(EngineTest, ScratchOnlyWithoutPersistentKey) {
  std::string cfg = dir_ / "cfg2";
  ASSERT_TRUE(WriteText(cfg, "scratch = " + scratch() + "\n"));
  auto c = Client::Create(MakeSingleComm(0), cfg);
  ASSERT_TRUE(c.ok());
  Protect(*c.value());
  CheckpointVersions(*c.value(), 2);
  Fill(0);
  ASSERT_EQ(c.value()->RestartTest("heat", 0).value(), 2);
  ASSERT_TRUE(c.value()->Restart("heat", 2).ok());
  EXPECT_TRUE(HoldsVersion(2));
  EXPECT_FALSE(Exists(persistent()));
}

TEST_F(EngineTest, PersistentIntervalNegativeNeverWrites) {
  auto c = Open("persistent_interval = -1\n");
  Protect(*c);
  CheckpointVersions(*c, 2);
  EXPECT_TRUE(Exists(ScratchFile(2)));
  EXPECT_FALSE(Exists(PersistentFile(1)));
  EXPECT_FALSE(Exists(PersistentFile(2)));
}

TEST_F(EngineTest, PersistentIntervalInSeconds) {
  auto c = Open("persistent_interval = 3600\n");
  Protect(*c);
  CheckpointVersions(*c, 3);
  EXPECT_TRUE(Exists(PersistentFile(1)));  // the first is always due
  EXPECT_FALSE(Exists(PersistentFile(2)));
  EXPECT_FALSE(Exists(PersistentFile(3)));
}

TEST_F(EngineTest, Retention) {
  auto c = Open("scratch_versions = 2\nmax_versions = 1\n");
  Protect(*c);
  CheckpointVersions(*c, 5);
  ASSERT_TRUE(c->CheckpointWait().ok());  // retention runs in the background until then
  EXPECT_FALSE(Exists(ScratchFile(3)));
  EXPECT_TRUE(Exists(ScratchFile(4)));
  EXPECT_TRUE(Exists(ScratchFile(5)));
  EXPECT_FALSE(Exists(PersistentFile(4)));
  EXPECT_TRUE(Exists(PersistentFile(5)));
}

TEST_F(EngineTest, EndWithFailureCommitsNothing) {
  auto c = Open();
  Protect(*c);
  CheckpointVersions(*c, 1);
  ASSERT_TRUE(c->CheckpointBegin("heat", 2).ok());
  ASSERT_TRUE(c->CheckpointMem(Select::kAll, {}).ok());
  EXPECT_FALSE(c->CheckpointEnd(false).ok());
  EXPECT_FALSE(Exists(ScratchFile(2)));
  EXPECT_FALSE(Exists(ScratchFile(2) + ".tmp"));
  EXPECT_EQ(c->RestartTest("heat", 0).value(), 1);
}

TEST_F(EngineTest, CallsOutOfOrder) {
  auto c = Open();
  Protect(*c);
  EXPECT_EQ(c->CheckpointEnd(true).code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->CheckpointMem(Select::kAll, {}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->RecoverMem(Select::kAll, {}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->RestartEnd(true).code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->RouteFile("x").status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(c->CheckpointBegin("heat", 1).ok());
  EXPECT_EQ(c->CheckpointBegin("heat", 2).code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->CheckpointWait().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(c->CheckpointMem(Select::kAll, {}).ok());
  ASSERT_TRUE(c->CheckpointEnd(true).ok());
  ASSERT_TRUE(c->RestartBegin("heat", 1).ok());
  EXPECT_EQ(c->RestartBegin("heat", 1).code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->CheckpointBegin("heat", 2).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(c->RestartEnd(true).ok());
}

TEST_F(EngineTest, BadNamesAndVersions) {
  auto c = Open();
  Protect(*c);
  for (const char* n : {"../x", "a/b", "..", "", "x y"}) {
    EXPECT_EQ(c->Checkpoint(n, 1).code(), Code::kInvalidArgument) << n;
    EXPECT_EQ(c->RestartTest(n, 0).status().code(), Code::kInvalidArgument) << n;
  }
  EXPECT_EQ(c->Checkpoint("heat", -1).code(), Code::kInvalidArgument);
  EXPECT_EQ(c->RestartTest("heat", -2).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(Exists(dir_ / "x"));
  EXPECT_FALSE(Exists(scratch() + "/heat/v1"));
}

TEST_F(EngineTest, RegionSmallerThanSavedData) {
  auto c = Open();
  Protect(*c);
  CheckpointVersions(*c, 1);
  std::vector<double> small(10, -1.0);
  ASSERT_TRUE(c->Protect(0, small.data(), small.size(), sizeof(double), "").ok());
  step_ = -5;
  Status st = c->Restart("heat", 1);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("smaller"), std::string::npos);
  EXPECT_EQ(small[0], -1.0);  // nothing was touched
  EXPECT_EQ(step_, -5);
}

TEST_F(EngineTest, SelectiveCheckpointAndRecover) {
  auto c = Open();
  Protect(*c);
  int extra = 77;
  ASSERT_TRUE(c->Protect(2, &extra, 1, sizeof(extra), "").ok());
  Fill(4);
  ASSERT_TRUE(c->CheckpointBegin("heat", 4).ok());
  ASSERT_TRUE(c->CheckpointMem(Select::kSome, {0}).ok());
  ASSERT_TRUE(c->CheckpointMem(Select::kRest, {0, 2}).ok());  // region 1
  ASSERT_TRUE(c->CheckpointEnd(true).ok());
  EXPECT_EQ(c->CheckpointMem(Select::kSome, {9}).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(c->CheckpointBegin("heat", 5).ok());
  EXPECT_EQ(c->CheckpointMem(Select::kSome, {9}).code(), Code::kInvalidArgument);
  EXPECT_FALSE(c->CheckpointEnd(true).ok());

  Fill(0);
  extra = 0;
  ASSERT_TRUE(c->RestartBegin("heat", 4).ok());
  EXPECT_EQ(c->RecoverSize(0).value(), static_cast<long long>(data_.size() * sizeof(double)));
  EXPECT_EQ(c->RecoverSize(1).value(), static_cast<long long>(sizeof(int)));
  EXPECT_EQ(c->RecoverSize(2).status().code(), Code::kNotFound);
  ASSERT_TRUE(c->RecoverMem(Select::kSome, {1}).ok());
  EXPECT_EQ(step_, 4);
  EXPECT_EQ(data_[0], 0.0);
  ASSERT_TRUE(c->RecoverMem(Select::kRest, {1}).ok());
  EXPECT_TRUE(HoldsVersion(4));
  EXPECT_EQ(c->RecoverMem(Select::kSome, {2}).code(), Code::kNotFound);
  ASSERT_TRUE(c->RestartEnd(true).ok());
}

TEST_F(EngineTest, SerializedRegions) {
  auto c = Open();
  std::vector<std::string> words{"alpha", "beta", "gamma"};
  auto ser = [&](std::ostream& os) {
    os << words.size() << "\n";
    for (auto& w : words) os << w << "\n";
  };
  auto deser = [&](std::istream& is) {
    size_t n = 0;
    is >> n;
    words.assign(n, "");
    for (auto& w : words) is >> w;
    return static_cast<bool>(is);
  };
  ASSERT_TRUE(c->ProtectSerialized(0, ser, deser, "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  words = {"x"};
  ASSERT_TRUE(c->Restart("heat", 1).ok());
  EXPECT_EQ(words, (std::vector<std::string>{"alpha", "beta", "gamma"}));
  ASSERT_TRUE(c->ProtectSerialized(
                   0, ser, [](std::istream&) { return false; }, "")
                  .ok());
  EXPECT_FALSE(c->Restart("heat", 1).ok());
}

TEST_F(EngineTest, NamedGroupsAreSeparateCheckpoints) {
  auto c = Open();
  int a = 1, b = 2;
  ASSERT_TRUE(c->Protect(0, &a, 1, sizeof(a), "").ok());
  ASSERT_TRUE(c->Protect(0, &b, 1, sizeof(b), "other").ok());
  ASSERT_TRUE(c->Checkpoint("main", 1).ok());   // default group
  ASSERT_TRUE(c->Checkpoint("other", 1).ok());  // group "other"
  a = b = 0;
  ASSERT_TRUE(c->Restart("other", 1).ok());
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 2);
  ASSERT_TRUE(c->Restart("main", 1).ok());
  EXPECT_EQ(a, 1);
  ASSERT_TRUE(c->Unprotect(0, "other").ok());
  EXPECT_EQ(c->Unprotect(0, "other").code(), Code::kNotFound);
}

TEST_F(EngineTest, RoutedFiles) {
  auto c = Open();
  ASSERT_TRUE(c->CheckpointBegin("heat", 1).ok());
  auto path = c->RouteFile("results/state.txt");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path.value().rfind(scratch(), 0), 0u);
  EXPECT_EQ(c->RouteFile("results/state.txt").value(), path.value());
  ASSERT_TRUE(WriteText(path.value(), "file mode payload"));
  ASSERT_TRUE(c->CheckpointEnd(true).ok());  // pure file mode: no Checkpoint_mem

  ASSERT_EQ(c->RestartTest("heat", 0).value(), 1);
  ASSERT_TRUE(c->RestartBegin("heat", 1).ok());
  auto back = c->RouteFile("results/state.txt");
  ASSERT_TRUE(back.ok());
  std::ifstream in(back.value());
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "file mode payload");
  EXPECT_EQ(c->RouteFile("other").status().code(), Code::kNotFound);
  ASSERT_TRUE(c->RestartEnd(true).ok());

  // A routed file that is modified after the commit makes the version unusable.
  ASSERT_TRUE(WriteText(back.value(), "tampered"));
  ASSERT_TRUE(Env::Default()->RemoveTree(persistent()).ok());
  EXPECT_EQ(c->RestartTest("heat", 0).status().code(), Code::kNotFound);
}

TEST_F(EngineTest, RoutedFileNeverWrittenFailsTheCheckpoint) {
  auto c = Open();
  ASSERT_TRUE(c->CheckpointBegin("heat", 1).ok());
  ASSERT_TRUE(c->RouteFile("never").ok());
  EXPECT_FALSE(c->CheckpointEnd(true).ok());
  EXPECT_FALSE(Exists(ScratchFile(1)));
}

TEST_F(EngineTest, ObserversSeeCommits) {
  auto c = Open();
  Protect(*c);
  std::vector<long long> seen;
  ASSERT_TRUE(c->RegisterObserver(0, [&](const std::string& n, long long v) {
                 EXPECT_EQ(n, "heat");
                 seen.push_back(v);
               }).ok());
  EXPECT_FALSE(c->RegisterObserver(7, [](const std::string&, long long) {}).ok());
  CheckpointVersions(*c, 2);
  EXPECT_EQ(seen, (std::vector<long long>{1, 2}));
}

TEST_F(EngineTest, TargetRankReadsAnotherRanksCheckpoint) {
  {
    auto c = Open("", 3);
    Protect(*c);
    CheckpointVersions(*c, 2);
  }
  auto c = Open("", 0);
  Protect(*c);
  EXPECT_FALSE(c->RestartTest("heat", 0).ok());
  ASSERT_EQ(c->RestartTest("heat", 0, 3).value(), 2);
  Fill(0);
  ASSERT_TRUE(c->Restart("heat", 2, 3).ok());
  EXPECT_TRUE(HoldsVersion(2));
}

TEST_F(EngineTest, CleanupRemovesOwnScratchOnly) {
  auto c = Open();
  Protect(*c);
  CheckpointVersions(*c, 2);
  ASSERT_TRUE(c->Cleanup("heat").ok());
  EXPECT_FALSE(Exists(ScratchFile(1)));
  EXPECT_FALSE(Exists(ScratchFile(2)));
  EXPECT_TRUE(Exists(PersistentFile(2)));
}

TEST_F(EngineTest, LeftoverTemporariesRemovedAtInit) {
  {
    auto c = Open();
    Protect(*c);
    CheckpointVersions(*c, 1);
  }
  ASSERT_TRUE(Env::Default()->CreateDirs(Layout(scratch()).VersionDir("heat", 2)).ok());
  ASSERT_TRUE(WriteText(ScratchFile(2) + ".tmp", "half"));
  auto c = Open();
  EXPECT_FALSE(Exists(ScratchFile(2) + ".tmp"));
  EXPECT_TRUE(Exists(ScratchFile(1)));
}

TEST_F(EngineTest, ConfigErrorsFailCreate) {
  auto missing = Client::Create(MakeSingleComm(0), dir_ / "nope.cfg");
  EXPECT_FALSE(missing.ok());
  std::string cfg = dir_ / "bad.cfg";
  ASSERT_TRUE(WriteText(cfg, "scratch = " + scratch() + "\nmode = fast\n"));
  EXPECT_EQ(Client::Create(MakeSingleComm(0), cfg).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(WriteText(dir_ / "afile", "x"));
  ASSERT_TRUE(WriteText(cfg, "scratch = " + (dir_ / "afile") + "\n"));
  EXPECT_FALSE(Client::Create(MakeSingleComm(0), cfg).ok());
}

TEST_F(EngineTest, FinalizedClientRefusesCalls) {
  auto c = Open();
  Protect(*c);
  ASSERT_TRUE(c->Finalize(true).ok());
  EXPECT_EQ(c->Checkpoint("heat", 1).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace cairn
