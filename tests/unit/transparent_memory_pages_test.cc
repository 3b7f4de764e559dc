// ImageWriter::AddMemoryRuns (image.h): page batches taken straight from this process's
// memory by several writer threads, zero pages left out, batch-hashed sections.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"
#include "transparent/image.h"

namespace cairn::transparent {
namespace {

using cairn::testing::TempDir;

const uint64_t kPs = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

// An anonymous mapping of `pages` pages: page i holds a pattern of i, except every 7th page
// (all zero) and page 3 of every 64 (zero but its last byte).
class Memory {
 public:
  explicit Memory(uint64_t pages) : pages_(pages) {
    void* p =
        ::mmap(nullptr, pages * kPs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    base_ = static_cast<char*>(p);
    for (uint64_t i = 0; i < pages; ++i) {
      char* page = base_ + i * kPs;
      if (i % 7 == 0) continue;
      if (i % 64 == 3) {
        page[kPs - 1] = 1;
        continue;
      }
      for (uint64_t b = 0; b < kPs; b += 8) {
        const uint64_t v = (i + 1) * 0x9E3779B97F4A7C15ull ^ b;
        std::memcpy(page + b, &v, 8);
      }
    }
  }
  ~Memory() { ::munmap(base_, pages_ * kPs); }
  uint64_t start() const { return reinterpret_cast<uint64_t>(base_); }
  uint64_t end() const { return start() + pages_ * kPs; }
  const char* page(uint64_t i) const { return base_ + i * kPs; }
  bool zero(uint64_t i) const { return i % 7 == 0; }

 private:
  uint64_t pages_;
  char* base_ = nullptr;
};

Region RegionOf(const Memory& m) {
  Region r;
  r.start = m.start();
  r.end = m.end();
  r.prot = kProtRead | kProtWrite;
  return r;
}

// Writes `runs` of `m` with AddMemoryRuns; returns the path.
std::string WriteImage(const TempDir& dir, const Memory& m, const std::vector<AddressRange>& runs,
                       int writers, bool skip_zero, uint64_t batch_bytes = 8u << 20) {
  const std::string path = dir / "img";
  WriteOptions o;
  o.writers = writers;
  o.batch_bytes = batch_bytes;
  auto w = ImageWriter::Create(Env::Default(), path, o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  ImageWriter& iw = *w.value();
  EXPECT_TRUE(iw.WriteHeader(ImageHeader{}).ok());
  EXPECT_TRUE(iw.WriteRegions({RegionOf(m)}).ok());
  EXPECT_TRUE(iw.BeginPages(m.start(), m.end()).ok());
  // A page through the buffered path first: the batches must go after it.
  Status st = iw.AddPageRun(m.start(), m.page(0), kPs);
  EXPECT_TRUE(st.ok()) << st.ToString();
  st = iw.AddMemoryRuns(runs, skip_zero);
  EXPECT_TRUE(st.ok()) << st.ToString();
  st = iw.Commit();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return path;
}

// Page index -> first 8 bytes and whether all of it matches memory.
std::map<uint64_t, bool> ReadBack(const std::string& path, const Memory& m) {
  std::map<uint64_t, bool> got;
  auto r = ImageReader::Open(Env::Default(), path);  // verifies every batch and section hash
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return got;
  Status st = r.value()->ReadPages([&](uint64_t addr, const void* data, uint64_t len) {
    for (uint64_t off = 0; off < len; off += kPs) {
      const uint64_t i = (addr + off - m.start()) / kPs;
      EXPECT_EQ(got.count(i), 0u) << "page " << i << " twice";
      got[i] = std::memcmp(static_cast<const char*>(data) + off, m.page(i), kPs) == 0;
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return got;
}

TEST(MemoryPages, ParallelWritersKeepEveryNonZeroPageInPlace) {
  TempDir dir;
  const uint64_t n = 3000;  // ~12 MiB: several batches of 1 MiB
  Memory m(n);
  // Runs: pages 1..999, a hole, 1200..2999 (across batch boundaries).
  std::vector<AddressRange> runs{{m.start() + kPs, m.start() + 1000 * kPs},
                                 {m.start() + 1200 * kPs, m.end()}};
  for (int writers : {1, 2, 3, 8}) {
    const std::string path = WriteImage(dir, m, runs, writers, true, 1u << 20);
    auto got = ReadBack(path, m);
    uint64_t want = 1;  // page 0 (AddPageRun)
    for (uint64_t i = 1; i < n; ++i) {
      const bool in_run = i < 1000 || i >= 1200;
      if (!in_run || m.zero(i)) {
        EXPECT_EQ(got.count(i), 0u) << "writers " << writers << ": page " << i << " stored";
        continue;
      }
      ++want;
      ASSERT_EQ(got.count(i), 1u) << "writers " << writers << ": page " << i << " missing";
      EXPECT_TRUE(got[i]) << "writers " << writers << ": page " << i << " differs";
    }
    EXPECT_EQ(got.size(), want) << "writers " << writers;
  }
}

TEST(MemoryPages, WithoutSkipZeroEveryPageIsStored) {
  TempDir dir;
  Memory m(600);
  const std::string path = WriteImage(dir, m, {{m.start() + kPs, m.end()}}, 2, false, 256u << 10);
  auto got = ReadBack(path, m);
  EXPECT_EQ(got.size(), 600u);
  for (const auto& [i, same] : got) EXPECT_TRUE(same) << "page " << i;
}

TEST(MemoryPages, AFlippedByteInAParallelBatchIsCorruption) {
  TempDir dir;
  Memory m(1000);
  const std::string path = WriteImage(dir, m, {{m.start() + kPs, m.end()}}, 2, true, 1u << 20);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(f.tellg());
  const std::streamoff at = size / 2;  // inside the page data
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(at);
  f.write(&c, 1);
  f.close();
  auto r = ImageReader::Open(Env::Default(), path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos)
      << r.status().ToString();
}

TEST(MemoryPages, MisuseIsRefusedAndNothingIsWritten) {
  TempDir dir;
  Memory m(16);
  {  // a compressed image takes pages through AddPageRun only
    WriteOptions o;
    o.codec = format::Codec::kZstd;
    auto w = ImageWriter::Create(Env::Default(), dir / "z", o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value()->WriteHeader(ImageHeader{}).ok());
    ASSERT_TRUE(w.value()->WriteRegions({RegionOf(m)}).ok());
    ASSERT_TRUE(w.value()->BeginPages(m.start(), m.end()).ok());
    EXPECT_EQ(w.value()->AddMemoryRuns({{m.start(), m.end()}}, true).code(),
              Code::kFailedPrecondition);
  }
  auto w = ImageWriter::Create(Env::Default(), dir / "raw", WriteOptions{});
  ASSERT_TRUE(w.ok());
  ImageWriter& iw = *w.value();
  ASSERT_TRUE(iw.WriteHeader(ImageHeader{}).ok());
  ASSERT_TRUE(iw.WriteRegions({RegionOf(m)}).ok());
  EXPECT_EQ(iw.AddMemoryRuns({{m.start(), m.end()}}, true).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(iw.BeginPages(m.start(), m.end()).ok());
  EXPECT_EQ(iw.AddMemoryRuns({{m.start() + 1, m.end()}}, true).code(), Code::kInvalidArgument);
  EXPECT_EQ(iw.AddMemoryRuns({{m.start(), m.end() + kPs}}, true).code(), Code::kInvalidArgument);
  ASSERT_TRUE(iw.AddMemoryRuns({{m.start() + 8 * kPs, m.end()}}, true).ok());
  EXPECT_EQ(iw.AddMemoryRuns({{m.start(), m.start() + kPs}}, true).code(),
            Code::kInvalidArgument);  // not after the previous run
  EXPECT_EQ(WriteOptions{}.writers, 1);
  WriteOptions bad;
  bad.writers = 0;
  EXPECT_EQ(ImageWriter::Create(Env::Default(), dir / "bad", bad).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::transparent
