// transparent/procfs.h: HeldFlocks reads /proc/locks without touching the locks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "transparent/procfs.h"

namespace cairn::transparent {
namespace {

bool FlockHeld(uint64_t device, uint64_t inode) { return HeldFlocks().count({device, inode}) != 0; }

TEST(Procfs, ProcessTreeListsTheRootAndItsDescendants) {
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    char b;
    (void)!::read(go[0], &b, 1);
    ::_exit(0);
  }
  const std::vector<long> mine = ProcessTree(::getpid());
  ASSERT_FALSE(mine.empty());
  EXPECT_EQ(mine[0], ::getpid());
  EXPECT_NE(std::find(mine.begin(), mine.end(), child), mine.end());
  EXPECT_EQ(ProcessTree(child), std::vector<long>{child});
  ::close(go[0]);
  ::close(go[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(ProcessTree(child).empty());  // gone
}

TEST(Procfs, LinesAndWordsAsStreamsWouldSplitThem) {
  EXPECT_EQ(Lines("a b\n\nc"), (std::vector<std::string>{"a b", "", "c"}));
  EXPECT_EQ(Lines("one\n"), std::vector<std::string>{"one"});
  EXPECT_TRUE(Lines("").empty());
  EXPECT_EQ(Words("  12\t345 \n6 "), (std::vector<std::string>{"12", "345", "6"}));
  EXPECT_EQ(Words("x"), std::vector<std::string>{"x"});
  EXPECT_TRUE(Words(" \t\n").empty());
}

TEST(Procfs, StatFieldsByNumberWhateverTheCommandName) {
  const auto f = StatFields("4242 (a) b (c)) S 1 4242 4242 34816 -1 4194560\n");
  ASSERT_EQ(f.size(), 10u);
  EXPECT_EQ(f[1], "4242");
  EXPECT_EQ(f[2], "a) b (c)");
  EXPECT_EQ(f[3], "S");
  EXPECT_EQ(f[7], "34816");  // tty_nr
  EXPECT_EQ(f[9], "4194560");
  EXPECT_TRUE(StatFields("no parentheses").empty());
  const auto self = StatFields(ReadProcText("/proc/self/stat"));
  ASSERT_GT(self.size(), 51u);
  EXPECT_EQ(self[1], std::to_string(::getpid()));
}

TEST(Procfs, HeldFlocksSeesAnFlockAndItsRelease) {
  char path[] = "/tmp/cairn-procfs-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_FALSE(FlockHeld(st.st_dev, st.st_ino));
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_TRUE(FlockHeld(st.st_dev, st.st_ino));
  EXPECT_FALSE(FlockHeld(st.st_dev, st.st_ino + 1));  // another file
  EXPECT_FALSE(FlockHeld(st.st_dev + 1, st.st_ino));  // the same inode on another device
  // Looking did not take or disturb the lock: another open file description cannot get it.
  const int other = ::open(path, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(other, 0);
  EXPECT_NE(::flock(other, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::flock(fd, LOCK_UN), 0);
  EXPECT_FALSE(FlockHeld(st.st_dev, st.st_ino));
  ::close(other);
  ::close(fd);
  ::unlink(path);
}

TEST(Procfs, ProcessChildrenNamesLiveAndExitedChildren) {
  // (gtest may have children of its own: only ours are looked at.)
  auto find = [](pid_t pid) -> std::string {
    for (const std::string& c : ProcessChildren()) {
      if (c.starts_with("pid " + std::to_string(pid) + " ")) return c;
    }
    return "";
  };
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t child = ::fork();
  if (child == 0) {
    char c;
    (void)::read(go[0], &c, 1);  // until the parent has looked
    _exit(0);
  }
  ASSERT_GT(child, 0);
  ::close(go[0]);
  const std::string live = find(child);
  EXPECT_EQ(live.find("pid " + std::to_string(child) + " ("), 0u) << live;
  EXPECT_EQ(live.find("exited"), std::string::npos) << live;
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  siginfo_t si{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOWAIT), 0);  // a zombie
  EXPECT_NE(find(child).find(", exited, not reaped"), std::string::npos) << find(child);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_EQ(find(child), "");
}

}  // namespace
}  // namespace cairn::transparent
