// Async mode through cairn::Client with a real backend process (`cairn backend`,
// started automatically): snapshot semantics, completion, kill -9 of the backend,
// takeover, and status.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "client/client.h"
#include "format/reader.h"
#include "ipc/identity.h"
#include "storage/layout.h"
#include "test_util.h"

namespace cairn {
namespace {

using cairn::testing::TempDir;
using cairn::testing::WriteText;

class AsyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CAIRN_BACKEND_BIN", CAIRN_TEST_BACKEND_BIN, 1);
    ::setenv("CAIRN_RUNTIME_DIR", dir_.path().c_str(), 1);
    job_ = "asynctest-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::setenv("CAIRN_JOB_ID", job_.c_str(), 1);
  }
  void TearDown() override {
    KillBackends(SIGKILL);
    ::unsetenv("CAIRN_JOB_ID");
  }
  std::unique_ptr<Client> Open(const std::string& extra = "") {
    std::string cfg = dir_ / "cfg";
    EXPECT_TRUE(WriteText(cfg, "mode = async\nscratch = " + (dir_ / "scratch") + "\npersistent = " +
                                   (dir_ / "persistent") + "\nbackend_idle_timeout = 2\n" + extra));
    auto c = Client::Create(MakeSingleComm(0), cfg);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  // Pids of the live backends in this test's runtime directory: a live backend holds
  // the lock on its pid file (a killed one may linger as a zombie, so kill(pid, 0)
  // would not tell).
  std::vector<pid_t> Backends() {
    std::vector<pid_t> out;
    auto rd = ipc::RuntimeDir();
    if (!rd.ok()) return out;
    auto names = Env::Default()->ListDir(rd.value());
    if (!names.ok()) return out;
    for (const auto& n : names.value()) {
      if (n.size() > 4 && n.substr(n.size() - 4) == ".pid") {
        std::string path = rd.value() + "/" + n;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
        ::close(fd);
        std::ifstream in(path);
        long pid = 0;
        if (locked && in >> pid && pid > 0) out.push_back(static_cast<pid_t>(pid));
      }
    }
    return out;
  }
  void KillBackends(int sig) {
    for (pid_t p : Backends()) ::kill(p, sig);
  }
  std::string ScratchFile(long long v) const {
    return Layout(dir_ / "scratch").RankFile("heat", v, 0);
  }
  std::string PersistentFile(long long v) const {
    return Layout(dir_ / "persistent").RankFile("heat", v, 0);
  }
  TempDir dir_;
  std::string job_;
};

TEST_F(AsyncTest, CheckpointIsASnapshotAndCompletesInTheBackground) {
  auto c = Open();
  ASSERT_NE(c, nullptr);
  std::vector<double> data(1 << 20, 1.0);
  ASSERT_TRUE(c->Protect(0, data.data(), data.size(), sizeof(double), "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  // Modify right after the call returned: the checkpoint must hold the old values.
  std::fill(data.begin(), data.end(), 2.0);
  ASSERT_TRUE(c->CheckpointWait().ok());
  EXPECT_TRUE(c->CheckpointFinished());
  EXPECT_TRUE(Env::Default()->Exists(ScratchFile(1)));
  EXPECT_TRUE(Env::Default()->Exists(PersistentFile(1)));
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 1);
  ASSERT_TRUE(c->Restart("heat", 1).ok());
  EXPECT_EQ(data[0], 1.0);
  EXPECT_EQ(data.back(), 1.0);
  EXPECT_EQ(Backends().size(), 1u);
}

TEST_F(AsyncTest, ObserversAndRetention) {
  auto c = Open("scratch_versions = 1\nmax_versions = 2\n");
  ASSERT_NE(c, nullptr);
  int x = 0;
  std::vector<long long> seen;
  ASSERT_TRUE(
      c->RegisterObserver(0, [&](const std::string&, long long v) { seen.push_back(v); }).ok());
  ASSERT_TRUE(c->Protect(0, &x, 1, sizeof(x), "").ok());
  for (int v = 1; v <= 4; ++v) {
    x = v;
    ASSERT_TRUE(c->Checkpoint("heat", v).ok());
  }
  ASSERT_TRUE(c->CheckpointWait().ok());
  EXPECT_EQ(seen, (std::vector<long long>{1, 2, 3, 4}));
  // The newest version committed on every rank (here: this one) is never removed, so
  // at most scratch_versions + the in-flight margin remain; the oldest are gone.
  EXPECT_FALSE(Env::Default()->Exists(ScratchFile(1)));
  EXPECT_TRUE(Env::Default()->Exists(ScratchFile(4)));
  EXPECT_FALSE(Env::Default()->Exists(PersistentFile(1)));
  EXPECT_TRUE(Env::Default()->Exists(PersistentFile(4)));
}

TEST_F(AsyncTest, RoutedFilesAreHandedOverWithoutCopy) {
  auto c = Open();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->CheckpointBegin("heat", 3).ok());
  auto path = c->RouteFile("state.txt");
  ASSERT_TRUE(path.ok());
  ASSERT_TRUE(WriteText(path.value(), "file payload"));
  ASSERT_TRUE(c->CheckpointEnd(true).ok());
  ASSERT_TRUE(c->CheckpointWait().ok());
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 3);
  ASSERT_TRUE(c->RestartBegin("heat", 3).ok());
  auto back = c->RouteFile("state.txt");
  ASSERT_TRUE(back.ok());
  std::ifstream in(back.value());
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "file payload");
  ASSERT_TRUE(c->RestartEnd(true).ok());
}

TEST_F(AsyncTest, BackendDeathIsReportedAndANewBackendTakesOver) {
  auto c = Open();
  ASSERT_NE(c, nullptr);
  std::vector<char> data(64 << 20, 'a');
  ASSERT_TRUE(c->Protect(0, data.data(), data.size(), 1, "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  ASSERT_TRUE(c->CheckpointWait().ok());
  auto first = Backends();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(c->CheckpointBegin("heat", 2).ok());
  ASSERT_TRUE(c->CheckpointMem(Select::kAll, {}).ok());
  ASSERT_TRUE(c->CheckpointEnd(true).ok());
  ::kill(first[0], SIGKILL);  // the backend dies with version 2 possibly in flight
  Status w = c->CheckpointWait();
  // Version 2 is lost unless the backend finished it before the kill; either way the
  // application goes on, and version 1 is intact.
  if (!w.ok()) {
    EXPECT_EQ(w.code(), Code::kUnavailable) << w.ToString();
  }
  std::fill(data.begin(), data.end(), 'c');
  ASSERT_TRUE(c->Checkpoint("heat", 3).ok());  // a new backend takes over
  ASSERT_TRUE(c->CheckpointWait().ok());
  auto second = Backends();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0], first[0]);
  EXPECT_TRUE(Env::Default()->Exists(ScratchFile(1)));
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 3);
  std::fill(data.begin(), data.end(), 'z');
  ASSERT_TRUE(c->Restart("heat", 3).ok());
  EXPECT_EQ(data[12345], 'c');
}

TEST_F(AsyncTest, TwoJobsGetTwoBackends) {
  auto a = Open();
  ASSERT_NE(a, nullptr);
  ::setenv("CAIRN_JOB_ID", (job_ + "-other").c_str(), 1);
  auto b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Backends().size(), 2u);
}

TEST_F(AsyncTest, FullFastTierSpillsWhenNothingCanBeEvicted) {
  auto c = Open("scratch_capacity = 3M\nscratch_spill = " + (dir_ / "ssd") +
                "\npersistent_interval = -1\n");
  ASSERT_NE(c, nullptr);
  std::vector<char> data(2 << 20, 'x');
  ASSERT_TRUE(c->Protect(0, data.data(), data.size(), 1, "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  data[0] = 'y';
  ASSERT_TRUE(c->Checkpoint("heat", 2).ok());
  ASSERT_TRUE(c->CheckpointWait().ok());
  EXPECT_TRUE(Env::Default()->Exists(ScratchFile(1)));
  EXPECT_FALSE(Env::Default()->Exists(ScratchFile(2)));
  EXPECT_TRUE(Env::Default()->Exists(Layout(dir_ / "ssd").RankFile("heat", 2, 0)));
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 2);
  data[0] = 'z';
  ASSERT_TRUE(c->Restart("heat", 2).ok());  // from the spill tier
  EXPECT_EQ(data[0], 'y');
}

TEST_F(AsyncTest, FullFastTierEvictsVersionsAlreadyOnPersistent) {
  auto c = Open("scratch_capacity = 3M\nscratch_spill = " + (dir_ / "ssd") + "\n");
  ASSERT_NE(c, nullptr);
  std::vector<char> data(2 << 20, 'x');
  ASSERT_TRUE(c->Protect(0, data.data(), data.size(), 1, "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  ASSERT_TRUE(c->CheckpointWait().ok());  // v1 is on persistent: evictable
  data[0] = 'y';
  ASSERT_TRUE(c->Checkpoint("heat", 2).ok());
  ASSERT_TRUE(c->CheckpointWait().ok());
  EXPECT_FALSE(Env::Default()->Exists(ScratchFile(1)));
  EXPECT_TRUE(Env::Default()->Exists(ScratchFile(2)));
  EXPECT_FALSE(Env::Default()->Exists(Layout(dir_ / "ssd").RankFile("heat", 2, 0)));
  ASSERT_TRUE(c->Restart("heat", 1).ok());  // from persistent
  EXPECT_EQ(data[0], 'x');
}

TEST_F(AsyncTest, FinishedIsANonBlockingQueryAndFinalizeDrains) {
  // 64 MiB at 64 MB/s: the backend needs about a second per level.
  auto c = Open("backend_max_bandwidth = 64\n");
  ASSERT_NE(c, nullptr);
  std::vector<char> data(64 << 20, 'q');
  ASSERT_TRUE(c->Protect(0, data.data(), data.size(), 1, "").ok());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->CheckpointBegin("heat", 1).ok());
  ASSERT_TRUE(c->CheckpointMem(Select::kAll, {}).ok());
  ASSERT_TRUE(c->CheckpointEnd(true).ok());
  EXPECT_FALSE(c->CheckpointFinished());  // returns at once, work still pending
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(800));
  EXPECT_FALSE(Env::Default()->Exists(PersistentFile(1)));
  ASSERT_TRUE(c->Finalize(/*drain=*/true).ok());
  EXPECT_TRUE(Env::Default()->Exists(ScratchFile(1)));
  EXPECT_TRUE(Env::Default()->Exists(PersistentFile(1)));
}

TEST_F(AsyncTest, WaitReturnsTheCombinedResult) {
  auto c = Open();
  ASSERT_NE(c, nullptr);
  int x = 1;
  ASSERT_TRUE(c->Protect(0, &x, 1, sizeof(x), "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  // Make the persistent level unwritable for version 2: a file where its directory goes.
  ASSERT_TRUE(c->CheckpointWait().ok());
  ASSERT_TRUE(WriteText(dir_ / "persistent/heat/v2", "not a directory"));
  ASSERT_TRUE(c->Checkpoint("heat", 2).ok());  // handed over fine
  ASSERT_TRUE(c->CheckpointBegin("heat", 3).ok());
  ASSERT_TRUE(c->CheckpointMem(Select::kAll, {}).ok());
  ASSERT_TRUE(c->CheckpointEnd(true).ok());
  Status w = c->CheckpointWait();
  EXPECT_FALSE(w.ok());  // version 2's persistent copy failed
  EXPECT_NE(w.message().find("version 2"), std::string::npos) << w.ToString();
  EXPECT_TRUE(c->CheckpointWait().ok());  // reported once
  EXPECT_TRUE(Env::Default()->Exists(PersistentFile(3)));
}

TEST_F(AsyncTest, CompressionPerLevel) {
  auto c = Open("scratch_compress = lz4\ncompress = zstd\nshuffle = true\n");
  ASSERT_NE(c, nullptr);
  std::vector<double> field(1 << 20);  // 8 MiB of a smooth float64 field
  for (size_t i = 0; i < field.size(); ++i) field[i] = std::sin(static_cast<double>(i) * 1e-4);
  const std::vector<double> saved = field;
  ASSERT_TRUE(c->Protect(0, field.data(), field.size(), sizeof(double), "").ok());
  ASSERT_TRUE(c->Checkpoint("heat", 1).ok());
  ASSERT_TRUE(c->CheckpointWait().ok());
  for (const auto& [path, codec] : {std::pair{ScratchFile(1), format::Codec::kLz4},
                                    std::pair{PersistentFile(1), format::Codec::kZstd}}) {
    auto r = format::CheckpointFileReader::Open(Env::Default(), path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const format::Entry* e = r.value()->FindRegion(0);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->codec, codec);
    EXPECT_EQ(e->filter, format::Filter::kShuffle8);
    EXPECT_EQ(e->size, field.size() * sizeof(double));
    EXPECT_LT(e->stored_size, e->size * 9 / 10) << path;  // shuffled float64 compresses
    EXPECT_TRUE(r.value()->VerifyData().ok());
  }
  std::fill(field.begin(), field.end(), 0.0);
  ASSERT_TRUE(c->Restart("heat", 1).ok());  // from scratch (lz4)
  EXPECT_EQ(field, saved);
  ASSERT_TRUE(Env::Default()->RemoveTree(dir_ / "scratch").ok());
  std::fill(field.begin(), field.end(), 0.0);
  ASSERT_EQ(c->RestartTest("heat", 0).value(), 1);
  ASSERT_TRUE(c->Restart("heat", 1).ok());  // from persistent (zstd)
  EXPECT_EQ(field, saved);
}

}  // namespace
}  // namespace cairn
