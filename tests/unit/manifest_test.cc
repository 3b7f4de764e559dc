// Tests of the job manifest (coord/manifest.h): format, atomic write, validation, fallback
// to an older manifest, listing and pruning. Real files in a temporary directory.
#include "coord/manifest.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/hash.h"
#include "test_util.h"

namespace cairn::coord {
namespace {

using cairn::testing::FlipByte;
using cairn::testing::TempDir;
using cairn::testing::WriteText;

std::string ReadAll(const std::string& path) {
  auto f = Env::Default()->NewRandomAccessFile(path);
  if (!f.ok()) return "";
  std::string s(f.value()->size(), '\0');
  if (!f.value()->ReadAt(0, s.data(), s.size()).ok()) return "";
  return s;
}

// A manifest of `n` ranks whose images (r<rank>.v<version>.cimg, or the names given) are
// written in `dir` with 10 + rank bytes.
Manifest Make(const TempDir& dir, uint64_t version, int n, std::vector<std::string> names = {}) {
  Manifest m;
  m.version = version;
  m.participants = n;
  m.created = 1700000000;
  for (int r = 0; r < n; ++r) {
    const std::string name =
        r < static_cast<int>(names.size())
            ? names[r]
            : "r" + std::to_string(r) + ".v" + std::to_string(version) + ".cimg";
    const std::string body(10 + r, 'x');
    if (!Env::Default()->Exists(dir / name)) {
      EXPECT_TRUE(WriteText(dir / name, body));
    }
    auto st = Env::Default()->Stat(dir / name);
    m.images.push_back({r, st.ok() ? st.value().size : 0, "h" + std::to_string(r), dir / name});
  }
  return m;
}

// `body` with a correct checksum line appended.
std::string WithChecksum(const std::string& body) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(Hash64(body.data(), body.size())));
  return body + "checksum " + buf + "\n";
}

TEST(Manifest, ProcessLinesRoundTripAndAreChecked) {
  TempDir dir;
  Manifest m = Make(dir, 4, 2);
  m.kind = "tree";
  m.images[0].pid = 100;
  m.images[0].ppid = 7;
  m.images[0].pgid = 100;
  m.images[0].sid = 7;
  m.images[1].pid = 101;
  m.images[1].ppid = 100;
  m.images[1].pgid = 100;
  m.images[1].sid = 7;
  m.images[1].exited.push_back({102, 3 << 8});
  auto path = WriteManifest(dir.path(), m);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  const std::string text = ReadAll(path.value());
  EXPECT_NE(text.find("\nprocess 0 100 7 100 7\nprocess 1 101 100 100 7\n"
                      "exited 1 102 768\nchecksum "),
            std::string::npos)
      << text;
  auto back = ReadManifest(path.value());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().images[1].pid, 101);
  EXPECT_EQ(back.value().images[1].ppid, 100);
  EXPECT_EQ(back.value().images[0].sid, 7);
  ASSERT_EQ(back.value().images[1].exited.size(), 1u);
  EXPECT_EQ(back.value().images[1].exited[0].pid, 102);
  EXPECT_EQ(back.value().images[1].exited[0].status, 768);
  // A process line for a rank without an image, a repeated one, garbage, or an image line
  // after the process lines: refused.
  const std::string head =
      "cairn-job-manifest 1\nversion 4\nkind tree\nparticipants 1\ncreated 1\n"
      "image 0 10 h0 r0.v4.cimg\n";
  for (const std::string& tail :
       {std::string("process 1 5 1 5 1\n"), std::string("process 0 5 1 5 1\nprocess 0 5 1 5 1\n"),
        std::string("process 0 x 1 5 1\n"), std::string("process 0 0 1 5 1\n"),
        std::string("process 0 5 1 5\n"), std::string("process 0 5 1 5 1 9\n"),
        std::string("exited 3 5 0\n"), std::string("exited 0 5 70000\n"),
        std::string("exited 0 5 0\nprocess 0 5 1 5 1\n")}) {
    auto r = DecodeManifest(dir.path(), "job.v4.manifest", WithChecksum(head + tail));
    EXPECT_EQ(r.status().code(), Code::kCorruption) << tail;
  }
  auto late = DecodeManifest(
      dir.path(), "job.v4.manifest",
      WithChecksum("cairn-job-manifest 1\nversion 4\nkind tree\nparticipants 2\ncreated 1\n"
                   "image 0 10 h0 r0.v4.cimg\nprocess 0 5 1 5 1\nimage 1 10 h1 r1.v4.cimg\n"));
  EXPECT_EQ(late.status().code(), Code::kCorruption);
}

TEST(Manifest, WriteReadRoundTrip) {
  TempDir dir;
  TempDir other;
  ASSERT_TRUE(WriteText(other / "far.cimg", "abcdef"));
  Manifest m = Make(dir, 3, 2);
  m.kind = "tree";
  m.images.push_back({2, 6, "fff", other / "far.cimg"});
  m.participants = 3;
  std::swap(m.images[0], m.images[2]);  // the writer sorts by rank
  auto path = WriteManifest(dir.path(), m);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(path.value(), dir / "job.v3.manifest");
  struct stat st {};
  ASSERT_EQ(::stat(path.value().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(Env::Default()->Exists(path.value() + ".tmp"));
  const std::string text = ReadAll(path.value());
  EXPECT_EQ(text.rfind("cairn-job-manifest 1\nversion 3\nkind tree\nparticipants 3\n"
                       "created 1700000000\n"
                       "image 0 10 h0 r0.v3.cimg\nimage 1 11 h1 r1.v3.cimg\n"
                       "image 2 6 fff " +
                           other / "far.cimg" + "\nchecksum ",
                       0),
            0u)
      << text;
  auto back = ReadManifest(path.value());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().version, 3u);
  EXPECT_EQ(back.value().kind, "tree");
  EXPECT_EQ(back.value().participants, 3);
  EXPECT_EQ(back.value().created, 1700000000);
  ASSERT_EQ(back.value().images.size(), 3u);
  EXPECT_EQ(back.value().images[0].path, dir / "r0.v3.cimg");  // resolved against DIR
  EXPECT_EQ(back.value().images[1].bytes, 11u);
  EXPECT_EQ(back.value().images[2].path, other / "far.cimg");
  EXPECT_EQ(back.value().images[2].hash, "fff");
}

TEST(Manifest, WriterRefusesIncompleteManifests) {
  TempDir dir;
  Manifest m = Make(dir, 1, 2);
  m.images.pop_back();
  EXPECT_EQ(WriteManifest(dir.path(), m).status().code(), Code::kInvalidArgument);
  m = Make(dir, 1, 2);
  m.images[1].rank = 0;
  EXPECT_EQ(WriteManifest(dir.path(), m).status().code(), Code::kInvalidArgument);
  m = Make(dir, 0, 2);
  EXPECT_FALSE(WriteManifest(dir.path(), m).ok());
  m = Make(dir, 1, 2);
  m.images[0].hash = "a b";
  EXPECT_FALSE(WriteManifest(dir.path(), m).ok());
  m = Make(dir, 1, 2);
  m.images[0].path = "relative.cimg";
  EXPECT_FALSE(WriteManifest(dir.path(), m).ok());
  EXPECT_FALSE(Env::Default()->Exists(ManifestPath(dir.path(), 1)));
}

TEST(Manifest, FlippedByteIsRefusedAndNewestValidFallsBack) {
  TempDir dir;
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 1, 2)).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 2, 2)).ok());
  const std::string v2 = ManifestPath(dir.path(), 2);
  ASSERT_TRUE(FlipByte(v2, 60));
  auto r = ReadManifest(v2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("job.v2.manifest"), std::string::npos);
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos);
  std::string warnings;
  auto newest = NewestValid(dir.path(), &warnings);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(newest.value().version, 1u);
  EXPECT_EQ(warnings.rfind("job.v2.manifest: skipped: ", 0), 0u) << warnings;
  EXPECT_NE(warnings.find("checksum mismatch"), std::string::npos) << warnings;
  // A flipped checksum digit too.
  ASSERT_TRUE(FlipByte(ManifestPath(dir.path(), 1), -3));
  EXPECT_EQ(NewestValid(dir.path(), nullptr).status().code(), Code::kNotFound);
}

TEST(Manifest, MissingOrResizedImageMakesNewestValidFallBack) {
  TempDir dir;
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 1, 2)).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 2, 2)).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 3, 2)).ok());
  ASSERT_TRUE(Env::Default()->RemoveFile(dir / "r1.v3.cimg").ok());
  ASSERT_TRUE(WriteText(dir / "r0.v2.cimg", "short"));  // size differs from the record
  std::string warnings;
  auto newest = NewestValid(dir.path(), &warnings);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(newest.value().version, 1u);
  EXPECT_NE(warnings.find("job.v3.manifest: skipped: image of rank 1 '" + dir / "r1.v3.cimg" +
                          "' is missing"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("job.v2.manifest: skipped: image of rank 0"), std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("has 5 bytes, the manifest records 10"), std::string::npos) << warnings;
}

TEST(Manifest, ReaderRefusesBadContent) {
  TempDir dir;
  const std::string head = "cairn-job-manifest 1\nversion 4\nkind mpi\nparticipants 2\ncreated 1\n";
  struct Case {
    const char* what;
    std::string text;
    const char* expect;
  } cases[] = {
      {"unknown format",
       WithChecksum("cairn-job-manifest 2\nversion 4\nkind mpi\nparticipants 1\ncreated 1\n"
                    "image 0 1 h a.cimg\n"),
       "unknown job manifest format 2"},
      {"missing rank", WithChecksum(head + "image 0 1 h a.cimg\n"), "no image for rank(s) 1"},
      {"duplicate rank", WithChecksum(head + "image 0 1 h a.cimg\nimage 0 1 h b.cimg\n"),
       "rank 0 listed twice"},
      {"rank out of range", WithChecksum(head + "image 0 1 h a.cimg\nimage 2 1 h b.cimg\n"),
       "outside 0..1"},
      {"garbage line", WithChecksum(head + "image 0 1 h a.cimg\nimage 1 1 h b.cimg\nwat\n"),
       "unexpected line"},
      {"bad bytes", WithChecksum(head + "image 0 x h a.cimg\nimage 1 1 h b.cimg\n"),
       "bad image line"},
      {"other version than the name",
       WithChecksum("cairn-job-manifest 1\nversion 5\nkind mpi\nparticipants 1\ncreated 1\n"
                    "image 0 1 h a.cimg\n"),
       "named version 4"},
      {"no checksum", head + "image 0 1 h a.cimg\nimage 1 1 h b.cimg\n", "no checksum line"},
      {"empty", "", "truncated"},
      {"not a manifest", WithChecksum("hello\n"), "not a job manifest"},
  };
  const std::string path = ManifestPath(dir.path(), 4);
  for (const Case& c : cases) {
    ASSERT_TRUE(WriteText(path, c.text));
    auto r = ReadManifest(path);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << c.what;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << r.status().message();
    EXPECT_NE(r.status().message().find("job.v4.manifest"), std::string::npos) << c.what;
  }
  // The same body with both ranks is fine.
  ASSERT_TRUE(WriteText(path, WithChecksum(head + "image 1 1 h b.cimg\nimage 0 1 h a.cimg\n")));
  auto ok = ReadManifest(path);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok.value().images[0].path, dir / "a.cimg");
}

TEST(Manifest, ListIgnoresOtherFiles) {
  TempDir dir;
  EXPECT_TRUE(ListManifests(dir / "missing").ok());
  for (const char* n : {"job.v10.manifest", "job.v2.manifest", "job.v3.manifest.tmp",
                        "job.v.manifest", "job.vx.manifest", "job.v02.manifest", "other"}) {
    ASSERT_TRUE(WriteText(dir / n, "x"));
  }
  auto v = ListManifests(dir.path());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), (std::vector<uint64_t>{2, 10}));
}

TEST(Manifest, PruneKeepsReferencedImages) {
  TempDir dir;
  ASSERT_TRUE(WriteText(dir / "shared.cimg", "0123456789"));
  ASSERT_TRUE(WriteText(dir / "unrelated.cimg", "u"));
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 1, 2, {"a1.cimg", "shared.cimg"})).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 2, 2, {"a2.cimg", "shared.cimg"})).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 3, 2, {"a3.cimg", "b3.cimg"})).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 4, 2, {"a4.cimg", "b3.cimg"})).ok());
  // Keep 2: versions 3 and 4 stay; a1, a2 and shared (only in removed ones) go.
  ASSERT_TRUE(Prune(dir.path(), 2).ok());
  auto v = ListManifests(dir.path());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), (std::vector<uint64_t>{3, 4}));
  Env* env = Env::Default();
  EXPECT_FALSE(env->Exists(dir / "a1.cimg"));
  EXPECT_FALSE(env->Exists(dir / "a2.cimg"));
  EXPECT_FALSE(env->Exists(dir / "shared.cimg"));
  EXPECT_TRUE(env->Exists(dir / "a3.cimg"));
  EXPECT_TRUE(env->Exists(dir / "b3.cimg"));  // referenced by kept version 3 and 4
  EXPECT_TRUE(env->Exists(dir / "a4.cimg"));
  EXPECT_TRUE(env->Exists(dir / "unrelated.cimg"));  // no manifest names it
  auto newest = NewestValid(dir.path(), nullptr);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest.value().version, 4u);
}

TEST(Manifest, PruneNeverRemovesAnImageOfAKeptManifest) {
  TempDir dir;
  ASSERT_TRUE(WriteText(dir / "shared.cimg", "0123456789"));
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 1, 1, {"shared.cimg"})).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 2, 1, {"only2.cimg"})).ok());
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 3, 1, {"shared.cimg"})).ok());
  // A corrupt newest manifest is left for inspection and does not count as kept.
  ASSERT_TRUE(WriteManifest(dir.path(), Make(dir, 4, 1, {"r4.cimg"})).ok());
  ASSERT_TRUE(FlipByte(ManifestPath(dir.path(), 4), 30));
  ASSERT_TRUE(Prune(dir.path(), 1).ok());
  auto v = ListManifests(dir.path());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), (std::vector<uint64_t>{3, 4}));
  Env* env = Env::Default();
  EXPECT_TRUE(env->Exists(dir / "shared.cimg"));  // v1 is gone but v3 names it
  EXPECT_FALSE(env->Exists(dir / "only2.cimg"));
  EXPECT_TRUE(env->Exists(dir / "r4.cimg"));  // named only by the unreadable manifest
  // keep < 1 keeps everything.
  ASSERT_TRUE(Prune(dir.path(), 0).ok());
  EXPECT_EQ(ListManifests(dir.path()).value().size(), 2u);
}

}  // namespace
}  // namespace cairn::coord
