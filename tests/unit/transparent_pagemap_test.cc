#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"
#include "transparent/pagemap.h"

namespace cairn::transparent {
namespace {

// A private anonymous mapping without transparent huge pages, so that page presence is
// exactly what the test touched.
class Mapping {
 public:
  explicit Mapping(size_t bytes) : size_(bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      base_ = static_cast<unsigned char*>(p);
      (void)::madvise(p, bytes, MADV_NOHUGEPAGE);
    }
  }
  ~Mapping() {
    if (base_ != nullptr) ::munmap(base_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  bool ok() const { return base_ != nullptr; }
  unsigned char* base() const { return base_; }
  uint64_t start() const { return reinterpret_cast<uintptr_t>(base_); }
  uint64_t end() const { return start() + size_; }
  unsigned char* page(size_t i) const { return base_ + i * PageSize(); }
  uint64_t addr(size_t i) const { return start() + i * PageSize(); }

 private:
  unsigned char* base_ = nullptr;
  size_t size_;
};

std::vector<PageRun> Runs(uint64_t start, uint64_t end, bool check_zero,
                          PageScanStats* stats = nullptr) {
  Result<std::vector<PageRun>> r = DataRuns(start, end, check_zero, stats);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<PageRun>{};
}

constexpr size_t k64MiB = 64u << 20;

TEST(Pagemap, SelfIsReadable) {
  PagemapReader reader;
  EXPECT_TRUE(reader.available()) << std::strerror(reader.open_errno());
  EXPECT_EQ(PageSize(), static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
}

TEST(Pagemap, UntouchedMappingHasNoRuns) {
  Mapping m(k64MiB);
  ASSERT_TRUE(m.ok());
  PageScanStats stats;
  EXPECT_TRUE(Runs(m.start(), m.end(), false, &stats).empty());
  EXPECT_TRUE(Runs(m.start(), m.end(), true, &stats).empty());
  EXPECT_TRUE(stats.pagemap_available);
  EXPECT_EQ(stats.pages, 2 * k64MiB / PageSize());
  EXPECT_EQ(stats.present, 0u);
  EXPECT_EQ(stats.data, 0u);
}

TEST(Pagemap, EveryFourthPageWritten) {
  Mapping m(k64MiB);
  ASSERT_TRUE(m.ok());
  const size_t pages = k64MiB / PageSize();
  std::vector<PageRun> expect;
  for (size_t i = 0; i < pages; i += 4) {
    m.page(i)[7] = 1;
    expect.push_back({m.addr(i), m.addr(i + 1)});
  }
  for (bool check_zero : {false, true}) {
    PageScanStats stats;
    std::vector<PageRun> runs = Runs(m.start(), m.end(), check_zero, &stats);
    EXPECT_EQ(runs, expect) << "check_zero " << check_zero;
    EXPECT_EQ(stats.present, pages / 4);
    EXPECT_EQ(stats.data, pages / 4);
    EXPECT_EQ(stats.zero, 0u);
  }
  // A sub-range starting mid-way.
  std::vector<PageRun> part = Runs(m.addr(3), m.addr(10), true);
  EXPECT_EQ(part, (std::vector<PageRun>{{m.addr(4), m.addr(5)}, {m.addr(8), m.addr(9)}}));
}

TEST(Pagemap, ReadOnlyPagesAreZeroPages) {
  Mapping m(k64MiB);
  ASSERT_TRUE(m.ok());
  const size_t pages = k64MiB / PageSize();
  unsigned sum = 0;
  for (size_t i = 0; i < pages; ++i) sum += *static_cast<volatile unsigned char*>(m.page(i));
  EXPECT_EQ(sum, 0u);

  // Present (mapped to the shared zero page) ...
  PageScanStats raw;
  EXPECT_EQ(Runs(m.start(), m.end(), false, &raw), (std::vector<PageRun>{{m.start(), m.end()}}));
  EXPECT_EQ(raw.present, pages);
  // ... but all zeros.
  PageScanStats checked;
  EXPECT_TRUE(Runs(m.start(), m.end(), true, &checked).empty());
  EXPECT_EQ(checked.zero, pages);
  EXPECT_EQ(checked.data, 0u);
}

TEST(Pagemap, ZeroCheckKeepsNonZeroContent) {
  Mapping m(64 * PageSize());
  ASSERT_TRUE(m.ok());
  // Pages 0-9 written with zeros (present, private copies, still all zero); pages 3 and 4
  // then get one non-zero byte each, at the very start and the very end; page 20 is random-ish
  // data through the whole page; pages 21-22 are written non-zero.
  std::memset(m.page(0), 0, 10 * PageSize());
  m.page(3)[0] = 0x80;
  m.page(4)[PageSize() - 1] = 1;
  for (size_t i = 0; i < PageSize(); ++i) m.page(20)[i] = static_cast<unsigned char>(i * 131 + 7);
  std::memset(m.page(21), 0xff, 2 * PageSize());

  EXPECT_EQ(Runs(m.start(), m.end(), false),
            (std::vector<PageRun>{{m.addr(0), m.addr(10)}, {m.addr(20), m.addr(23)}}));
  PageScanStats stats;
  EXPECT_EQ(Runs(m.start(), m.end(), true, &stats),
            (std::vector<PageRun>{{m.addr(3), m.addr(5)}, {m.addr(20), m.addr(23)}}));
  EXPECT_EQ(stats.present, 13u);
  EXPECT_EQ(stats.zero, 8u);
  EXPECT_EQ(stats.data, 5u);
}

TEST(Pagemap, UnmappedHoles) {
  Mapping m(16 * PageSize());
  ASSERT_TRUE(m.ok());
  std::memset(m.base(), 0x5a, 16 * PageSize());
  ASSERT_EQ(::munmap(m.page(4), 4 * PageSize()), 0);
  ASSERT_EQ(::munmap(m.page(12), PageSize()), 0);
  const std::vector<PageRun> expect = {
      {m.addr(0), m.addr(4)}, {m.addr(8), m.addr(12)}, {m.addr(13), m.addr(16)}};
  EXPECT_EQ(Runs(m.start(), m.end(), false), expect);
  EXPECT_EQ(Runs(m.start(), m.end(), true), expect);  // holes are never read
  // Remap the holes so that the destructor's munmap covers a clean range.
  for (auto [first, n] : {std::pair<size_t, size_t>{4, 4}, {12, 1}}) {
    void* p = ::mmap(m.page(first), n * PageSize(), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
  }
}

TEST(Pagemap, EmptyAndInvalidRanges) {
  EXPECT_TRUE(Runs(0x10000, 0x10000, true).empty());
  for (auto [s, e] :
       {std::pair<uint64_t, uint64_t>{0x10001, 0x20000}, {0x10000, 0x20001}, {0x20000, 0x10000}}) {
    Result<std::vector<PageRun>> r = DataRuns(s, e, false);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

TEST(Pagemap, MergeRuns) {
  EXPECT_TRUE(MergeRuns({}).empty());
  EXPECT_EQ(MergeRuns({{0x5000, 0x6000},
                       {0x1000, 0x2000},
                       {0x2000, 0x3000},
                       {0x4000, 0x4000},
                       {0x5800, 0x7000},
                       {0x9000, 0xa000}}),
            (std::vector<PageRun>{{0x1000, 0x3000}, {0x5000, 0x7000}, {0x9000, 0xa000}}));
}

// A pagemap file written by hand: the bits decide, nothing else.
TEST(Pagemap, EntryBits) {
  cairn::testing::TempDir dir;
  const std::string path = dir / "pagemap";
  const uint64_t ps = PageSize();
  const uint64_t first = 16;  // page index where the scanned range begins
  std::vector<uint64_t> entries(first, 0);
  const uint64_t pfn = 0x1234;
  entries.push_back(kPagemapPresent | pfn);           // 16 present
  entries.push_back(pfn);                             // 17 a PFN without the present bit
  entries.push_back(kPagemapSwapped | 0x55);          // 18 swapped
  entries.push_back(kPagemapSwapped);                 // 19 swapped
  entries.push_back(1ULL << 61);                      // 20 file-page bit only
  entries.push_back(kPagemapPresent | (1ULL << 61));  // 21 present file page
  entries.push_back(kPagemapPresent | (1ULL << 55));  // 22 present, soft-dirty
  entries.push_back(0);                               // 23 nothing
  ASSERT_TRUE(cairn::testing::WriteText(
      path, std::string(reinterpret_cast<const char*>(entries.data()), entries.size() * 8)));

  PagemapReader reader(path);
  ASSERT_TRUE(reader.available());
  std::vector<PageRun> present;
  std::vector<PageRun> swapped;
  PageScanStats stats;
  ASSERT_TRUE(reader.Scan(first * ps, 24 * ps, &present, &swapped, &stats).ok());
  EXPECT_EQ(present, (std::vector<PageRun>{{16 * ps, 17 * ps}, {21 * ps, 23 * ps}}));
  EXPECT_EQ(swapped, (std::vector<PageRun>{{18 * ps, 20 * ps}}));
  EXPECT_EQ(stats.pages, 8u);
  EXPECT_EQ(stats.present, 3u);
  EXPECT_EQ(stats.swapped, 2u);

  Result<std::vector<PageRun>> data = DataRuns(reader, first * ps, 24 * ps, false);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data,
            (std::vector<PageRun>{{16 * ps, 17 * ps}, {18 * ps, 20 * ps}, {21 * ps, 23 * ps}}));

  // Past the end of the file there are no entries: kept, conservatively.
  ASSERT_TRUE(reader.Scan(22 * ps, 30 * ps, &present, &swapped, nullptr).ok());
  EXPECT_EQ(present, (std::vector<PageRun>{{22 * ps, 23 * ps}, {24 * ps, 30 * ps}}));
  EXPECT_TRUE(swapped.empty());

  // Batches: a range of more than 512 entries, all present.
  std::vector<uint64_t> many(1300, kPagemapPresent);
  many[700] = 0;
  ASSERT_TRUE(cairn::testing::WriteText(
      path, std::string(reinterpret_cast<const char*>(many.data()), many.size() * 8)));
  PagemapReader reader2(path);
  ASSERT_TRUE(reader2.Scan(ps, 1300 * ps, &present, &swapped, nullptr).ok());
  EXPECT_EQ(present, (std::vector<PageRun>{{ps, 700 * ps}, {701 * ps, 1300 * ps}}));
}

// Without a pagemap every page is data (conservative); the zero check still applies.
TEST(Pagemap, UnreadablePagemapIsConservative) {
  PagemapReader reader("/nonexistent/cairn/pagemap");
  EXPECT_FALSE(reader.available());
  EXPECT_NE(reader.open_errno(), 0);

  Mapping m(32 * PageSize());
  ASSERT_TRUE(m.ok());
  PageScanStats stats;
  Result<std::vector<PageRun>> all = DataRuns(reader, m.start(), m.end(), false, &stats);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<PageRun>{{m.start(), m.end()}}));
  EXPECT_FALSE(stats.pagemap_available);
  EXPECT_EQ(stats.present, 32u);
  EXPECT_EQ(stats.data, 32u);

  m.page(5)[100] = 3;
  Result<std::vector<PageRun>> nz = DataRuns(reader, m.start(), m.end(), true);
  ASSERT_TRUE(nz.ok());
  EXPECT_EQ(*nz, (std::vector<PageRun>{{m.addr(5), m.addr(6)}}));
}

// Shared memory a process never touched still holds the pages another process wrote: a
// second mapping of the same object sees them through mincore, not through its own pagemap.
TEST(Pagemap, ResidentRunsSeePagesWrittenThroughAnotherMapping) {
  const size_t page = PageSize();
  int fd = ::memfd_create("cairn-resident-test", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(8 * page)), 0);
  auto* writer = static_cast<unsigned char*>(
      ::mmap(nullptr, 8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  auto* reader = static_cast<unsigned char*>(
      ::mmap(nullptr, 8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(writer, MAP_FAILED);
  ASSERT_NE(reader, MAP_FAILED);
  writer[1 * page] = 1;
  writer[2 * page] = 2;
  writer[6 * page] = 6;
  const uint64_t base = reinterpret_cast<uint64_t>(reader);
  auto touched = DataRuns(base, base + 8 * page, false);
  ASSERT_TRUE(touched.ok());
  EXPECT_TRUE(touched.value().empty());  // the reader's own page tables hold nothing
  const std::vector<PageRun> want{{base + page, base + 3 * page},
                                  {base + 6 * page, base + 7 * page}};
  EXPECT_EQ(ResidentRuns(base, base + 8 * page), want);
  ::munmap(writer, 8 * page);
  ::munmap(reader, 8 * page);
  ::close(fd);
}

}  // namespace
}  // namespace cairn::transparent
