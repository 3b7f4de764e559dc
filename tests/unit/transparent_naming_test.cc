// Tests of transparent/naming.h: the names of images, manifests and control files.
#include <gtest/gtest.h>

#include "transparent/naming.h"

namespace cairn::transparent::naming {
namespace {

TEST(Naming, ControlFiles) {
  EXPECT_EQ(ControlDir("/ck"), "/ck/.cairn");
  EXPECT_EQ(ControlSocket("/ck", 42), "/ck/.cairn/42.sock");
  EXPECT_EQ(LineageLock("/ck", 42, 7), "/ck/.cairn/42-7.lock");
  EXPECT_TRUE(IsLineageLock(LineageLock("/ck", 42, 7)));
  EXPECT_FALSE(IsLineageLock("/ck/42-7.lock"));       // not in a control directory
  EXPECT_FALSE(IsLineageLock("/ck/.cairn/42.sock"));  // not a lock
  EXPECT_EQ(CoordinatorFile("/ck"), "/ck/.cairn/coordinator");
  EXPECT_EQ(CoordinatorLog("/ck"), "/ck/.cairn/coordinator.log");
  EXPECT_EQ(JobLog("/ck", "17"), "/ck/.cairn/job-17.log");
}

TEST(Naming, Images) {
  EXPECT_EQ(ImagePrefix("app", 42), "app-42.v");
  EXPECT_EQ(ImagePrefix("app", 42, 3), "app-42-3.v");
  EXPECT_EQ(ImagePath("/ck", ImagePrefix("app", 42), 5), "/ck/app-42.v5.cimg");
  EXPECT_TRUE(IsImageName("app-42.v5.cimg"));
  EXPECT_FALSE(IsImageName(".cimg"));
  EXPECT_FALSE(IsImageName("app-42.v5.cimg.tmp"));
}

TEST(Naming, Manifests) {
  EXPECT_EQ(ManifestPath("/ck", 12), "/ck/job.v12.manifest");
  EXPECT_EQ(ManifestVersionFromName("job.v12.manifest"), 12u);
  for (const char* bad :
       {"job.v.manifest", "job.v012.manifest", "job.v1x.manifest", "job.v12.manifest.tmp",
        "jobs.v1.manifest", "job.v99999999999999999999.manifest"}) {
    EXPECT_EQ(ManifestVersionFromName(bad), 0u) << bad;
  }
}

}  // namespace
}  // namespace cairn::transparent::naming
