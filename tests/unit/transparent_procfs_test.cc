// transparent/procfs.h: HeldFlocks reads /proc/locks without touching the locks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "transparent/procfs.h"

namespace cairn::transparent {
namespace {

bool FlockHeld(uint64_t device, uint64_t inode) { return HeldFlocks().count({device, inode}) != 0; }

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

}  // namespace
}  // namespace cairn::transparent
