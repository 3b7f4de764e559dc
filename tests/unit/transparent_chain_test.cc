// Incremental images: range sets, the PARENT section, chains (transparent/image_chain.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "test_util.h"
#include "transparent/image.h"
#include "transparent/image_chain.h"
#include "transparent/ranges.h"

namespace cairn::transparent {
namespace {

using cairn::testing::TempDir;

const uint64_t kPs = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
const uint64_t kBase = 0x20000000;

TEST(Ranges, NormalIntersectSubtract) {
  RangeSet a = NormalRanges({{30, 40}, {0, 10}, {10, 20}, {35, 50}, {60, 60}});
  EXPECT_EQ(a, (RangeSet{{0, 20}, {30, 50}}));
  RangeSet b{{5, 8}, {15, 35}, {45, 70}};
  EXPECT_EQ(IntersectRanges(a, b), (RangeSet{{5, 8}, {15, 20}, {30, 35}, {45, 50}}));
  EXPECT_EQ(SubtractRanges(a, b), (RangeSet{{0, 5}, {8, 15}, {35, 45}}));
  EXPECT_EQ(SubtractRanges(a, {}), a);
  EXPECT_EQ(IntersectRanges(a, {}), RangeSet{});
  EXPECT_EQ(RangeBytes(a), 40u);
}

// One page of content `c` at page index `i` of the region.
struct Page {
  uint64_t index;
  char c;
};

// Writes an image of one region of 8 pages holding `pages`; a parent makes it incremental.
std::string Write(const std::string& dir, const std::string& name, uint64_t id,
                  const std::vector<Page>& pages, const ParentRef* parent) {
  const std::string path = dir + "/" + name;
  auto w = ImageWriter::Create(Env::Default(), path, WriteOptions{});
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  ImageHeader h;
  h.image_id = id;
  EXPECT_TRUE(w.value()->WriteHeader(h).ok());
  Region r;
  r.start = kBase;
  r.end = kBase + 8 * kPs;
  r.prot = kProtRead | kProtWrite;
  EXPECT_TRUE(w.value()->WriteRegions({r}).ok());
  if (!pages.empty()) {
    EXPECT_TRUE(w.value()->BeginPages(r.start, r.end).ok());
    for (const Page& p : pages) {
      std::string data(kPs, p.c);
      EXPECT_TRUE(w.value()->AddPageRun(kBase + p.index * kPs, data.data(), kPs).ok());
    }
    EXPECT_TRUE(w.value()->EndPages().ok());
  }
  if (parent != nullptr) {
    Status st = w.value()->WriteParent(*parent);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  Status st = w.value()->Commit();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return path;
}

AddressRange Pages(uint64_t first, uint64_t n) {
  return {kBase + first * kPs, kBase + (first + n) * kPs};
}

// The memory a chain restores: page index -> content byte.
std::map<uint64_t, char> Memory(const ImageChain& chain) {
  std::map<uint64_t, char> m;
  Status st = ReadChainPages(chain, [&](uint64_t addr, const void* data, uint64_t len) {
    for (uint64_t off = 0; off < len; off += kPs) {
      const uint64_t index = (addr + off - kBase) / kPs;
      EXPECT_EQ(m.count(index), 0u) << "page " << index << " delivered twice";
      m[index] = static_cast<const char*>(data)[off];
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return m;
}

// full: pages 0..3 = a b c d. d1 (after full): page 1 = B, page 5 = F; page 3 dropped;
// inherits 0, 2. d2 (after d1): page 2 = C; inherits 0, 1, 5.
class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    full_ =
        Write(dir_.path(), "p-1.v1.cimg", 101, {{0, 'a'}, {1, 'b'}, {2, 'c'}, {3, 'd'}}, nullptr);
    ParentRef p1{101, "p-1.v1.cimg", 1, {Pages(0, 1), Pages(2, 1)}};
    d1_ = Write(dir_.path(), "p-1.v2.cimg", 102, {{1, 'B'}, {5, 'F'}}, &p1);
    ParentRef p2{102, "p-1.v2.cimg", 2, {Pages(0, 2), Pages(5, 1)}};
    d2_ = Write(dir_.path(), "p-1.v3.cimg", 103, {{2, 'C'}}, &p2);
  }
  TempDir dir_;
  std::string full_, d1_, d2_;
};

TEST_F(ChainTest, ParentSectionRoundTrips) {
  auto r = ImageReader::Open(Env::Default(), d2_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_NE(r.value()->parent(), nullptr);
  EXPECT_EQ(*r.value()->parent(), (ParentRef{102, "p-1.v2.cimg", 2, {Pages(0, 2), Pages(5, 1)}}));
  auto f = ImageReader::Open(Env::Default(), full_);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value()->parent(), nullptr);
}

TEST_F(ChainTest, RestoresTheNewestMemory) {
  auto chain = OpenChain(Env::Default(), d2_);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  ASSERT_EQ(chain.value().size(), 3u);
  const std::map<uint64_t, char> want{{0, 'a'}, {1, 'B'}, {2, 'C'}, {5, 'F'}};
  EXPECT_EQ(Memory(chain.value()), want);  // page 3 was dropped by d1: absent
  EXPECT_EQ(ChainFiles(Env::Default(), d2_), (std::vector<std::string>{d2_, d1_, full_}));
}

TEST_F(ChainTest, MissingLinkIsNotFound) {
  ASSERT_EQ(::unlink(d1_.c_str()), 0);
  auto chain = OpenChain(Env::Default(), d2_);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), Code::kNotFound);
  EXPECT_NE(chain.status().message().find("p-1.v2.cimg' is missing"), std::string::npos)
      << chain.status().message();
  EXPECT_EQ(ChainFiles(Env::Default(), d2_), (std::vector<std::string>{d2_, d1_}));
}

TEST_F(ChainTest, AnotherImageInTheParentsPlaceIsRefused) {
  ParentRef p1{101, "p-1.v1.cimg", 1, {Pages(0, 1)}};
  Write(dir_.path(), "p-1.v2.cimg", 999, {{1, 'X'}}, &p1);  // same name, another image
  auto chain = OpenChain(Env::Default(), d2_);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), Code::kCorruption);
}

TEST_F(ChainTest, CorruptParentPagesFailTheRestore) {
  // A byte of page 0 ('a'), which the newest image inherits from the full one.
  auto content = Env::Default()->NewRandomAccessFile(full_);
  ASSERT_TRUE(content.ok());
  std::string bytes(content.value()->size(), '\0');
  ASSERT_TRUE(content.value()->ReadAt(0, bytes.data(), bytes.size()).ok());
  const size_t at = bytes.find(std::string(kPs, 'a'));
  ASSERT_NE(at, std::string::npos);
  ASSERT_TRUE(cairn::testing::FlipByte(full_, static_cast<long long>(at + 100)));
  OpenOptions quick;
  quick.verify_pages = false;  // the restore's Open; pages are checked as they are read
  auto chain = OpenChain(Env::Default(), d2_, quick);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  Status st =
      ReadChainPages(chain.value(), [](uint64_t, const void*, uint64_t) { return Status::Ok(); });
  EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
  auto verified = OpenChain(Env::Default(), d2_);  // verify_pages: refused at once
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), Code::kCorruption);
}

TEST(ParentSection, BadReferencesAreRefused) {
  TempDir dir;
  const std::vector<ParentRef> bad{
      {0, "p.v1.cimg", 1, {}},                          // no image id
      {7, "../p.v1.cimg", 1, {}},                       // a path, not a name
      {7, "p.v1.txt", 1, {}},                           // not an image name
      {7, "p.v1.cimg", 0, {}},                          // depth 0
      {7, "p.v1.cimg", 1, {{kBase, kBase + 1}}},        // not page-aligned
      {7, "p.v1.cimg", 1, {Pages(7, 2)}},               // past the region
      {7, "p.v1.cimg", 1, {Pages(3, 1), Pages(1, 1)}},  // out of order
  };
  for (const ParentRef& p : bad) {
    auto w = ImageWriter::Create(Env::Default(), dir.path() + "/x.v2.cimg", WriteOptions{});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value()->WriteHeader(ImageHeader{}).ok());
    Region r;
    r.start = kBase;
    r.end = kBase + 8 * kPs;
    ASSERT_TRUE(w.value()->WriteRegions({r}).ok());
    Status st = w.value()->WriteParent(p);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << p.name << " depth " << p.depth;
  }
}

}  // namespace
}  // namespace cairn::transparent
