#include <gtest/gtest.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "transparent/maps.h"

namespace cairn::transparent {
namespace {

const MapRegion* Containing(const std::vector<MapRegion>& regions, uint64_t addr) {
  for (const MapRegion& r : regions) {
    if (r.start <= addr && addr < r.end) return &r;
  }
  return nullptr;
}

TEST(Maps, ParsesSampleLines) {
  // Real layouts: padding to column 73, anonymous lines ending in the inode's trailing blank.
  const std::string text =
      "55d674a00000-55d674a02000 r--p 00000000 fe:00 247498                     "
      "/usr/bin/head\n"
      "55d674a02000-55d674a08000 r-xp 00002000 fe:00 247498                     "
      "/usr/bin/head\n"
      "55d6a87a1000-55d6a87c2000 rw-p 00000000 00:00 0                          [heap]\n"
      "7f4992e33000-7f4992e8a000 rw-p 00000000 00:00 0 \n"
      "7f4992e8a000-7f4992e8b000 ---p 00000000 00:00 0\n"
      "7f4992e8b000-7f4992e9b000 rw-s 00001000 103:02 1234567               "
      "/tmp/my dir/a  file.dat\n"
      "7f4992e9b000-7f4992e9c000 r--p 00000000 fe:00 42                         "
      "/tmp/gone.bin (deleted)\n"
      "7f4992e9c000-7f4992e9d000 rw-s 00000000 00:01 7                          "
      "/memfd:buffer (deleted)\n"
      "7f4992e9d000-7f4992ea0000 rw-p 00000000 00:00 0                          "
      "[anon:glibc malloc]\n"
      "7ffc1c9e1000-7ffc1ca02000 rw-p 00000000 00:00 0                          [stack]\n"
      "7ffc1cbd5000-7ffc1cbd9000 r--p 00000000 00:00 0                          [vvar]\n"
      "7ffc1cbd9000-7ffc1cbdb000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
      "7ffc1cbdb000-7ffc1cbdd000 r-xp 00000000 00:00 0                          [vdso]\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
  Result<std::vector<MapRegion>> r = ParseMaps(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<MapRegion>& m = *r;
  ASSERT_EQ(m.size(), 14u);

  EXPECT_EQ(m[0].start, 0x55d674a00000u);
  EXPECT_EQ(m[0].end, 0x55d674a02000u);
  EXPECT_EQ(m[0].size(), 0x2000u);
  EXPECT_TRUE(m[0].read);
  EXPECT_FALSE(m[0].write);
  EXPECT_FALSE(m[0].exec);
  EXPECT_FALSE(m[0].shared);
  EXPECT_EQ(m[0].dev_major, 0xfeu);
  EXPECT_EQ(m[0].dev_minor, 0u);
  EXPECT_EQ(m[0].inode, 247498u);
  EXPECT_EQ(m[0].path, "/usr/bin/head");
  EXPECT_EQ(m[0].kind, MapRegion::kFile);
  EXPECT_FALSE(m[0].deleted);

  EXPECT_TRUE(m[1].exec);
  EXPECT_EQ(m[1].offset, 0x2000u);
  EXPECT_EQ(m[1].PermString(), "r-xp");

  EXPECT_EQ(m[2].kind, MapRegion::kHeap);
  EXPECT_EQ(m[2].path, "[heap]");
  EXPECT_TRUE(m[2].write);

  EXPECT_EQ(m[3].kind, MapRegion::kAnonymous);
  EXPECT_EQ(m[3].path, "");
  EXPECT_EQ(m[3].inode, 0u);
  EXPECT_EQ(m[4].kind, MapRegion::kAnonymous);
  EXPECT_EQ(m[4].PermString(), "---p");
  EXPECT_FALSE(m[4].read);

  EXPECT_EQ(m[5].kind, MapRegion::kFile);
  EXPECT_EQ(m[5].path, "/tmp/my dir/a  file.dat");
  EXPECT_TRUE(m[5].shared);
  EXPECT_EQ(m[5].offset, 0x1000u);
  EXPECT_EQ(m[5].dev_major, 0x103u);
  EXPECT_EQ(m[5].dev_minor, 2u);
  EXPECT_EQ(m[5].inode, 1234567u);

  EXPECT_EQ(m[6].kind, MapRegion::kFile);
  EXPECT_EQ(m[6].path, "/tmp/gone.bin");
  EXPECT_TRUE(m[6].deleted);
  EXPECT_EQ(m[7].path, "/memfd:buffer");
  EXPECT_TRUE(m[7].deleted);
  EXPECT_TRUE(m[7].shared);

  EXPECT_EQ(m[8].kind, MapRegion::kOther);
  EXPECT_EQ(m[8].path, "[anon:glibc malloc]");
  EXPECT_EQ(m[9].kind, MapRegion::kStack);
  EXPECT_EQ(m[10].kind, MapRegion::kVvar);
  EXPECT_EQ(m[11].kind, MapRegion::kVvar);
  EXPECT_EQ(m[12].kind, MapRegion::kVdso);
  EXPECT_EQ(m[13].kind, MapRegion::kVsyscall);
  EXPECT_EQ(m[13].start, 0xffffffffff600000u);
  EXPECT_EQ(m[13].end, 0xffffffffff601000u);

  for (size_t i = 0; i < m.size(); ++i) {
    bool expect = i < 10;  // everything before vvar
    EXPECT_EQ(ShouldSave(m[i]), expect) << m[i].ToString();
  }
}

TEST(Maps, MoreKinds) {
  auto one = [](const std::string& line) {
    Result<MapRegion> r = ParseMapsLine(line);
    EXPECT_TRUE(r.ok()) << line << ": " << r.status().ToString();
    return r.ok() ? *r : MapRegion{};
  };
  EXPECT_EQ(one("1000-2000 rw-p 00000000 00:00 0 [stack:1234]").kind, MapRegion::kStack);
  EXPECT_EQ(one("1000-2000 rw-s 00000000 00:01 9 [anon_shmem:x]").kind, MapRegion::kOther);
  EXPECT_EQ(one("1000-2000 r-xp 00000000 00:00 0 [uprobes]").kind, MapRegion::kOther);
  EXPECT_EQ(one("1000-2000 rw-p 00000000 00:0e 3 anon_inode:[perf_event]").kind, MapRegion::kOther);
  // A file whose name is only the suffix is not "deleted" with an empty name.
  MapRegion odd = one("1000-2000 r--p 00000000 08:01 5 /x (deleted) (deleted)");
  EXPECT_TRUE(odd.deleted);
  EXPECT_EQ(odd.path, "/x (deleted)");
  // Empty regions parse, but are not saved.
  MapRegion empty = one("1000-1000 rw-p 00000000 00:00 0");
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_FALSE(ShouldSave(empty));
  // Tabs as separators and uppercase hex are accepted.
  MapRegion t = one("A000-B000\trw-p\t0000000F\tFE:0a\t12\t/a");
  EXPECT_EQ(t.start, 0xa000u);
  EXPECT_EQ(t.offset, 0xfu);
  EXPECT_EQ(t.dev_minor, 0xau);
  EXPECT_EQ(t.path, "/a");
  // ToString round-trips.
  Result<MapRegion> back = ParseMapsLine(odd.ToString());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->path, odd.path);
  EXPECT_TRUE(back->deleted);
  EXPECT_STREQ(KindName(MapRegion::kVvar), "vvar");
}

TEST(Maps, EmptyText) {
  Result<std::vector<MapRegion>> r = ParseMaps("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  // A last line without '\n' is accepted.
  r = ParseMaps("1000-2000 rw-p 00000000 00:00 0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
}

TEST(Maps, RejectsMalformedLines) {
  const char* bad[] = {
      "",
      "garbage",
      "1000 rw-p 00000000 00:00 0",
      "1000- rw-p 00000000 00:00 0",
      "zz00-2000 rw-p 00000000 00:00 0",
      "0x1000-2000 rw-p 00000000 00:00 0",
      "2000-1000 rw-p 00000000 00:00 0",
      "10000000000000000-10000000000000001 rw-p 00000000 00:00 0",
      "1000-2000",
      "1000-2000 rw-x 00000000 00:00 0",
      "1000-2000 rwp 00000000 00:00 0",
      "1000-2000 rw-pp 00000000 00:00 0",
      "1000-2000 RW-P 00000000 00:00 0",
      "1000-2000 rw-p 0000g000 00:00 0",
      "1000-2000 rw-p 00000000 0000 0",
      "1000-2000 rw-p 00000000 00: 0",
      "1000-2000 rw-p 00000000 00:00",
      "1000-2000 rw-p 00000000 00:00 ",
      "1000-2000 rw-p 00000000 00:00 12a /x",
      "1000-2000 rw-p 00000000 00:00 -1",
      " 1000-2000 rw-p 00000000 00:00 0",
  };
  for (const char* line : bad) {
    Result<MapRegion> r = ParseMapsLine(line);
    EXPECT_FALSE(r.ok()) << "'" << line << "'";
    EXPECT_EQ(r.status().code(), Code::kCorruption) << line;
  }
}

TEST(Maps, ErrorNamesTheLine) {
  const std::string text =
      "1000-2000 rw-p 00000000 00:00 0\n"
      "2000-3000 r--p 00000000 08:01 77 /lib/x.so\n"
      "3000-4000 rw-q 00000000 00:00 0\n"
      "4000-5000 rw-p 00000000 00:00 0\n";
  Result<std::vector<MapRegion>> r = ParseMaps(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("rw-q"), std::string::npos) << r.status().ToString();

  // An empty line in the middle is malformed too.
  r = ParseMaps("1000-2000 rw-p 00000000 00:00 0\n\n2000-3000 rw-p 00000000 00:00 0\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().ToString();
}

int g_data_in_binary = 42;

TEST(Maps, ReadsOwnMaps) {
  Result<std::vector<MapRegion>> r = ReadMaps();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<MapRegion>& m = *r;
  ASSERT_FALSE(m.empty());
  for (size_t i = 1; i < m.size(); ++i) {
    EXPECT_LE(m[i - 1].end, m[i].start) << "overlap or disorder at " << m[i].ToString();
  }

  // The test binary's own text: the mapping holding this function is executable and named
  // after /proc/self/exe.
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  exe[n] = '\0';
  const MapRegion* text = Containing(m, reinterpret_cast<uintptr_t>(&Containing));
  ASSERT_NE(text, nullptr);
  EXPECT_TRUE(text->exec);
  EXPECT_TRUE(text->read);
  EXPECT_FALSE(text->write);
  EXPECT_EQ(text->kind, MapRegion::kFile);
  EXPECT_EQ(text->path, std::string(exe));
  EXPECT_NE(text->inode, 0u);
  EXPECT_TRUE(ShouldSave(*text));

  const MapRegion* data = Containing(m, reinterpret_cast<uintptr_t>(&g_data_in_binary));
  ASSERT_NE(data, nullptr);
  EXPECT_TRUE(data->write);
  EXPECT_EQ(data->path, std::string(exe));

  // The stack (gtest runs tests on the main thread).
  int local = 0;
  const MapRegion* stack = Containing(m, reinterpret_cast<uintptr_t>(&local));
  ASSERT_NE(stack, nullptr);
  EXPECT_EQ(stack->kind, MapRegion::kStack);
  EXPECT_TRUE(stack->read && stack->write && !stack->exec);
  EXPECT_TRUE(ShouldSave(*stack));

  // The vDSO, where the auxiliary vector says it is, is not saved.
  uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
  if (vdso != 0) {
    const MapRegion* v = Containing(m, vdso);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->kind, MapRegion::kVdso);
    EXPECT_FALSE(ShouldSave(*v));
  }
}

TEST(Maps, ReadsByPid) {
  Result<std::vector<MapRegion>> r = ReadMaps(::getpid());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int local = 0;
  const MapRegion* stack = Containing(*r, reinterpret_cast<uintptr_t>(&local));
  ASSERT_NE(stack, nullptr);
  EXPECT_EQ(stack->kind, MapRegion::kStack);

  Result<std::vector<MapRegion>> none = ReadMaps(INT_MAX);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find(std::to_string(INT_MAX)), std::string::npos);
}

}  // namespace
}  // namespace cairn::transparent
