// Tests of transparent images through the levels: the backend's flush stage
// (pipeline/flush.h), the flush plan and the restart order (tree/levels.h). Real files in
// temporary directories.
#include "tree/levels.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <thread>
#include <vector>

#include "coord/manifest.h"
#include "env/env.h"
#include "pipeline/flush.h"
#include "test_util.h"

namespace cairn {
namespace {

using cairn::testing::ReadText;
using cairn::testing::TempDir;
using cairn::testing::WriteText;

TEST(Flush, CopiesInOrderDurablyAndIsIdempotent) {
  TempDir from, to;
  ASSERT_TRUE(WriteText(from / "a.cimg", "image a"));
  ASSERT_TRUE(WriteText(from / "job.v1.manifest", "manifest"));
  ASSERT_TRUE(Env::Default()->CreateDirs(to / "p").ok());
  ASSERT_TRUE(WriteText(to.path() + "/p/a.cimg.tmp", "half"));  // a killed backend's leftover
  ASSERT_TRUE(WriteText(to.path() + "/p/old.cimg", "old"));
  pipeline::FlushRequest r{
      from.path(), to.path() + "/p", {"a.cimg", "job.v1.manifest"}, {"old.cimg", "gone.cimg"}};
  std::atomic<uint64_t> progress{0};
  ASSERT_TRUE(pipeline::Flush(r, Env::Default(), nullptr, &progress).ok());
  EXPECT_EQ(ReadText(to.path() + "/p/a.cimg"), "image a");
  EXPECT_EQ(ReadText(to.path() + "/p/job.v1.manifest"), "manifest");
  EXPECT_FALSE(Env::Default()->Exists(to.path() + "/p/a.cimg.tmp"));
  EXPECT_FALSE(Env::Default()->Exists(to.path() + "/p/old.cimg"));
  EXPECT_EQ(progress.load(), 15u);
  struct stat st;
  ASSERT_EQ(::stat((to.path() + "/p/a.cimg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Again: nothing is copied (same sizes).
  progress = 0;
  ASSERT_TRUE(pipeline::Flush(r, Env::Default(), nullptr, &progress).ok());
  EXPECT_EQ(progress.load(), 0u);
}

TEST(Flush, ConcurrentFlushesOfOneDirectoryRunOneAfterTheOther) {
  TempDir from, to;
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i) {
    names.push_back("r" + std::to_string(i) + ".cimg");
    ASSERT_TRUE(WriteText(from / names.back(), std::string(1u << 20, static_cast<char>('a' + i))));
  }
  names.push_back("job.v1.manifest");
  ASSERT_TRUE(WriteText(from / names.back(), "manifest"));
  pipeline::FlushRequest r{from.path(), to.path() + "/p", names, {}};
  // Without the lock the second flusher renames the first one's .tmp away (ENOENT).
  std::vector<Status> results(4);
  std::vector<std::thread> flushers;
  for (auto& st : results) flushers.emplace_back([&] { st = pipeline::Flush(r, Env::Default()); });
  for (auto& t : flushers) t.join();
  for (const Status& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(ReadText(to.path() + "/p/" + names[static_cast<size_t>(i)]),
              std::string(1u << 20, static_cast<char>('a' + i)));
    EXPECT_FALSE(
        Env::Default()->Exists(to.path() + "/p/" + names[static_cast<size_t>(i)] + ".tmp"));
  }
  struct stat st;
  ASSERT_EQ(::stat((to.path() + "/p/" + pipeline::kFlushLockName).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Flush, RefusesNamesThatLeaveTheDirectoryAndRelativeDirectories) {
  TempDir from, to;
  ASSERT_TRUE(WriteText(from / "a.cimg", "a"));
  for (const char* bad : {"../a.cimg", "x/a.cimg", "..", ".", ""}) {
    pipeline::FlushRequest r{from.path(), to.path(), {bad}, {}};
    EXPECT_EQ(pipeline::Flush(r, Env::Default()).code(), Code::kInvalidArgument) << bad;
    pipeline::FlushRequest rm{from.path(), to.path(), {}, {bad}};
    EXPECT_EQ(pipeline::Flush(rm, Env::Default()).code(), Code::kInvalidArgument) << bad;
  }
  pipeline::FlushRequest rel{"relative", to.path(), {"a.cimg"}, {}};
  EXPECT_EQ(pipeline::Flush(rel, Env::Default()).code(), Code::kInvalidArgument);
  EXPECT_FALSE(Env::Default()->Exists(to / "a.cimg"));  // nothing changed
  pipeline::FlushRequest missing{from.path(), to.path(), {"nope.cimg"}, {}};
  EXPECT_EQ(pipeline::Flush(missing, Env::Default()).code(), Code::kNotFound);
}

// A tree checkpoint of version v in `dir`: two images and the manifest naming them.
void WriteTree(const std::string& dir, uint64_t v) {
  coord::Manifest m;
  m.kind = "tree";
  m.version = v;
  m.participants = 2;
  for (int r = 0; r < 2; ++r) {
    const std::string img =
        dir + "/p-" + std::to_string(10 + r) + ".v" + std::to_string(v) + ".cimg";
    ASSERT_TRUE(WriteText(img, "tree image " + std::to_string(v)));
    coord::ManifestImage im;
    im.rank = r;
    im.bytes = 12;
    im.hash = "-";
    im.path = img;
    im.pid = 10 + r;
    m.images.push_back(im);
  }
  ASSERT_TRUE(coord::WriteManifest(dir, m).ok());
}

TEST(Levels, PlanFlushCopiesWhatPersistentLacksAndKeepsMaxVersions) {
  TempDir scratch, persistent;
  Config cfg;
  cfg.scratch = scratch.path();
  cfg.persistent = persistent.path();
  cfg.max_versions = 2;
  const std::string dir = scratch / "job";
  ASSERT_TRUE(tree::SaveLevels(dir, cfg).ok());
  auto levels = tree::LoadLevels(dir);
  ASSERT_TRUE(levels.ok()) << levels.status().ToString();
  EXPECT_EQ(levels.value().persistent, persistent / "job");
  EXPECT_EQ(tree::LoadLevels(scratch.path()).status().code(), Code::kNotFound);
  for (uint64_t v = 1; v <= 3; ++v) WriteTree(dir, v);
  // Version 1 is already on persistent; 2 and 3 are not.
  ASSERT_TRUE(Env::Default()->CreateDirs(persistent / "job").ok());
  WriteTree(persistent / "job", 1);
  auto plan = tree::PlanFlush(levels.value());
  ASSERT_TRUE(plan.ok());
  const std::vector<std::string> copy = {"p-10.v2.cimg", "p-11.v2.cimg", "job.v2.manifest",
                                         "p-10.v3.cimg", "p-11.v3.cimg", "job.v3.manifest"};
  EXPECT_EQ(plan.value().copy, copy);
  const std::vector<std::string> remove = {"job.v1.manifest", "p-10.v1.cimg", "p-11.v1.cimg"};
  EXPECT_EQ(plan.value().remove, remove);
  // A torn tree (an image missing) is not flushed.
  ASSERT_TRUE(Env::Default()->RemoveFile(dir + "/p-11.v3.cimg").ok());
  plan = tree::PlanFlush(levels.value());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(std::count(plan.value().copy.begin(), plan.value().copy.end(), "job.v3.manifest"), 0);
}

TEST(Levels, RestartCandidatesNewestFirstFastestLevelFirst) {
  TempDir scratch, persistent;
  ASSERT_TRUE(WriteText(scratch / "prog-5.v2.cimg", "s2"));
  ASSERT_TRUE(WriteText(persistent / "prog-5.v1.cimg", "p1"));
  ASSERT_TRUE(WriteText(persistent / "prog-5.v2.cimg", "p2"));
  ASSERT_TRUE(WriteText(persistent / "prog-5.v3.cimg", "p3"));
  ASSERT_TRUE(WriteText(persistent / "prog-5.v4.cimg.tmp", "a partial copy"));
  auto c = tree::RestartCandidates({scratch.path(), persistent.path()});
  std::vector<std::string> got;
  for (const auto& x : c) got.push_back(x.path);
  const std::vector<std::string> want = {persistent / "prog-5.v3.cimg", scratch / "prog-5.v2.cimg",
                                         persistent / "prog-5.v2.cimg",
                                         persistent / "prog-5.v1.cimg"};
  EXPECT_EQ(got, want);
  EXPECT_FALSE(c.front().tree);
  // A job with tree checkpoints is restarted from its manifests.
  WriteTree(persistent.path(), 7);
  c = tree::RestartCandidates({scratch.path(), persistent.path()});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].tree);
  EXPECT_EQ(c[0].path, persistent / "job.v7.manifest");
}

TEST(Levels, FirstVersionGoesOnFromPersistent) {
  TempDir scratch, persistent;
  Config cfg;
  cfg.scratch = scratch.path();
  cfg.persistent = persistent.path();
  const std::string dir = scratch / "job.node1";
  ASSERT_TRUE(tree::SaveLevels(dir, cfg).ok());
  auto levels = tree::LoadLevels(dir);
  ASSERT_TRUE(levels.ok()) << levels.status().ToString();
  EXPECT_EQ(levels.value().persistent, persistent / "job.node1");
  EXPECT_EQ(tree::FirstVersion(levels.value()), 1u);  // nothing on persistent yet
  ASSERT_TRUE(Env::Default()->CreateDirs(persistent / "job.node1").ok());
  WriteTree(persistent / "job.node1", 3);
  WriteTree(persistent / "job.node1", 4);
  // Scratch wiped (it holds nothing): the next checkpoint is 5, not 1.
  EXPECT_EQ(tree::FirstVersion(levels.value()), 5u);
  // Without a persistent level, numbering is scratch's own.
  tree::Levels alone = levels.value();
  alone.persistent.clear();
  EXPECT_EQ(tree::FirstVersion(alone), 1u);
}

}  // namespace
}  // namespace cairn
