#include <gtest/gtest.h>
#include <sys/stat.h>

#include "storage/layout.h"
#include "storage/level.h"
#include "test_util.h"

namespace cairn {
namespace {

using cairn::testing::FlipByte;
using cairn::testing::TempDir;
using cairn::testing::WriteText;

TEST(Layout, Paths) {
  Layout l("/s");
  EXPECT_EQ(l.VersionDir("heat", 3), "/s/heat/v3");
  EXPECT_EQ(l.RankFile("heat", 3, 12), "/s/heat/v3/r12.ckpt");
  EXPECT_EQ(l.RoutedFile("heat", 3, 1, 0), "/s/heat/v3/r1.f0");
  EXPECT_EQ(l.CommitRecord("heat", 3), "/s/heat/v3/COMMIT");
}

TEST(Layout, Parsing) {
  EXPECT_EQ(Layout::ParseVersionDir("v0"), 0);
  EXPECT_EQ(Layout::ParseVersionDir("v123"), 123);
  for (const char* bad : {"v", "x1", "v-1", "v01", "v1a", "v 1", "v99999999999999999999"}) {
    EXPECT_FALSE(Layout::ParseVersionDir(bad).has_value()) << bad;
  }
  EXPECT_EQ(Layout::ParseRankFile("r0.ckpt"), 0);
  EXPECT_EQ(Layout::ParseRankFile("r17.ckpt"), 17);
  for (const char* bad : {"r.ckpt", "r1.ckpt.tmp", "r1.f0", "x1.ckpt", "r-1.ckpt"}) {
    EXPECT_FALSE(Layout::ParseRankFile(bad).has_value()) << bad;
  }
  EXPECT_TRUE(Layout::BelongsToRank("r1.f0", 1));
  EXPECT_TRUE(Layout::BelongsToRank("r1.ckpt.tmp", 1));
  EXPECT_FALSE(Layout::BelongsToRank("r11.ckpt", 1));
  EXPECT_TRUE(Layout::IsTemporary("r1.ckpt.tmp"));
}

class LevelTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(level_.Prepare().ok()); }
  void MakeVersion(long long v, int rank, bool commit) {
    ASSERT_TRUE(level_.PrepareVersion("heat", v).ok());
    std::string f = level_.layout().RankFile("heat", v, rank);
    ASSERT_TRUE(WriteText(f + kTmpSuffix, "data"));
    if (commit) {
      ASSERT_TRUE(level_.Publish({f}).ok());
    }
  }
  TempDir dir_;
  Level level_{LevelKind::kScratch, dir_ / "scratch", Env::Default(), true};
};

TEST_F(LevelTest, PrepareMakesPrivateDirectory) {
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "scratch").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(LevelTest, PrepareFailsOnAFile) {
  ASSERT_TRUE(WriteText(dir_ / "file", "x"));
  Level bad(LevelKind::kScratch, dir_ / "file", Env::Default(), true);
  Status st = bad.Prepare();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("scratch"), std::string::npos);
}

TEST_F(LevelTest, OnlyCommittedVersionsAreListed) {
  MakeVersion(1, 0, true);
  MakeVersion(2, 0, true);
  MakeVersion(3, 0, false);  // still .tmp
  MakeVersion(4, 1, true);   // another rank
  EXPECT_EQ(level_.ListVersions("heat", 0), (std::vector<long long>{2, 1}));
  EXPECT_EQ(level_.ListVersions("heat", 0, 1), (std::vector<long long>{1}));
  EXPECT_EQ(level_.ListVersions("heat", 1), (std::vector<long long>{4}));
  EXPECT_TRUE(level_.ListVersions("other", 0).empty());
  EXPECT_EQ(level_.ListNames(), (std::vector<std::string>{"heat"}));
}

TEST_F(LevelTest, RemoveTemporariesOnlyTouchesOwnRank) {
  MakeVersion(3, 0, false);
  MakeVersion(3, 1, false);
  ASSERT_TRUE(level_.RemoveTemporaries(0).ok());
  EXPECT_FALSE(Env::Default()->Exists(level_.layout().RankFile("heat", 3, 0) + kTmpSuffix));
  EXPECT_TRUE(Env::Default()->Exists(level_.layout().RankFile("heat", 3, 1) + kTmpSuffix));
}

TEST_F(LevelTest, RankZeroRemovesAHalfWrittenCommitRecord) {
  MakeVersion(3, 1, true);
  std::string tmp = level_.layout().CommitRecord("heat", 3) + kTmpSuffix;
  ASSERT_TRUE(WriteText(tmp, "half"));
  ASSERT_TRUE(level_.RemoveTemporaries(1).ok());
  EXPECT_TRUE(Env::Default()->Exists(tmp));  // not rank 1's
  ASSERT_TRUE(level_.RemoveTemporaries(0).ok());
  EXPECT_FALSE(Env::Default()->Exists(tmp));
  EXPECT_TRUE(Env::Default()->Exists(level_.layout().RankFile("heat", 3, 1)));
}

TEST_F(LevelTest, RetentionKeepsNewest) {
  for (long long v = 1; v <= 5; ++v) MakeVersion(v, 0, true);
  MakeVersion(5, 1, true);
  ASSERT_TRUE(level_.Retain("heat", 0, 2, false).ok());
  EXPECT_EQ(level_.ListVersions("heat", 0), (std::vector<long long>{5, 4}));
  EXPECT_FALSE(Env::Default()->Exists(level_.layout().VersionDir("heat", 1)));
  EXPECT_EQ(level_.ListVersions("heat", 1), (std::vector<long long>{5}));
  ASSERT_TRUE(level_.Retain("heat", 0, 0, false).ok());  // 0 keeps all
  EXPECT_EQ(level_.ListVersions("heat", 0).size(), 2u);
}

TEST_F(LevelTest, CopyFileIn) {
  ASSERT_TRUE(WriteText(dir_ / "src", std::string(1 << 20, 'z')));
  ASSERT_TRUE(level_.CopyFileIn(dir_ / "src", dir_ / "scratch/dst").ok());
  auto st = Env::Default()->Stat(dir_ / "scratch/dst");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value().size, 1u << 20);
  EXPECT_EQ(st.value().mode, 0600u);
  EXPECT_FALSE(level_.CopyFileIn(dir_ / "missing", dir_ / "scratch/dst2").ok());
}

TEST_F(LevelTest, CommitRecordRoundTripAndTamper) {
  ASSERT_TRUE(level_.PrepareVersion("heat", 9).ok());
  CommitRecord rec{"heat", 9, 3, {1, 2, 0xffffffffffffffffULL}};
  ASSERT_TRUE(WriteCommitRecord(level_, rec).ok());
  std::string path = level_.layout().CommitRecord("heat", 9);
  auto back = ReadCommitRecord(Env::Default(), path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().nranks, 3);
  EXPECT_EQ(back.value().rank_hashes, rec.rank_hashes);
  ASSERT_TRUE(FlipByte(path, 20));
  EXPECT_EQ(ReadCommitRecord(Env::Default(), path).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST_F(LevelTest, RetentionNeverRemovesAtOrAboveTheFloor) {
  for (long long v = 1; v <= 5; ++v) MakeVersion(v, 0, true);
  // v5 and v4 are only committed on this rank; v3 is the newest complete everywhere.
  ASSERT_TRUE(level_.Retain("heat", 0, 1, false, /*floor=*/3).ok());
  EXPECT_EQ(level_.ListVersions("heat", 0), (std::vector<long long>{5, 4, 3}));
  ASSERT_TRUE(level_.Retain("heat", 0, 1, false, /*floor=*/-1).ok());  // unknown: keep all
  EXPECT_EQ(level_.ListVersions("heat", 0).size(), 3u);
}

}  // namespace
}  // namespace cairn
