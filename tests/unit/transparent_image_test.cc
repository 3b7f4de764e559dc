#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/hash.h"
#include "test_util.h"
#include "transparent/image.h"

namespace cairn::transparent {
namespace {

using cairn::testing::FlipByte;
using cairn::testing::TempDir;
using format::Codec;
using format::Filter;

const uint64_t kPs = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

// ---------------------------------------------------------------- helpers

std::string ReadAll(const std::string& path) {
  std::string s;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return s;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

uint32_t Mode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

uint64_t Le64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
void PutLe(std::string* s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*s)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Page contents: random (incompressible) or a repeating, compressible pattern.
std::string Bytes(uint64_t seed, size_t n, bool compressible) {
  std::string s(n, '\0');
  if (compressible) {
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>("cairn image "[(i + seed) % 12]);
    for (size_t i = 0; i < n; i += 4096) s[i] = static_cast<char>(seed + i / 4096);
    return s;
  }
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

struct SampleRun {
  uint64_t addr;
  std::string data;
};

struct Sample {
  ImageHeader header;
  std::vector<Region> regions;
  std::vector<ThreadState> threads;
  std::vector<FileState> files;
  SignalState signals;
  TimerState timers;
  MiscState misc;
  std::vector<std::vector<SampleRun>> pages;  // per region (empty: no PAGES section)
};

Region MakeRegion(uint64_t start, uint64_t pages, uint32_t prot, uint32_t flags,
                  const std::string& path) {
  Region r;
  r.start = start;
  r.end = start + pages * kPs;
  r.prot = prot;
  r.flags = flags;
  r.path = path;
  return r;
}

// A process with every kind of record. `big` adds more pages.
Sample MakeSample(bool big = false) {
  Sample s;
  ImageHeader& h = s.header;
  h.image_id = 0x1122334455667788ull;
  h.created_ns = 1700000000123456789ull;
  h.pid = 4242;
  h.uid = 1000;
  h.gid = 100;
  h.hostname = "node17";
  h.kernel_release = "6.1.0-test";
  h.exe_path = "/usr/bin/my app";
  h.cwd = "/home/u/run";
  h.argv = {"my app", "--steps", "", "x y"};
  h.env = {"HOME=/home/u", "EMPTY=", "LD_PRELOAD=/opt/cairn/lib/libcairn_preload.so"};
  h.vdso_addr = 0x7fff00002000;
  h.vdso_size = 2 * kPs;
  h.vvar_addr = 0x7fff00000000;
  h.vvar_size = 2 * kPs;
  h.restart_entry = 0x7f0000001234;

  s.regions.push_back(MakeRegion(0x10000000, 256, kProtRead | kProtWrite,
                                 kRegionPrivate | kRegionAnonymous | kRegionHeap, "[heap]"));
  Region lib = MakeRegion(0x20000000, 4, kProtRead | kProtExec, kRegionPrivate | kRegionFileBacked,
                          "/usr/lib/lib foo.so");
  lib.file_offset = 0x3000;
  lib.dev_major = 8;
  lib.dev_minor = 1;
  lib.inode = 123456;
  s.regions.push_back(lib);
  Region shm = MakeRegion(0x30000000, 2, kProtRead | kProtWrite,
                          kRegionShared | kRegionFileBacked | kRegionDeleted, "/dev/shm/x");
  s.regions.push_back(shm);
  s.regions.push_back(MakeRegion(0x7ff000000000, 33, kProtRead | kProtWrite,
                                 kRegionPrivate | kRegionAnonymous | kRegionStack, "[stack]"));
  s.regions.push_back(MakeRegion(0x7fff00002000, 2, kProtRead | kProtExec,
                                 kRegionPrivate | kRegionAnonymous | kRegionVdso, "[vdso]"));

  s.pages.resize(s.regions.size());
  // Heap: single pages, adjacent runs, a multi-page run.
  s.pages[0].push_back({0x10000000, Bytes(1, kPs, true)});
  s.pages[0].push_back({0x10000000 + 2 * kPs, Bytes(2, kPs, false)});
  s.pages[0].push_back({0x10000000 + 3 * kPs, Bytes(3, kPs, true)});
  s.pages[0].push_back({0x10000000 + 20 * kPs, Bytes(4, (big ? 100 : 2) * kPs, true)});
  s.pages[1].push_back({0x20000000, Bytes(5, (big ? 4 : 1) * kPs, false)});
  // Region 2 (shared) has an empty PAGES section, region 4 (vDSO) none.
  s.pages[3].push_back({0x7ff000000000 + 31 * kPs, Bytes(6, 2 * kPs, false)});

  ThreadState t1;
  t1.tid = 4242;
  t1.context = Bytes(7, 936, false);
  t1.fs_base = 0x7f00000a0740;
  t1.sigmask = 1ull << 9;
  t1.rseq_area = 0x7f00000a0e00;
  t1.rseq_len = 32;
  t1.rseq_sig = 0x53053053;
  t1.affinity = std::string(16, '\x0f');
  t1.altstack_sp = 0x7f0000200000;
  t1.altstack_size = 65536;
  t1.altstack_flags = 0;
  ThreadState t2 = t1;
  t2.tid = 4243;
  t2.checkpoint_thread = true;
  t2.context = Bytes(8, 936, false);
  t2.rseq_area = 0;
  t2.rseq_len = 0;
  t2.rseq_sig = 0;
  s.threads = {t1, t2};

  FileState f;
  f.fd = 0;
  f.kind = FileKind::kTty;
  f.open_flags = 02;
  f.offset = -1;
  f.path = "/dev/pts/3";
  s.files.push_back(f);
  f = FileState();
  f.fd = 3;
  f.kind = FileKind::kRegular;
  f.open_flags = 0;
  f.fd_flags = 1;
  f.offset = 4096;
  f.mode = 0100644;
  f.path = "/data/in put.txt";
  f.size = 123456789;
  f.mtime_ns = 1690000000000000001;
  s.files.push_back(f);
  f.fd = 4;
  f.path = "/tmp/scratch";
  f.content = std::string("deleted\0file\ncontent", 20);
  f.size = f.content.size();
  f.content_included = true;
  s.files.push_back(f);
  f = FileState();
  f.fd = 5;
  f.kind = FileKind::kPipe;
  f.offset = -1;
  f.path = "pipe:[991]";
  f.pipe_id = 7;
  f.pipe_data = std::string("in\0flight", 9);
  s.files.push_back(f);
  f.fd = 6;
  f.open_flags = 01;
  f.pipe_data.clear();
  s.files.push_back(f);
  for (auto [fd, kind] : {std::pair{7, FileKind::kSocket}, std::pair{8, FileKind::kDirectory},
                          std::pair{9, FileKind::kFifo}, std::pair{10, FileKind::kOther}}) {
    FileState g;
    g.fd = fd;
    g.kind = kind;
    g.path = std::string("object ") + FileKindName(kind);
    s.files.push_back(g);
  }
  // Event objects (transparent/objects/): their state rides in the records' trailing fields.
  f = FileState();
  f.fd = 11;
  f.kind = FileKind::kEventfd;
  f.path = "anon_inode:[eventfd]";
  f.object.count = 0xfffffffffffull;
  f.object.flags = 1;
  s.files.push_back(f);
  f.fd = 12;
  f.kind = FileKind::kTimerfd;
  f.path = "anon_inode:[timerfd]";
  f.object = EventObjectState{};
  f.object.flags = 1;
  f.object.count = 3;
  f.object.value_ns = 4000001;
  f.object.interval_ns = 5000000;
  s.files.push_back(f);
  f.fd = 13;
  f.kind = FileKind::kSignalfd;
  f.path = "anon_inode:[signalfd]";
  f.object = EventObjectState{};
  f.object.mask = (1ull << 9) | (1ull << 11);
  s.files.push_back(f);
  f.fd = 14;
  f.kind = FileKind::kEpoll;
  f.path = "anon_inode:[eventpoll]";
  f.object = EventObjectState{};
  f.object.targets = {{11, 0x80000001u, 0x1111}, {5, 1u, ~0ull}};
  s.files.push_back(f);
  f.fd = 15;
  f.kind = FileKind::kEventfd;
  f.path = "anon_inode:[eventfd]";
  f.object = EventObjectState{};
  f.object.same_as = 11;
  s.files.push_back(f);
  f = FileState();  // a UNIX socket with queued messages (transparent/objects/socket.h)
  f.fd = 16;
  f.kind = FileKind::kSocket;
  f.path = "socket:[77]";
  f.socket.family = 1;
  f.socket.type = 5;
  f.socket.id = 77;
  f.socket.peer = 78;
  f.socket.shutdown = 2;
  f.socket.name = std::string("\0abstract", 9);
  f.socket.queued = {"first", "", std::string("th\0rd", 5)};
  s.files.push_back(f);
  f = FileState();  // a TCP connection (transparent/objects/tcp.h, revision 3)
  f.fd = 18;
  f.kind = FileKind::kSocket;
  f.path = "socket:[79]";
  f.socket.family = 2;  // AF_INET
  f.socket.type = 1;    // SOCK_STREAM
  f.socket.id = 79;
  f.socket.peer = SocketState::kUnnamedPeer;
  f.socket.options = 8 | 16;  // TCP_NODELAY, SO_KEEPALIVE
  f.socket.name = std::string("\x02\x00\x1f\x90\x7f\x00\x00\x01", 8) + std::string(8, '\0');
  f.socket.peer_name = std::string("\x02\x00\x9c\x40\x7f\x00\x00\x01", 8) + std::string(8, '\0');
  f.socket.queued = {"in flight"};
  s.files.push_back(f);
  f = FileState();  // an inotify instance (transparent/objects/inotify.cc, revision 4)
  f.fd = 19;
  f.kind = FileKind::kInotify;
  f.path = "anon_inode:inotify";
  f.object.watches = {{1, 0x100, 4242, 0xfe00000, "/data/in"}, {3, 0x8, 4243, 0xfe00000, ""}};
  s.files.push_back(f);
  f = FileState();  // a pty slave, the controlling terminal (transparent/objects/tty.h, rev. 5)
  f.fd = 20;
  f.kind = FileKind::kTty;
  f.path = "/dev/pts/7";
  f.tty.index = 7;
  f.tty.flags = 2 | 4;
  f.tty.termios = Bytes(14, 60, false);
  f.tty.winsize = Bytes(15, 8, false);
  f.tty.foreground = 4242;
  s.files.push_back(f);
  f = FileState();  // a regular file with locks (transparent/objects/file_lock.h)
  f.fd = 17;
  f.kind = FileKind::kRegular;
  f.offset = 0;
  f.path = "/data/locked";
  f.locks = {{1, true, 0, -1}, {2, false, 10, 19}, {3, true, 50, -1}};
  s.files.push_back(f);

  s.signals.actions = {
      {2, Bytes(9, 152, false)}, {10, Bytes(10, 152, false)}, {34, Bytes(11, 152, false)}};
  s.signals.process_pending = (1ull << 1) | (1ull << 33);
  s.signals.thread_pending = {{4242, 1ull << 9}, {4243, 0}};

  s.timers.real = {1500000000, 0};
  s.timers.prof = {10000000, 10000000};
  s.timers.posix_timers = {{0, 1, Bytes(12, 64, false), 250000000, 1000000000, 0},
                           {1, 0, Bytes(13, 64, false), 0, 0, 3}};

  s.misc.brk_start = 0x10000000;
  s.misc.brk_current = 0x10040000;
  s.misc.personality = 0;
  s.misc.umask = 022;
  s.misc.rlimits = {{3, 8 << 20, ~0ull}, {7, 1024, 4096}};
  return s;
}

Status WriteSample(const Sample& s, const std::string& path, const WriteOptions& o) {
  auto w = ImageWriter::Create(Env::Default(), path, o);
  if (!w.ok()) return w.status();
  ImageWriter& iw = *w.value();
  CAIRN_RETURN_IF_ERROR(iw.WriteHeader(s.header));
  CAIRN_RETURN_IF_ERROR(iw.WriteMisc(s.misc));
  CAIRN_RETURN_IF_ERROR(iw.WriteRegions(s.regions));
  for (size_t i = 0; i < s.regions.size(); ++i) {
    if (i == 4) continue;  // the vDSO: no PAGES section
    CAIRN_RETURN_IF_ERROR(iw.BeginPages(s.regions[i].start, s.regions[i].end));
    for (const SampleRun& r : s.pages[i]) {
      CAIRN_RETURN_IF_ERROR(iw.AddPageRun(r.addr, r.data.data(), r.data.size()));
    }
    CAIRN_RETURN_IF_ERROR(iw.EndPages());
  }
  CAIRN_RETURN_IF_ERROR(iw.WriteThreads(s.threads));
  CAIRN_RETURN_IF_ERROR(iw.WriteFiles(s.files));
  CAIRN_RETURN_IF_ERROR(iw.WriteSignals(s.signals));
  CAIRN_RETURN_IF_ERROR(iw.WriteTimers(s.timers));
  return iw.Commit();
}

// Page contents as coalesced extents: address -> bytes.
using Extents = std::map<uint64_t, std::string>;

void AddExtent(Extents* e, uint64_t addr, const void* data, uint64_t len) {
  if (!e->empty()) {
    auto& last = *e->rbegin();
    if (last.first + last.second.size() == addr) {
      last.second.append(static_cast<const char*>(data), len);
      return;
    }
  }
  (*e)[addr] = std::string(static_cast<const char*>(data), len);
}

Extents Expected(const Sample& s) {
  Extents e;
  for (const auto& region : s.pages)
    for (const SampleRun& r : region) AddExtent(&e, r.addr, r.data.data(), r.data.size());
  return e;
}

Result<Extents> ReadExtents(ImageReader* r) {
  Extents e;
  uint64_t last_end = 0;
  Status st = r->ReadPages([&](uint64_t addr, const void* data, uint64_t len) {
    if (addr < last_end) return Status::Internal("runs out of order");
    last_end = addr + len;
    AddExtent(&e, addr, data, len);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return e;
}

void ExpectHeaderEq(const ImageHeader& want, const ImageHeader& got) {
  EXPECT_EQ(got.format_version, kImageFormatVersion);
  EXPECT_EQ(got.image_id, want.image_id);
  EXPECT_EQ(got.created_ns, want.created_ns);
  EXPECT_EQ(got.pid, want.pid);
  EXPECT_EQ(got.uid, want.uid);
  EXPECT_EQ(got.gid, want.gid);
  EXPECT_EQ(got.page_size, want.page_size == 0 ? kPs : want.page_size);
  EXPECT_EQ(got.hostname, want.hostname);
  EXPECT_EQ(got.kernel_release, want.kernel_release);
  EXPECT_EQ(got.arch, want.arch.empty() ? std::string(HostArch()) : want.arch);
  EXPECT_EQ(got.exe_path, want.exe_path);
  EXPECT_EQ(got.cwd, want.cwd);
  EXPECT_EQ(got.argv, want.argv);
  EXPECT_EQ(got.env, want.env);
  EXPECT_EQ(got.vdso_addr, want.vdso_addr);
  EXPECT_EQ(got.vdso_size, want.vdso_size);
  EXPECT_EQ(got.vvar_addr, want.vvar_addr);
  EXPECT_EQ(got.vvar_size, want.vvar_size);
  EXPECT_EQ(got.restart_entry, want.restart_entry);
}

void ExpectSampleEq(const Sample& s, ImageReader* r) {
  ExpectHeaderEq(s.header, r->header());
  EXPECT_EQ(r->regions(), s.regions);
  EXPECT_EQ(r->threads(), s.threads);
  EXPECT_EQ(r->files(), s.files);
  EXPECT_EQ(r->signals(), s.signals);
  EXPECT_EQ(r->timers(), s.timers);
  EXPECT_EQ(r->misc(), s.misc);
  ASSERT_EQ(r->pages().size(), 4u);
  EXPECT_EQ(r->pages()[2].runs, 0u);
  EXPECT_EQ(r->pages()[2].raw_bytes, 0u);
  auto got = ReadExtents(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got.value() == Expected(s));
}

struct CodecCase {
  const char* name;
  Codec codec;
  Filter filter;
  int threads;
};

WriteOptions OptionsFor(const CodecCase& c) {
  WriteOptions o;
  o.codec = c.codec;
  o.filter = c.filter;
  o.threads = c.threads;
  return o;
}

// ---------------------------------------------------------------- round trips

class TransparentImageCodecTest : public ::testing::TestWithParam<CodecCase> {};

TEST_P(TransparentImageCodecTest, RoundTripEverySection) {
  TempDir dir;
  const std::string path = dir / "img";
  Sample s = MakeSample();
  ASSERT_TRUE(WriteSample(s, path, OptionsFor(GetParam())).ok());
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_FALSE(Exists(path + ".tmp"));
  for (bool verify : {true, false}) {
    OpenOptions oo;
    oo.verify_pages = verify;
    oo.threads = GetParam().threads;
    auto r = ImageReader::Open(Env::Default(), path, oo);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r.value()->compressed(),
              GetParam().codec != Codec::kNone || GetParam().filter != Filter::kNone);
    for (SectionType t :
         {SectionType::kRegions, SectionType::kPages, SectionType::kThreads, SectionType::kFiles,
          SectionType::kSignals, SectionType::kTimers, SectionType::kMisc, SectionType::kEnd}) {
      EXPECT_TRUE(r.value()->has_section(t)) << SectionTypeName(static_cast<uint32_t>(t));
    }
    EXPECT_EQ(r.value()->sections().size(), 11u);  // 6 metadata + 4 PAGES + END
    ExpectSampleEq(s, r.value().get());
  }
}

TEST_P(TransparentImageCodecTest, LargePageRuns) {
  TempDir dir;
  const std::string path = dir / "big";
  const uint64_t kMiB = 1 << 20;
  std::vector<Region> regions = {MakeRegion(0x100000000, (80 * kMiB) / kPs, kProtRead | kProtWrite,
                                            kRegionPrivate | kRegionAnonymous, ""),
                                 MakeRegion(0x200000000, (64 * kMiB) / kPs, kProtRead | kProtWrite,
                                            kRegionPrivate | kRegionAnonymous, "")};
  // 64 MiB in 1 MiB pieces, alternately compressible and random, with holes of one page
  // every 8 MiB; then a single 64 MiB call; then many single pages.
  std::string data = Bytes(99, 64 * kMiB, true);
  std::string random = Bytes(98, 16 * kMiB, false);
  std::memcpy(&data[8 * kMiB], random.data(), random.size());
  Hasher want;
  uint64_t want_bytes = 0;
  {
    auto w = ImageWriter::Create(Env::Default(), path, OptionsFor(GetParam()));
    ASSERT_TRUE(w.ok());
    ImageWriter& iw = *w.value();
    ASSERT_TRUE(iw.WriteHeader(MakeSample().header).ok());
    ASSERT_TRUE(iw.WriteRegions(regions).ok());
    ASSERT_TRUE(iw.BeginPages(regions[0].start, regions[0].end).ok());
    for (uint64_t off = 0; off < 64 * kMiB; off += kMiB) {
      uint64_t skip = (off % (8 * kMiB) == 0) ? kPs : 0;  // leave a page out
      ASSERT_TRUE(
          iw.AddPageRun(regions[0].start + off + skip, data.data() + off + skip, kMiB - skip).ok());
      want.Update(data.data() + off + skip, kMiB - skip);
      want_bytes += kMiB - skip;
    }
    for (uint64_t p = 0; p < 64; ++p) {  // single pages, every other page
      uint64_t addr = regions[0].start + 64 * kMiB + 2 * p * kPs;
      ASSERT_TRUE(iw.AddPageRun(addr, data.data() + p * kPs, kPs).ok());
      want.Update(data.data() + p * kPs, kPs);
      want_bytes += kPs;
    }
    ASSERT_TRUE(iw.EndPages().ok());
    ASSERT_TRUE(iw.BeginPages(regions[1].start, regions[1].end).ok());
    ASSERT_TRUE(iw.AddPageRun(regions[1].start, data.data(), data.size()).ok());
    want.Update(data.data(), data.size());
    want_bytes += data.size();
    ASSERT_TRUE(iw.Commit().ok());
    EXPECT_EQ(iw.page_bytes_raw(), want_bytes);
    if (GetParam().codec != Codec::kNone) {
      EXPECT_LT(iw.page_bytes_stored(), want_bytes * 6 / 10);
      EXPECT_LT(iw.bytes_written(), want_bytes * 6 / 10);
    } else {
      EXPECT_EQ(iw.page_bytes_stored(), want_bytes);
    }
  }
  OpenOptions oo;
  oo.threads = GetParam().threads;
  auto r = ImageReader::Open(Env::Default(), path, oo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value()->pages().size(), 2u);
  EXPECT_EQ(r.value()->pages()[0].raw_bytes + r.value()->pages()[1].raw_bytes, want_bytes);
  Hasher got;
  uint64_t got_bytes = 0, calls = 0, prev_end = 0;
  Status st = r.value()->ReadPages([&](uint64_t addr, const void* p, uint64_t len) {
    EXPECT_GE(addr, prev_end);
    EXPECT_EQ(addr % kPs, 0u);
    prev_end = addr + len;
    got.Update(p, len);
    got_bytes += len;
    ++calls;
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(got_bytes, want_bytes);
  EXPECT_EQ(got.Digest(), want.Digest());
  EXPECT_GE(calls, 64u + 64u + 1u);
  // A callback error stops the walk and is returned as is.
  int n = 0;
  st = r.value()->ReadPages([&](uint64_t, const void*, uint64_t) {
    return ++n == 3 ? Status::NoSpace("stop") : Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kNoSpace);
  EXPECT_EQ(n, 3);
  // ReadPageLocations: the same runs; raw batches say where their bytes are in the file
  // (what the restorer reads), compressed ones say kNotInFile.
  const bool raw = GetParam().codec == Codec::kNone && GetParam().filter == Filter::kNone;
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Hasher located;
  uint64_t located_bytes = 0;
  std::string buf;
  st = r.value()->ReadPageLocations([&](uint64_t, const void* p, uint64_t len, uint64_t at) {
    located.Update(p, len);
    located_bytes += len;
    if (!raw) {
      EXPECT_EQ(at, ImageReader::kNotInFile);
      return Status::Ok();
    }
    buf.resize(len);
    EXPECT_EQ(::pread(fd, buf.data(), len, static_cast<off_t>(at)), static_cast<ssize_t>(len));
    EXPECT_EQ(std::memcmp(buf.data(), p, len), 0) << "at " << at;
    return Status::Ok();
  });
  ::close(fd);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(located_bytes, want_bytes);
  EXPECT_EQ(located.Digest(), want.Digest());
}

INSTANTIATE_TEST_SUITE_P(TransparentImage, TransparentImageCodecTest,
                         ::testing::Values(CodecCase{"raw", Codec::kNone, Filter::kNone, 1},
                                           CodecCase{"zstd_t1", Codec::kZstd, Filter::kNone, 1},
                                           CodecCase{"zstd_t2", Codec::kZstd, Filter::kNone, 2},
                                           CodecCase{"zstd_shuffle_t2", Codec::kZstd,
                                                     Filter::kShuffle8, 2},
                                           CodecCase{"lz4", Codec::kLz4, Filter::kNone, 1}),
                         [](const auto& tc) { return std::string(tc.param.name); });

TEST(TransparentImage, EmptySections) {
  TempDir dir;
  const std::string path = dir / "empty";
  Region r = MakeRegion(0x40000000, 4, kProtRead, kRegionPrivate | kRegionAnonymous, "");
  {
    auto w = ImageWriter::Create(Env::Default(), path, {});
    ASSERT_TRUE(w.ok());
    ImageWriter& iw = *w.value();
    ASSERT_TRUE(iw.WriteHeader(ImageHeader()).ok());
    EXPECT_NE(iw.header().image_id, 0u);
    EXPECT_NE(iw.header().created_ns, 0u);
    ASSERT_TRUE(iw.WriteRegions({r}).ok());
    ASSERT_TRUE(iw.BeginPages(r.start, r.end).ok());
    ASSERT_TRUE(iw.AddPageRun(r.start, "x", 0).ok());  // len 0: nothing
    ASSERT_TRUE(iw.EndPages().ok());
    ASSERT_TRUE(iw.WriteThreads({}).ok());
    ASSERT_TRUE(iw.WriteFiles({}).ok());
    ASSERT_TRUE(iw.WriteSignals({}).ok());
    ASSERT_TRUE(iw.WriteTimers({}).ok());
    ASSERT_TRUE(iw.WriteMisc({}).ok());
    ASSERT_TRUE(iw.WriteOptionalSection(kOptionalSectionBit | 5, nullptr, 0).ok());
    ASSERT_TRUE(iw.Commit().ok());
  }
  auto rd = ImageReader::Open(Env::Default(), path);
  ASSERT_TRUE(rd.ok()) << rd.status().ToString();
  EXPECT_TRUE(rd.value()->has_section(SectionType::kThreads));
  EXPECT_TRUE(rd.value()->threads().empty());
  EXPECT_TRUE(rd.value()->files().empty());
  EXPECT_EQ(rd.value()->signals(), SignalState());
  EXPECT_EQ(rd.value()->timers(), TimerState());
  EXPECT_EQ(rd.value()->misc(), MiscState());
  ASSERT_EQ(rd.value()->pages().size(), 1u);
  EXPECT_EQ(rd.value()->pages()[0].batches, 0u);
  auto e = ReadExtents(rd.value().get());
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e.value().empty());

  // Header only (plus END): every section absent.
  const std::string bare = dir / "bare";
  {
    WriteOptions o;
    o.codec = Codec::kZstd;
    auto w = ImageWriter::Create(Env::Default(), bare, o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value()->WriteHeader(MakeSample().header).ok());
    ASSERT_TRUE(w.value()->Commit().ok());
  }
  auto rb = ImageReader::Open(Env::Default(), bare);
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  ExpectHeaderEq(MakeSample().header, rb.value()->header());
  EXPECT_FALSE(rb.value()->has_section(SectionType::kRegions));
  EXPECT_FALSE(rb.value()->has_section(SectionType::kPages));
  EXPECT_TRUE(rb.value()->regions().empty());
  EXPECT_EQ(rb.value()->sections().size(), 1u);  // END
  EXPECT_TRUE(ReadExtents(rb.value().get()).ok());
}

TEST(TransparentImage, OptionalSectionsAreSkippedButChecked) {
  TempDir dir;
  const std::string path = dir / "opt";
  const std::string blob = "future extension state";
  {
    auto w = ImageWriter::Create(Env::Default(), path, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value()->WriteHeader({}).ok());
    EXPECT_EQ(w.value()->WriteOptionalSection(42, "x", 1).code(), Code::kInvalidArgument);
    ASSERT_TRUE(
        w.value()->WriteOptionalSection(kOptionalSectionBit | 42, blob.data(), blob.size()).ok());
    ASSERT_TRUE(w.value()->WriteMisc({}).ok());
    ASSERT_TRUE(w.value()->Commit().ok());
  }
  auto r = ImageReader::Open(Env::Default(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value()->sections().size(), 3u);
  const SectionInfo opt = r.value()->sections()[0];
  EXPECT_EQ(opt.type, kOptionalSectionBit | 42);
  auto payload = r.value()->ReadSection(opt);
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(payload.value(), blob);
  // Clearing bit 31 makes it an unknown mandatory type: refused.
  std::string bytes = ReadAll(path);
  PutLe(&bytes, opt.offset, 42, 4);
  ASSERT_TRUE(cairn::testing::WriteText(path, bytes));
  auto bad = ImageReader::Open(Env::Default(), path);
  ASSERT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_NE(bad.status().message().find("unknown section type"), std::string::npos);
}

// ---------------------------------------------------------------- the documented layout

TEST(TransparentImage, LayoutMatchesTheSchema) {
  TempDir dir;
  const std::string path = dir / "img";
  Sample s = MakeSample();
  ASSERT_TRUE(WriteSample(s, path, {}).ok());
  const std::string b = ReadAll(path);
  ASSERT_GT(b.size(), 64u);
  EXPECT_EQ(b.substr(0, 8), "CAIRNIMG");
  EXPECT_EQ(Le64(b, 8) & 0xffff, kImageFormatVersion);
  EXPECT_EQ((Le64(b, 8) >> 16) & 0xffff, kImageByteOrderMark);
  EXPECT_EQ((Le64(b, 8) >> 32), kImageFlagBatchHashes);  // flags: not compressed
  const uint64_t body = Le64(b, 16) & 0xffffffff;
  EXPECT_EQ(Le64(b, 24), s.header.image_id);  // first body field
  const uint64_t hdr_end = 24 + body;
  EXPECT_EQ(Le64(b, hdr_end), Hash64(b.data(), hdr_end));

  auto r = ImageReader::Open(Env::Default(), path);
  ASSERT_TRUE(r.ok());
  uint64_t chain = Le64(b, hdr_end);
  uint64_t off = hdr_end + 8;
  uint64_t count = 0;
  for (const SectionInfo& si : r.value()->sections()) {
    ASSERT_EQ(si.offset, off);
    const uint32_t type = static_cast<uint32_t>(Le64(b, off) & 0xffffffff);
    const uint64_t len = Le64(b, off + 4);
    ASSERT_EQ(type, si.type);
    ASSERT_EQ(len, si.length);
    if (type == static_cast<uint32_t>(SectionType::kPages)) {
      // kImageFlagBatchHashes: the region bounds, then each batch's hash, which covers the
      // batch from its run count through its data.
      std::string covered = b.substr(off + 12, 16);
      for (uint64_t at = off + 12 + 16; at < off + 12 + len;) {
        const uint64_t runs = Le64(b, at) & 0xffffffff;
        const uint64_t stored = Le64(b, at + 16);
        const uint64_t batch = 24 + 16 * runs + stored;
        EXPECT_EQ(Le64(b, at + batch), Hash64(b.data() + at, batch));
        covered += b.substr(at + batch, 8);
        at += batch + 8;
      }
      EXPECT_EQ(Le64(b, off + 12 + len), Hash64(covered.data(), covered.size()));
    } else {
      EXPECT_EQ(Le64(b, off + 12 + len), Hash64(b.data() + off + 12, len));
    }
    if (type == static_cast<uint32_t>(SectionType::kEnd)) {
      EXPECT_EQ(len, 16u);
      EXPECT_EQ(Le64(b, off + 12), count);
      EXPECT_EQ(Le64(b, off + 20), chain);
      EXPECT_EQ(off + 20 + len, b.size());
    } else {
      std::string link(28, '\0');
      PutLe(&link, 0, chain, 8);
      PutLe(&link, 8, type, 4);
      PutLe(&link, 12, len, 8);
      PutLe(&link, 20, si.hash, 8);
      chain = Hash64(link.data(), link.size());
      ++count;
    }
    off += 20 + len;
  }
}

// ---------------------------------------------------------------- damage

// Every truncation is kCorruption.
void CheckEveryTruncation(const WriteOptions& o) {
  TempDir dir;
  const std::string good = dir / "good", cut = dir / "cut";
  ASSERT_TRUE(WriteSample(MakeSample(), good, o).ok());
  const std::string b = ReadAll(good);
  ASSERT_TRUE(cairn::testing::WriteText(cut, b));
  for (size_t n = b.size(); n-- > 0;) {
    ASSERT_EQ(::truncate(cut.c_str(), static_cast<off_t>(n)), 0);
    for (bool verify : {true, false}) {
      OpenOptions oo;
      oo.verify_pages = verify;
      auto r = ImageReader::Open(Env::Default(), cut, oo);
      ASSERT_EQ(r.status().code(), Code::kCorruption)
          << "truncated to " << n << " of " << b.size() << ": " << r.status().ToString();
    }
  }
}

TEST(TransparentImage, EveryTruncationIsCorruption) { CheckEveryTruncation({}); }

TEST(TransparentImage, EveryTruncationIsCorruptionCompressed) {
  WriteOptions o;
  o.codec = Codec::kZstd;
  o.threads = 2;
  CheckEveryTruncation(o);
}

// Flipping any byte is refused: by Open, or (page data, verify_pages off) by ReadPages before
// the damaged batch reaches the callback. The version field gives kInvalidArgument (it then
// reads as a newer version), everything else kCorruption.
void CheckEveryByteFlip(const WriteOptions& o) {
  TempDir dir;
  const std::string path = dir / "img";
  Sample s = MakeSample();
  ASSERT_TRUE(WriteSample(s, path, o).ok());
  const uint64_t size = ReadAll(path).size();
  const Extents want = Expected(s);
  for (uint64_t at = 0; at < size; ++at) {
    ASSERT_TRUE(FlipByte(path, static_cast<long long>(at)));
    const Code want_code = (at == 8 || at == 9) ? Code::kInvalidArgument : Code::kCorruption;
    auto r = ImageReader::Open(Env::Default(), path);
    ASSERT_EQ(r.status().code(), want_code) << "flip at " << at << ": " << r.status().ToString();
    OpenOptions fast;
    fast.verify_pages = false;
    auto r2 = ImageReader::Open(Env::Default(), path, fast);
    if (r2.ok()) {
      bool delivered_bad = false;
      Status st = r2.value()->ReadPages([&](uint64_t addr, const void* p, uint64_t len) {
        // Every delivered run must be intact: damage never reaches the callback.
        auto it = want.upper_bound(addr);
        if (it == want.begin()) {
          delivered_bad = true;
        } else {
          --it;
          const uint64_t rel = addr - it->first;
          delivered_bad |=
              rel + len > it->second.size() || std::memcmp(it->second.data() + rel, p, len) != 0;
        }
        return Status::Ok();
      });
      EXPECT_FALSE(delivered_bad) << "flip at " << at;
      ASSERT_EQ(st.code(), Code::kCorruption) << "flip at " << at << ": " << st.ToString();
    } else {
      ASSERT_EQ(r2.status().code(), want_code) << "flip at " << at;
    }
    ASSERT_TRUE(FlipByte(path, static_cast<long long>(at)));
  }
  ASSERT_TRUE(ImageReader::Open(Env::Default(), path).ok());
}

TEST(TransparentImage, EveryByteFlipIsRefused) { CheckEveryByteFlip({}); }

TEST(TransparentImage, EveryByteFlipIsRefusedCompressed) {
  WriteOptions o;
  o.codec = Codec::kZstd;
  o.threads = 2;
  CheckEveryByteFlip(o);
}

// Several random bytes changed at once (also in length fields): always refused, never a crash
// or an out-of-bounds access (run under the sanitizers).
TEST(TransparentImage, RandomDamageIsRefused) {
  TempDir dir;
  const std::string good = dir / "good", bad = dir / "bad";
  WriteOptions o;
  o.codec = Codec::kLz4;
  ASSERT_TRUE(WriteSample(MakeSample(), good, o).ok());
  const std::string b = ReadAll(good);
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 1500; ++iter) {
    std::string m = b;
    const int changes = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < changes; ++k) {
      size_t at = rng() % m.size();
      m[at] = static_cast<char>(m[at] ^ (1 + rng() % 255));
    }
    ASSERT_TRUE(cairn::testing::WriteText(bad, m));
    for (bool verify : {true, false}) {
      OpenOptions oo;
      oo.verify_pages = verify;
      auto r = ImageReader::Open(Env::Default(), bad, oo);
      Status st = r.status();
      if (r.ok())
        st = r.value()->ReadPages([](uint64_t, const void*, uint64_t) { return Status::Ok(); });
      ASSERT_FALSE(st.ok()) << "iteration " << iter;
      ASSERT_TRUE(st.code() == Code::kCorruption || st.code() == Code::kInvalidArgument)
          << st.ToString();
    }
  }
}

TEST(TransparentImage, ForeignFilesAreRefused) {
  TempDir dir;
  const std::string p = dir / "f";
  auto open = [&](const std::string& content) {
    EXPECT_TRUE(cairn::testing::WriteText(p, content));
    return ImageReader::Open(Env::Default(), p).status();
  };
  for (const std::string& content :
       {std::string(), std::string("CAIRN"), std::string("hello world, not an image\n"),
        std::string("CAIRNCKP") + std::string(200, '\0'), Bytes(5, 4096, false),
        std::string("\x7f"
                    "ELF\x02\x01\x01",
                    7) +
            std::string(100, '\0')}) {
    Status st = open(content);
    EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find("not a cairn process image"), std::string::npos) << st.ToString();
  }
  EXPECT_EQ(ImageReader::Open(Env::Default(), dir / "missing").status().code(), Code::kNotFound);

  // An image of another architecture.
  Sample s = MakeSample();
  s.header.arch = "aarch64";
  ASSERT_TRUE(WriteSample(s, p, {}).ok());
  Status st = ImageReader::Open(Env::Default(), p).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("architecture 'aarch64'"), std::string::npos) << st.ToString();
}

// Rewrites the header's version (and its hash, so only the version is "wrong").
void SetVersion(const std::string& path, uint16_t version) {
  std::string b = ReadAll(path);
  PutLe(&b, 8, version, 2);
  const uint64_t hdr_end = 24 + (Le64(b, 16) & 0xffffffff);
  PutLe(&b, hdr_end, Hash64(b.data(), hdr_end), 8);
  ASSERT_TRUE(cairn::testing::WriteText(path, b));
}

TEST(TransparentImage, NewerVersionIsInvalidArgument) {
  TempDir dir;
  const std::string path = dir / "img";
  ASSERT_TRUE(WriteSample(MakeSample(), path, {}).ok());
  SetVersion(path, kImageFormatVersion + 1);
  Status st = ImageReader::Open(Env::Default(), path).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("newer"), std::string::npos) << st.ToString();
  SetVersion(path, 0);
  EXPECT_EQ(ImageReader::Open(Env::Default(), path).status().code(), Code::kCorruption);
  SetVersion(path, kImageFormatVersion);
  EXPECT_TRUE(ImageReader::Open(Env::Default(), path).ok());
}

TEST(TransparentImage, ReorderedMissingDuplicatedOrExtraSectionsAreCorruption) {
  TempDir dir;
  const std::string path = dir / "img", bad = dir / "bad";
  ASSERT_TRUE(WriteSample(MakeSample(), path, {}).ok());
  const std::string b = ReadAll(path);
  auto r = ImageReader::Open(Env::Default(), path);
  ASSERT_TRUE(r.ok());
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> where;  // first section of each type
  for (const SectionInfo& s : r.value()->sections()) {
    where.emplace(s.type, std::pair{s.offset, 20 + s.length});
  }
  auto piece = [&](SectionType t) {
    auto [off, len] = where.at(static_cast<uint32_t>(t));
    return b.substr(off, len);
  };
  auto expect = [&](const std::string& content, const std::string& words) {
    ASSERT_TRUE(cairn::testing::WriteText(bad, content));
    Status st = ImageReader::Open(Env::Default(), bad).status();
    EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find(words), std::string::npos) << st.ToString();
  };
  // THREADS, FILES, SIGNALS, TIMERS are written in that order, back to back.
  const auto [t_off, t_len] = where.at(static_cast<uint32_t>(SectionType::kThreads));
  const auto [f_off, f_len] = where.at(static_cast<uint32_t>(SectionType::kFiles));
  ASSERT_EQ(t_off + t_len, f_off);
  std::string swapped = b.substr(0, t_off) + piece(SectionType::kFiles) +
                        piece(SectionType::kThreads) + b.substr(f_off + f_len);
  ASSERT_EQ(swapped.size(), b.size());
  expect(swapped, "chain");
  expect(b.substr(0, t_off) + b.substr(t_off + t_len), "sections");  // THREADS missing
  expect(b.substr(0, f_off) + piece(SectionType::kThreads) + b.substr(f_off),
         "second section");                                 // THREADS twice
  expect(b + piece(SectionType::kMisc), "trailing bytes");  // junk after END
  expect(b + b.substr(b.size() - 36), "trailing bytes");    // a second END
  // PAGES moved before REGIONS.
  const auto [g_off, g_len] = where.at(static_cast<uint32_t>(SectionType::kRegions));
  const auto [p_off, p_len] = where.at(static_cast<uint32_t>(SectionType::kPages));
  ASSERT_EQ(g_off + g_len, p_off);
  expect(b.substr(0, g_off) + piece(SectionType::kPages) + piece(SectionType::kRegions) +
             b.substr(p_off + p_len),
         "PAGES before");
  // A section of another image with the same type: its hash is fine, the chain is not.
  Sample other = MakeSample();
  other.misc.umask = 077;
  const std::string path2 = dir / "img2";
  ASSERT_TRUE(WriteSample(other, path2, {}).ok());
  const std::string b2 = ReadAll(path2);
  const auto [m_off, m_len] = where.at(static_cast<uint32_t>(SectionType::kMisc));
  ASSERT_EQ(b2.substr(0, m_off), b.substr(0, m_off));
  expect(b.substr(0, m_off) + b2.substr(m_off, m_len) + b.substr(m_off + m_len), "chain");
}

// ---------------------------------------------------------------- atomicity and files

// Env whose files fail on demand: writes beyond a byte budget, Sync, or Rename.
class FaultEnv final : public Env {
 public:
  uint64_t write_budget = ~0ull;
  bool fail_sync = false;
  bool fail_rename = false;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    auto f = base_->NewWritableFile(path);
    if (!f.ok()) return f.status();
    return std::unique_ptr<WritableFile>(new File(this, std::move(f.value())));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& p) override {
    return base_->NewRandomAccessFile(p);
  }
  Status CreateDirs(const std::string& p) override { return base_->CreateDirs(p); }
  Status EnsureWritableDir(const std::string& p) override { return base_->EnsureWritableDir(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override {
    return base_->ListDir(p);
  }
  Result<FileInfo> Stat(const std::string& p) override { return base_->Stat(p); }
  bool Exists(const std::string& p) override { return base_->Exists(p); }
  Status RemoveFile(const std::string& p) override { return base_->RemoveFile(p); }
  Status RemoveDir(const std::string& p) override { return base_->RemoveDir(p); }
  Status RemoveTree(const std::string& p) override { return base_->RemoveTree(p); }
  Status Rename(const std::string& a, const std::string& b) override {
    if (fail_rename) return Status::IOError("injected rename failure");
    return base_->Rename(a, b);
  }
  Status SyncDir(const std::string& p) override { return base_->SyncDir(p); }
  Status SyncFile(const std::string& p) override { return base_->SyncFile(p); }

 private:
  class File final : public WritableFile {
   public:
    File(FaultEnv* env, std::unique_ptr<WritableFile> f) : env_(env), f_(std::move(f)) {}
    Status Append(const void* d, size_t n) override { return Check(n) ? f_->Append(d, n) : No(); }
    Status WriteAt(uint64_t o, const void* d, size_t n) override {
      return Check(n) ? f_->WriteAt(o, d, n) : No();
    }
    Status Sync() override {
      return env_->fail_sync ? Status::IOError("injected sync failure") : f_->Sync();
    }
    Status Close() override { return f_->Close(); }
    const std::string& path() const override { return f_->path(); }

   private:
    bool Check(size_t n) {
      written_ += n;
      return written_ <= env_->write_budget;
    }
    static Status No() { return Status::NoSpace("injected: no space left"); }
    FaultEnv* env_;
    std::unique_ptr<WritableFile> f_;
    uint64_t written_ = 0;
  };
  Env* base_ = Env::Default();
};

Status WriteSampleWith(Env* env, const std::string& path, const WriteOptions& o,
                       bool commit = true) {
  Sample s = MakeSample(true);
  auto w = ImageWriter::Create(env, path, o);
  if (!w.ok()) return w.status();
  ImageWriter& iw = *w.value();
  CAIRN_RETURN_IF_ERROR(iw.WriteHeader(s.header));
  CAIRN_RETURN_IF_ERROR(iw.WriteRegions(s.regions));
  for (size_t i = 0; i < 4; ++i) {
    CAIRN_RETURN_IF_ERROR(iw.BeginPages(s.regions[i].start, s.regions[i].end));
    for (const SampleRun& r : s.pages[i]) {
      CAIRN_RETURN_IF_ERROR(iw.AddPageRun(r.addr, r.data.data(), r.data.size()));
    }
    CAIRN_RETURN_IF_ERROR(iw.EndPages());
  }
  CAIRN_RETURN_IF_ERROR(iw.WriteThreads(s.threads));
  CAIRN_RETURN_IF_ERROR(iw.WriteFiles(s.files));
  return commit ? iw.Commit() : Status::Ok();
}

TEST(TransparentImage, TmpFileIsPrivateAndFinalAppearsOnlyOnCommit) {
  TempDir dir;
  const std::string path = dir / "img";
  {
    auto w = ImageWriter::Create(Env::Default(), path, {});
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w.value()->tmp_path(), path + ".tmp");
    ASSERT_TRUE(w.value()->WriteHeader(MakeSample().header).ok());
    ASSERT_TRUE(w.value()->WriteMisc({}).ok());
    EXPECT_TRUE(Exists(path + ".tmp"));
    EXPECT_EQ(Mode(path + ".tmp"), 0600u);
    EXPECT_FALSE(Exists(path));
    w.value()->Abort();
    EXPECT_FALSE(Exists(path + ".tmp"));
    EXPECT_FALSE(Exists(path));
    EXPECT_EQ(w.value()->WriteMisc({}).code(), Code::kFailedPrecondition);
    EXPECT_EQ(w.value()->Commit().code(), Code::kFailedPrecondition);
    EXPECT_FALSE(Exists(path));
  }
  {  // Destroyed without Commit: aborted.
    auto w = ImageWriter::Create(Env::Default(), path, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value()->WriteHeader({}).ok());
  }
  EXPECT_FALSE(Exists(path + ".tmp"));
  EXPECT_FALSE(Exists(path));
  // A stale .tmp of a crashed writer is replaced.
  ASSERT_TRUE(cairn::testing::WriteText(path + ".tmp", "stale"));
  ASSERT_TRUE(WriteSampleWith(Env::Default(), path, {}).ok());
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_FALSE(Exists(path + ".tmp"));
  EXPECT_TRUE(ImageReader::Open(Env::Default(), path).ok());
}

TEST(TransparentImage, FailuresLeaveTheOldImageAndNoTmp) {
  TempDir dir;
  const std::string path = dir / "img";
  ASSERT_TRUE(WriteSample(MakeSample(), path, {}).ok());
  std::string old = ReadAll(path);
  uint64_t full = 0;
  {
    FaultEnv env;
    ASSERT_TRUE(WriteSampleWith(&env, dir / "probe", {}).ok());
    full = ReadAll(dir / "probe").size();
  }
  // Running out of space at many points, raw and compressed.
  for (int codec = 0; codec < 2; ++codec) {
    WriteOptions o;
    if (codec == 1) o.codec = Codec::kZstd;
    for (uint64_t budget : {uint64_t{0}, uint64_t{10}, uint64_t{100}, uint64_t{5000}, full / 3,
                            full / 2, full - 40, full - 1}) {
      FaultEnv env;
      env.write_budget = budget;
      Status st = WriteSampleWith(&env, path, o);
      if (codec == 1 && st.ok()) {  // compressed output is smaller: it fit, and replaced it
        EXPECT_TRUE(ImageReader::Open(Env::Default(), path).ok());
        old = ReadAll(path);
        continue;
      }
      EXPECT_EQ(st.code(), Code::kNoSpace) << "budget " << budget << ": " << st.ToString();
      EXPECT_FALSE(Exists(path + ".tmp")) << "budget " << budget;
      EXPECT_TRUE(ReadAll(path) == old) << "budget " << budget;
    }
  }
  for (int which = 0; which < 2; ++which) {
    FaultEnv env;
    (which == 0 ? env.fail_sync : env.fail_rename) = true;
    Status st = WriteSampleWith(&env, path, {});
    EXPECT_EQ(st.code(), Code::kIOError) << st.ToString();
    EXPECT_FALSE(Exists(path + ".tmp"));
    EXPECT_TRUE(ReadAll(path) == old);
  }
  // Without Commit: nothing changes either.
  ASSERT_TRUE(WriteSampleWith(Env::Default(), path, {}, /*commit=*/false).ok());
  EXPECT_FALSE(Exists(path + ".tmp"));
  EXPECT_TRUE(ReadAll(path) == old);
  // A failed writer removes its file and refuses further calls, naming the reason.
  FaultEnv env;
  env.write_budget = 0;
  auto w = ImageWriter::Create(&env, dir / "x", {});
  ASSERT_TRUE(w.ok());
  ImageWriter& iw = *w.value();
  Sample s = MakeSample(true);
  ASSERT_TRUE(iw.WriteHeader(s.header).ok());  // still in the writer's buffer
  ASSERT_TRUE(iw.WriteRegions(s.regions).ok());
  ASSERT_TRUE(iw.BeginPages(s.regions[0].start, s.regions[0].end).ok());
  const SampleRun& big = s.pages[0][3];
  ASSERT_GE(big.data.size(), 256u << 10);  // written directly: fails now
  EXPECT_EQ(iw.AddPageRun(big.addr, big.data.data(), big.data.size()).code(), Code::kNoSpace);
  EXPECT_FALSE(Exists(dir / "x.tmp"));
  Status st = iw.EndPages();
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("no space"), std::string::npos) << st.ToString();
  EXPECT_EQ(iw.Commit().code(), Code::kFailedPrecondition);
  EXPECT_FALSE(Exists(dir / "x"));
}

TEST(TransparentImage, WriterRejectsMisuseWithoutFailing) {
  TempDir dir;
  const std::string path = dir / "img";
  Sample s = MakeSample();
  WriteOptions bad;
  bad.threads = 0;
  EXPECT_EQ(ImageWriter::Create(Env::Default(), path, bad).status().code(), Code::kInvalidArgument);
  bad = {};
  bad.batch_bytes = 0;
  EXPECT_EQ(ImageWriter::Create(Env::Default(), path, bad).status().code(), Code::kInvalidArgument);
  bad = {};
  bad.codec = static_cast<Codec>(9);
  EXPECT_EQ(ImageWriter::Create(Env::Default(), path, bad).status().code(), Code::kInvalidArgument);

  auto w = ImageWriter::Create(Env::Default(), path, {});
  ASSERT_TRUE(w.ok());
  ImageWriter& iw = *w.value();
  const Region& heap = s.regions[0];
  char page[65536] = {};
  EXPECT_EQ(iw.WriteMisc({}).code(), Code::kFailedPrecondition);  // before the header
  EXPECT_EQ(iw.Commit().code(), Code::kFailedPrecondition);
  ImageHeader odd;
  odd.page_size = 1000;
  EXPECT_EQ(iw.WriteHeader(odd).code(), Code::kInvalidArgument);
  ASSERT_TRUE(iw.WriteHeader(s.header).ok());
  EXPECT_EQ(iw.WriteHeader(s.header).code(), Code::kFailedPrecondition);
  EXPECT_EQ(iw.BeginPages(heap.start, heap.end).code(), Code::kFailedPrecondition);  // no REGIONS
  EXPECT_EQ(iw.AddPageRun(heap.start, page, kPs).code(), Code::kFailedPrecondition);

  std::vector<Region> overlapping = s.regions;
  overlapping[1].start = heap.end - kPs;
  EXPECT_EQ(iw.WriteRegions(overlapping).code(), Code::kInvalidArgument);
  std::vector<Region> unaligned = s.regions;
  unaligned[0].end += 1;
  EXPECT_EQ(iw.WriteRegions(unaligned).code(), Code::kInvalidArgument);
  std::vector<Region> both = s.regions;
  both[0].flags |= kRegionShared;
  EXPECT_EQ(iw.WriteRegions(both).code(), Code::kInvalidArgument);
  ASSERT_TRUE(iw.WriteRegions(s.regions).ok());
  EXPECT_EQ(iw.WriteRegions(s.regions).code(), Code::kFailedPrecondition);

  EXPECT_EQ(iw.BeginPages(heap.start, heap.end - kPs).code(), Code::kInvalidArgument);
  ASSERT_TRUE(iw.BeginPages(heap.start, heap.end).ok());
  EXPECT_EQ(iw.WriteMisc({}).code(), Code::kFailedPrecondition);  // PAGES open
  EXPECT_EQ(iw.BeginPages(heap.start, heap.end).code(), Code::kFailedPrecondition);
  EXPECT_EQ(iw.AddPageRun(heap.start + 1, page, kPs).code(), Code::kInvalidArgument);
  EXPECT_EQ(iw.AddPageRun(heap.start, page, kPs - 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(iw.AddPageRun(heap.start - kPs, page, kPs).code(), Code::kInvalidArgument);
  EXPECT_EQ(iw.AddPageRun(heap.end, page, kPs).code(), Code::kInvalidArgument);
  EXPECT_EQ(iw.AddPageRun(heap.start, nullptr, kPs).code(), Code::kInvalidArgument);
  ASSERT_TRUE(iw.AddPageRun(heap.start + 2 * kPs, page, kPs).ok());
  EXPECT_EQ(iw.AddPageRun(heap.start + 2 * kPs, page, kPs).code(), Code::kInvalidArgument);
  EXPECT_EQ(iw.AddPageRun(heap.start, page, kPs).code(), Code::kInvalidArgument);
  ASSERT_TRUE(iw.EndPages().ok());
  EXPECT_EQ(iw.EndPages().code(), Code::kFailedPrecondition);
  EXPECT_EQ(iw.BeginPages(heap.start, heap.end).code(), Code::kInvalidArgument);  // twice

  std::vector<ThreadState> threads = s.threads;
  threads[1].tid = threads[0].tid;
  EXPECT_EQ(iw.WriteThreads(threads).code(), Code::kInvalidArgument);
  threads = s.threads;
  threads[0].checkpoint_thread = true;
  EXPECT_EQ(iw.WriteThreads(threads).code(), Code::kInvalidArgument);
  std::vector<FileState> files = s.files;
  files[2].content.pop_back();  // size no longer matches
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  files[0].pipe_id = 3;  // a tty
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  auto event_object = [&](FileKind k) -> FileState& {
    for (FileState& f : files) {
      if (f.kind == k && f.object.same_as < 0) return f;
    }
    ADD_FAILURE() << "no " << FileKindName(k) << " in the sample";
    return files[0];
  };
  files = s.files;
  files[1].object.count = 1;  // event-object state on a regular file
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  auto by_fd = [&](int fd) -> FileState& {
    return *std::find_if(files.begin(), files.end(),
                         [fd](const FileState& f) { return f.fd == fd; });
  };
  by_fd(15).object.same_as = 99;  // a duplicate of a descriptor not listed
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(15).object.count = 1;  // a duplicate with state of its own
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  event_object(FileKind::kTimerfd).object.value_ns = -1;
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  event_object(FileKind::kEventfd).object.targets = {{3, 1, 1}};  // epoll targets elsewhere
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  event_object(FileKind::kEpoll).object.targets[0].fd = -2;
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  files[1].socket.peer = 3;  // socket state on a regular file
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(16).socket.listening = true;  // a listener with a peer and queued data
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(16).socket.shutdown = 4;
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(16).socket.peer_name = "x";  // a peer address on a UNIX socket
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(18).socket.options = 64;
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(19).object.watches[1].wd = 1;  // a watch number twice
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(19).object.watches[0].path = "relative";
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(17).object.watches = {{1, 1, 1, 1, "/x"}};  // watches on a regular file
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(20).tty.flags = 3;  // both master and slave
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(17).tty.index = 1;  // terminal state on a regular file
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(17).locks[0].kind = 4;
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  files = s.files;
  by_fd(17).locks[1].end = 5;  // before its start
  EXPECT_EQ(iw.WriteFiles(files).code(), Code::kInvalidArgument);
  SignalState sig = s.signals;
  sig.actions[0].signo = 65;
  EXPECT_EQ(iw.WriteSignals(sig).code(), Code::kInvalidArgument);
  MiscState misc = s.misc;
  misc.brk_current = misc.brk_start - 1;
  EXPECT_EQ(iw.WriteMisc(misc).code(), Code::kInvalidArgument);

  // None of that damaged the writer.
  ASSERT_TRUE(iw.WriteThreads(s.threads).ok());
  ASSERT_TRUE(iw.WriteMisc(s.misc).ok());
  ASSERT_TRUE(iw.BeginPages(s.regions[1].start, s.regions[1].end).ok());
  ASSERT_TRUE(iw.Commit().ok());  // closes the open PAGES section
  EXPECT_EQ(iw.WriteFiles({}).code(), Code::kFailedPrecondition);
  auto r = ImageReader::Open(Env::Default(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->threads(), s.threads);
  ASSERT_EQ(r.value()->pages().size(), 2u);
  EXPECT_EQ(r.value()->pages()[0].raw_bytes, kPs);
}

// ---------------------------------------------------------------- this process

TEST(TransparentImage, CaptureAndCheckRestorable) {
  auto h = CaptureProcessHeader();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->pid, static_cast<int32_t>(::getpid()));
  EXPECT_EQ(h->arch, HostArch());
  EXPECT_EQ(h->page_size, kPs);
  EXPECT_FALSE(h->argv.empty());
  EXPECT_FALSE(h->exe_path.empty());
  EXPECT_FALSE(h->kernel_release.empty());
  EXPECT_NE(h->image_id, 0u);
  EXPECT_GT(h->vdso_size, 0u);
  auto areas = ReadKernelAreas();
  ASSERT_TRUE(areas.ok());
  EXPECT_EQ(areas->vdso_addr, h->vdso_addr);
  EXPECT_TRUE(CheckRestorable(h.value(), areas.value()).ok());
  KernelAreas other = areas.value();
  other.vdso_size += kPs;
  EXPECT_EQ(CheckRestorable(h.value(), other).code(), Code::kFailedPrecondition);
  other = areas.value();
  other.vvar_size += kPs;
  EXPECT_EQ(CheckRestorable(h.value(), other).code(), Code::kFailedPrecondition);
  ImageHeader foreign = h.value();
  foreign.arch = "riscv64";
  EXPECT_EQ(CheckRestorable(foreign, areas.value()).code(), Code::kFailedPrecondition);

  TempDir dir;
  auto w = ImageWriter::Create(Env::Default(), dir / "self", {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w.value()->WriteHeader(h.value()).ok());
  ASSERT_TRUE(w.value()->Commit().ok());
  auto r = ImageReader::Open(Env::Default(), dir / "self");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectHeaderEq(h.value(), r.value()->header());
  EXPECT_EQ(r.value()->header().header_hash, w.value()->header().header_hash);
}

}  // namespace
}  // namespace cairn::transparent
