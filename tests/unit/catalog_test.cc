#include "storage/catalog.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/writer.h"
#include "storage/layout.h"
#include "storage/level.h"
#include "test_util.h"

namespace cairn {
namespace {

using testing::FlipByte;
using testing::TempDir;
using testing::WriteText;

class CatalogTest : public ::testing::Test {
 protected:
  Env* env() { return Env::Default(); }
  const Layout& layout() const { return layout_; }

  // Writes <root>/<name>/v<version>/r<rank>.ckpt (or `file_name` instead) with one memory
  // region and, with `routed`, one routed file r<rank>.f0. Returns the footer file hash.
  uint64_t WriteRank(const std::string& name, long long version, int rank, int nranks,
                     bool routed = false, const std::string& file_name = "",
                     long long header_version = -1) {
    const std::string vdir = layout_.VersionDir(name, version);
    EXPECT_TRUE(env()->CreateDirs(vdir).ok());
    const std::string path =
        file_name.empty() ? layout_.RankFile(name, version, rank) : JoinPath(vdir, file_name);
    auto f = env()->NewWritableFile(path);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    format::CheckpointFileWriter w(std::move(f.value()), nullptr, name, rank, nranks,
                                   header_version >= 0 ? header_version : version, true);
    std::vector<int> data(1000, rank + 1);
    EXPECT_TRUE(
        w.AddBuffer(format::EntryKind::kMemory, 0, data.data(), data.size() * sizeof(int)).ok());
    if (routed) {
      const std::string stored = Layout::RoutedFileName(rank, 0);
      const std::string text = "routed data of rank " + std::to_string(rank);
      EXPECT_TRUE(WriteText(JoinPath(vdir, stored), text));
      auto d = format::DigestFile(env(), JoinPath(vdir, stored));
      EXPECT_TRUE(d.ok());
      w.AddFile("/app/out." + std::to_string(rank), stored, d.value().size, d.value().hash);
    }
    Status st = w.Finish(false, false);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return w.manifest().footer.file_hash;
  }

  void WriteCommit(const std::string& name, long long version, int nranks,
                   std::vector<uint64_t> hashes) {
    Level level(LevelKind::kPersistent, dir_.path(), env(), false);
    Status st = WriteCommitRecord(level, CommitRecord{name, version, nranks, std::move(hashes)});
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  Catalog Scan() {
    auto c = ScanDirectory(env(), dir_.path());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c.value()) : Catalog{};
  }

  // The one version of the one checkpoint in the catalog (a copy).
  static CatalogVersion Only(const Catalog& c) {
    EXPECT_EQ(c.checkpoints.size(), 1u);
    if (c.checkpoints.size() != 1) return {};
    EXPECT_EQ(c.checkpoints[0].versions.size(), 1u);
    if (c.checkpoints[0].versions.size() != 1) return {};
    return c.checkpoints[0].versions[0];
  }

  TempDir dir_;
  Layout layout_{dir_.path()};
};

TEST_F(CatalogTest, EmptyDirectory) {
  Catalog c = Scan();
  EXPECT_EQ(c.root, dir_.path());
  EXPECT_TRUE(c.checkpoints.empty());
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(CatalogTest, MissingDirectoryIsNotFound) {
  auto c = ScanDirectory(env(), dir_ / "missing");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
}

TEST_F(CatalogTest, FileIsNotADirectory) {
  ASSERT_TRUE(WriteText(dir_ / "plain", "x"));
  auto c = ScanDirectory(env(), dir_ / "plain");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kIOError);
}

TEST_F(CatalogTest, CommittedWithoutCommitRecord) {
  WriteRank("ck", 1, 0, 2, /*routed=*/true);
  WriteRank("ck", 1, 1, 2);
  Catalog c = Scan();
  const CatalogVersion v = Only(c);
  EXPECT_EQ(c.checkpoints[0].name, "ck");
  EXPECT_EQ(c.checkpoints[0].dir, dir_ / "ck");
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.dir, layout().VersionDir("ck", 1));
  EXPECT_EQ(v.state, VersionState::kCommitted) << v.reason;
  EXPECT_EQ(VersionStateName(v.state), std::string("committed"));
  EXPECT_TRUE(v.reason.empty());
  EXPECT_EQ(v.nranks, 2);
  ASSERT_EQ(v.ranks.size(), 2u);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(v.ranks[r].rank, r);
    EXPECT_EQ(v.ranks[r].path, layout().RankFile("ck", 1, r));
    EXPECT_TRUE(v.ranks[r].ok) << v.ranks[r].problem;
    EXPECT_TRUE(v.ranks[r].opened);
    EXPECT_EQ(v.ranks[r].nranks, 2);
    auto st = env()->Stat(v.ranks[r].path);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(v.ranks[r].size, st.value().size);
  }
  ASSERT_EQ(v.routed.size(), 1u);
  EXPECT_EQ(v.routed[0].name, "r0.f0");
  EXPECT_EQ(v.routed[0].size, std::string("routed data of rank 0").size());
  EXPECT_TRUE(v.temporaries.empty());
  EXPECT_TRUE(v.missing_ranks.empty());
  EXPECT_FALSE(v.has_commit);
  EXPECT_FALSE(v.commit.has_value());
  EXPECT_EQ(v.DataBytes(), v.ranks[0].size + v.ranks[1].size + v.routed[0].size);
  EXPECT_EQ(v.TemporaryBytes(), 0u);
}

TEST_F(CatalogTest, CommittedWithCommitRecord) {
  uint64_t h0 = WriteRank("ck", 4, 0, 2);
  uint64_t h1 = WriteRank("ck", 4, 1, 2);
  WriteCommit("ck", 4, 2, {h0, h1});
  Catalog c = Scan();
  const CatalogVersion v = Only(c);
  EXPECT_EQ(v.state, VersionState::kCommitted) << v.reason;
  EXPECT_TRUE(v.has_commit);
  ASSERT_TRUE(v.commit.has_value());
  EXPECT_EQ(v.commit->nranks, 2);
  EXPECT_TRUE(v.commit_problem.empty());
  EXPECT_GT(v.commit_size, 0u);
}

TEST_F(CatalogTest, PartialWhenRanksAreMissing) {
  WriteRank("ck", 2, 0, 4);
  WriteRank("ck", 2, 2, 4);
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kPartial);
  EXPECT_EQ(VersionStateName(v.state), std::string("partial"));
  EXPECT_EQ(v.nranks, 4);
  EXPECT_EQ(v.ranks.size(), 2u);
  EXPECT_EQ(v.missing_ranks, (std::vector<int>{1, 3}));
  EXPECT_NE(v.reason.find("1, 3"), std::string::npos) << v.reason;
}

TEST_F(CatalogTest, CommitRecordWithMissingRankIsPartial) {
  uint64_t h0 = WriteRank("ck", 2, 0, 2);
  WriteCommit("ck", 2, 2, {h0, 12345});
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kPartial) << v.reason;
  EXPECT_EQ(v.missing_ranks, (std::vector<int>{1}));
}

TEST_F(CatalogTest, IncompleteWithOnlyTemporaryFiles) {
  ASSERT_TRUE(env()->CreateDirs(layout().VersionDir("ck", 3)).ok());
  ASSERT_TRUE(WriteText(layout().RankFile("ck", 3, 0) + kTmpSuffix, "half written"));
  ASSERT_TRUE(WriteText(layout().RoutedFile("ck", 3, 0, 0) + kTmpSuffix, "routed"));
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kIncomplete);
  EXPECT_EQ(VersionStateName(v.state), std::string("incomplete"));
  EXPECT_TRUE(v.ranks.empty());
  EXPECT_TRUE(v.routed.empty());
  ASSERT_EQ(v.temporaries.size(), 2u);
  EXPECT_EQ(v.temporaries[0].name, "r0.ckpt.tmp");
  EXPECT_EQ(v.temporaries[1].name, "r0.f0.tmp");
  EXPECT_EQ(v.TemporaryBytes(), 12u + 6u);
  EXPECT_EQ(v.nranks, 0);
}

TEST_F(CatalogTest, TemporariesBesideACompleteVersionAreListed) {
  WriteRank("ck", 1, 0, 1);
  ASSERT_TRUE(WriteText(layout().RankFile("ck", 1, 0) + kTmpSuffix, "leftover"));
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kCommitted);
  EXPECT_EQ(v.temporaries.size(), 1u);
}

TEST_F(CatalogTest, DamagedWhenAHeaderByteIsFlipped) {
  WriteRank("ck", 1, 0, 2);
  WriteRank("ck", 1, 1, 2);
  ASSERT_TRUE(FlipByte(layout().RankFile("ck", 1, 1), 20));
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_EQ(VersionStateName(v.state), std::string("damaged"));
  ASSERT_EQ(v.ranks.size(), 2u);
  EXPECT_TRUE(v.ranks[0].ok);
  EXPECT_FALSE(v.ranks[1].ok);
  EXPECT_FALSE(v.ranks[1].opened);
  EXPECT_FALSE(v.ranks[1].problem.empty());
  EXPECT_EQ(v.reason, v.ranks[1].problem);
  EXPECT_EQ(v.nranks, 2);  // from the header that still opens
  EXPECT_TRUE(v.missing_ranks.empty());
}

TEST_F(CatalogTest, DamagedWhenTruncated) {
  WriteRank("ck", 1, 0, 1);
  const std::string path = layout().RankFile("ck", 1, 0);
  ASSERT_EQ(::truncate(path.c_str(), 100), 0);
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_EQ(v.nranks, 0);
}

TEST_F(CatalogTest, DataIsNotHashed) {
  WriteRank("ck", 1, 0, 1);
  // A byte of region data (not header, table or footer): only VerifyData would notice.
  ASSERT_TRUE(FlipByte(layout().RankFile("ck", 1, 0), format::kHeaderSize + 10));
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kCommitted) << v.reason;
}

TEST_F(CatalogTest, DamagedWhenTheHeaderDisagreesWithTheFileName) {
  WriteRank("ck", 6, 0, 1, false, "", /*header_version=*/5);
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_TRUE(v.ranks[0].opened);
  EXPECT_FALSE(v.ranks[0].ok);
  EXPECT_NE(v.ranks[0].problem.find("version 5"), std::string::npos) << v.ranks[0].problem;
}

TEST_F(CatalogTest, DamagedWhenRankFilesDisagreeOnNranks) {
  WriteRank("ck", 1, 0, 2);
  WriteRank("ck", 1, 1, 2);
  WriteRank("ck", 1, 2, 3);
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_EQ(v.nranks, 2);
  EXPECT_TRUE(v.ranks[0].ok);
  EXPECT_TRUE(v.ranks[1].ok);
  EXPECT_FALSE(v.ranks[2].ok);
}

TEST_F(CatalogTest, DamagedWhenTheCommitRecordListsOtherNranks) {
  uint64_t h0 = WriteRank("ck", 1, 0, 2);
  uint64_t h1 = WriteRank("ck", 1, 1, 2);
  WriteCommit("ck", 1, 3, {h0, h1, 7});
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_FALSE(v.commit.has_value());
  EXPECT_FALSE(v.commit_problem.empty());
  EXPECT_EQ(v.reason, v.commit_problem);
}

TEST_F(CatalogTest, DamagedWhenTheCommitRecordIsCorrupt) {
  uint64_t h0 = WriteRank("ck", 1, 0, 1);
  WriteCommit("ck", 1, 1, {h0});
  ASSERT_TRUE(FlipByte(layout().CommitRecord("ck", 1), 3));
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_TRUE(v.has_commit);
  EXPECT_FALSE(v.commit_problem.empty());
}

TEST_F(CatalogTest, DamagedWhenARankFileIsNotTheCommittedOne) {
  uint64_t h0 = WriteRank("ck", 1, 0, 2);
  WriteRank("ck", 1, 1, 2);
  WriteCommit("ck", 1, 2, {h0, 42});
  const CatalogVersion v = Only(Scan());
  EXPECT_EQ(v.state, VersionState::kDamaged);
  EXPECT_TRUE(v.ranks[0].ok);
  EXPECT_FALSE(v.ranks[1].ok);
  EXPECT_NE(v.ranks[1].problem.find("commit record"), std::string::npos);
}

TEST_F(CatalogTest, SortsNamesAndVersionsAndIgnoresUnknownEntries) {
  WriteRank("beta", 10, 0, 1);
  WriteRank("beta", 2, 0, 1);
  WriteRank("alpha", 7, 0, 1);
  WriteRank("alpha", 0, 0, 1);
  // Things that are not part of the layout.
  ASSERT_TRUE(WriteText(dir_ / "README", "hello"));
  ASSERT_TRUE(env()->CreateDirs(dir_ / "lost+found/v1").ok());
  ASSERT_TRUE(env()->CreateDirs(dir_ / "empty_name").ok());
  ASSERT_TRUE(env()->CreateDirs(dir_ / "alpha/notaversion").ok());
  ASSERT_TRUE(env()->CreateDirs(dir_ / "alpha/v01").ok());
  ASSERT_TRUE(WriteText(dir_ / "alpha/v3", "a file, not a directory"));
  ASSERT_TRUE(WriteText(layout().VersionDir("alpha", 7) + "/notes.txt", "x"));
  ASSERT_TRUE(WriteText(layout().VersionDir("alpha", 7) + "/r01.ckpt", "x"));
  ASSERT_TRUE(env()->CreateDirs(layout().VersionDir("alpha", 7) + "/r5.ckpt").ok());

  Catalog c = Scan();
  ASSERT_EQ(c.checkpoints.size(), 2u);
  EXPECT_EQ(c.checkpoints[0].name, "alpha");
  EXPECT_EQ(c.checkpoints[1].name, "beta");
  ASSERT_EQ(c.checkpoints[0].versions.size(), 2u);
  EXPECT_EQ(c.checkpoints[0].versions[0].version, 0);
  EXPECT_EQ(c.checkpoints[0].versions[1].version, 7);
  ASSERT_EQ(c.checkpoints[1].versions.size(), 2u);
  EXPECT_EQ(c.checkpoints[1].versions[0].version, 2);
  EXPECT_EQ(c.checkpoints[1].versions[1].version, 10);
  const CatalogVersion& v7 = c.checkpoints[0].versions[1];
  EXPECT_EQ(v7.state, VersionState::kCommitted) << v7.reason;
  EXPECT_EQ(v7.ranks.size(), 1u);
  EXPECT_TRUE(v7.routed.empty());
  for (const auto& ck : c.checkpoints) {
    for (const auto& v : ck.versions) EXPECT_EQ(v.state, VersionState::kCommitted);
  }
}

TEST_F(CatalogTest, ScanVersionDirectly) {
  WriteRank("ck", 9, 0, 1, true);
  auto v = ScanVersion(env(), "ck", 9, layout().VersionDir("ck", 9));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.value().state, VersionState::kCommitted);
  EXPECT_EQ(v.value().routed.size(), 1u);
  EXPECT_FALSE(ScanVersion(env(), "ck", 8, layout().VersionDir("ck", 8)).ok());
}

TEST(ParseRoutedFile, Names) {
  auto id = ParseRoutedFile("r3.f12");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->rank, 3);
  EXPECT_EQ(id->k, 12);
  EXPECT_TRUE(ParseRoutedFile("r0.f0").has_value());
  for (const char* bad : {"r3.f12.tmp", "r3.ckpt", "r03.f1", "r3.f01", "r-1.f0", "r3.f-1", "r3.f",
                          "r.f1", "x3.f1", "r3f1", "COMMIT", ""}) {
    EXPECT_FALSE(ParseRoutedFile(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace cairn
