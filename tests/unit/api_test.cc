// Tests of the public APIs of libcairn: the VeloC C API (veloc.h), the VeloC C++ API
// (veloc.hpp), cairn's C API (cairn/cairn.h) and its C++ wrapper (cairn/cairn.hpp).
//
// Only public headers are included: these tests use the library as an application does
// (the binary must link libcairn, target `cairn`).
#include <cairn/cairn.h>
#include <cairn/cairn_config.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <veloc.h>

#include <cairn/cairn.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>
#include <veloc.hpp>

namespace {

// ---- the headers: VeloC's constants and exact signatures -----------------------------

static_assert(VELOC_SUCCESS == 0 && VELOC_FAILURE == -1);
static_assert(VELOC_MAX_NAME == 1024);
static_assert(VELOC_RECOVER_ALL == 0 && VELOC_RECOVER_SOME == 1 && VELOC_RECOVER_REST == 2);
static_assert(VELOC_CKPT_ALL == 0 && VELOC_CKPT_SOME == 1 && VELOC_CKPT_REST == 2);
static_assert(VELOC_OBSERVE_CKPT_END == 0);
static_assert(VELOC_VERSION_MAJOR == 1 && VELOC_VERSION_MINOR >= 7);

template <class A, class B>
constexpr bool kSame = std::is_same_v<A, B>;

#if CAIRN_HAVE_MPI
static_assert(kSame<decltype(&VELOC_Init), int (*)(MPI_Comm, const char*)>);
#endif
static_assert(kSame<decltype(&VELOC_Init_single), int (*)(unsigned int, const char*)>);
static_assert(kSame<decltype(&VELOC_Finalize), int (*)(int)>);
static_assert(kSame<decltype(&VELOC_Mem_protect), int (*)(int, void*, size_t, size_t)>);
static_assert(
    kSame<decltype(&VELOC_Region_protect), int (*)(int, void*, size_t, size_t, const char*)>);
static_assert(kSame<decltype(&VELOC_Mem_unprotect), int (*)(int)>);
static_assert(kSame<decltype(&VELOC_Region_unprotect), int (*)(int, const char*)>);
static_assert(kSame<decltype(&VELOC_Mem_clear), int (*)()>);
static_assert(kSame<decltype(&VELOC_Region_clear), int (*)(const char*)>);
static_assert(kSame<decltype(&VELOC_Route_file), int (*)(const char*, char*)>);
static_assert(kSame<decltype(&VELOC_Cleanup), int (*)(const char*)>);
static_assert(kSame<decltype(&VELOC_Checkpoint_begin), int (*)(const char*, int)>);
static_assert(kSame<decltype(&VELOC_Checkpoint_selective), int (*)(int, int*, int)>);
static_assert(kSame<decltype(&VELOC_Checkpoint_mem), int (*)()>);
static_assert(kSame<decltype(&VELOC_Checkpoint_end), int (*)(int)>);
static_assert(kSame<decltype(&VELOC_Checkpoint_wait), int (*)()>);
static_assert(kSame<decltype(&VELOC_Checkpoint_finished), int (*)()>);
static_assert(kSame<decltype(&VELOC_Checkpoint), int (*)(const char*, int)>);
static_assert(kSame<decltype(&VELOC_Restart_test), int (*)(const char*, int)>);
static_assert(kSame<decltype(&VELOC_Restart_begin), int (*)(const char*, int)>);
static_assert(kSame<decltype(&VELOC_Recover_selective), int (*)(int, int*, int)>);
static_assert(kSame<decltype(&VELOC_Recover_size), int (*)(int)>);
static_assert(kSame<decltype(&VELOC_Recover_mem), int (*)()>);
static_assert(kSame<decltype(&VELOC_Restart_end), int (*)(int)>);
static_assert(kSame<decltype(&VELOC_Restart), int (*)(const char*, int)>);

static_assert(kSame<decltype(static_cast<veloc::client_t* (*)(unsigned int, const std::string&)>(
                        &veloc::get_client)),
                    veloc::client_t* (*)(unsigned int, const std::string&)>);
static_assert(std::has_virtual_destructor_v<veloc::client_t>);
static_assert(std::is_abstract_v<veloc::client_t>);

static_assert(CAIRN_OK == 0);
static_assert(!std::is_copy_constructible_v<cairn::Client>);
static_assert(std::is_nothrow_move_constructible_v<cairn::Client>);

// A VeloC program written against VeloC's veloc.hpp: this must compile unchanged.
[[maybe_unused]] bool VelocStyleProgram(veloc::client_t* ckpt) {
  int k = 7;
  std::vector<double> v(10);
  bool ok = ckpt->mem_protect(0, &k, 1, sizeof(k));
  ok = ok && ckpt->mem_protect(1, v.data(), v.size(), sizeof(double), "default");
  ok = ok && ckpt->mem_protect(
                 2, [](std::ostream& os) { os << 1; }, [](std::istream& is) { return bool(is); });
  ckpt->register_observer(VELOC_OBSERVE_CKPT_END, [](const std::string&, int) {});
  ckpt->mem_unprotect(1);
  ckpt->mem_clear();
  if (!ckpt->checkpoint_wait() || !ckpt->checkpoint_begin("x", 1)) return false;
  std::string f = ckpt->route_file("out.dat");
  ok = ok && ckpt->checkpoint_mem() && ckpt->checkpoint_mem(VELOC_CKPT_SOME, {0});
  ok = ckpt->checkpoint_end(ok) && ckpt->checkpoint_finished();
  int ver = ckpt->restart_test("x", 0);
  if (ver >= 0 && ckpt->restart_begin("x", ver)) {
    size_t sz = ckpt->recover_size(0);
    ok = sz == sizeof(k) && ckpt->recover_mem(VELOC_RECOVER_ALL, {}) && ckpt->restart_end(true);
  }
  return ok && ckpt->restart("x", ver, 0) && ckpt->cleanup("x") && ckpt->checkpoint("x", 2);
}

// ---- fixtures ------------------------------------------------------------------------

// A temporary directory with a configuration file (scratch = <dir>/s, persistent = <dir>/p).
class TempConfig {
 public:
  TempConfig() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn_api_test.XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* d = mkdtemp(buf.data());
    if (d != nullptr) dir_ = d;
    cfg_ = dir_ + "/veloc.cfg";
    std::ofstream(cfg_) << "scratch = " << dir_ << "/s\npersistent = " << dir_ << "/p\n";
  }
  ~TempConfig() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  const std::string& cfg() const { return cfg_; }

 private:
  std::string dir_;
  std::string cfg_;
};

class VelocApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.dir().empty()) << "mkdtemp failed"; }
  // Leaves no process-wide client to the next test (logs an error if there is none).
  void TearDown() override { (void)VELOC_Finalize(0); }
  TempConfig tmp_;
};

// ---- VeloC C API: before Init ----------------------------------------------------------

TEST_F(VelocApiTest, CallsBeforeInitFailCleanly) {
  int x = 0;
  int ids[] = {0};
  EXPECT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Region_protect(0, &x, 1, sizeof(x), "g"), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Mem_unprotect(0), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Region_unprotect(0, "g"), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Mem_clear(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Region_clear("g"), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Cleanup("a"), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_begin("a", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_selective(VELOC_CKPT_SOME, ids, 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_mem(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_end(1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_wait(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_finished(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint("a", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_test("a", 0), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_begin("a", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Recover_selective(VELOC_RECOVER_SOME, ids, 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Recover_size(0), -1);
  EXPECT_EQ(VELOC_Recover_mem(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_end(1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart("a", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_FAILURE);
}

TEST_F(VelocApiTest, RouteFileBeforeInitEmptiesTheBuffer) {
  char routed[VELOC_MAX_NAME];
  std::memset(routed, 'x', sizeof(routed));
  EXPECT_EQ(VELOC_Route_file("f.dat", routed), VELOC_FAILURE);
  EXPECT_EQ(routed[0], '\0');
  EXPECT_EQ(VELOC_Route_file("f.dat", nullptr), VELOC_FAILURE);
}

// ---- VeloC C API: with the engine -----------------------------------------------------

TEST_F(VelocApiTest, InitWithMissingConfigFailsWithoutExiting) {
  EXPECT_EQ(VELOC_Init_single(0, (tmp_.dir() + "/no-such.cfg").c_str()), VELOC_FAILURE);
  int x = 0;
  EXPECT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_FAILURE);  // still not initialized
  EXPECT_EQ(VELOC_Finalize(1), VELOC_FAILURE);
}

TEST_F(VelocApiTest, CheckpointRestartRoundTrip) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  std::vector<int> a(100);
  for (int i = 0; i < 100; ++i) a[i] = i * i;
  double d = 3.5;
  ASSERT_EQ(VELOC_Mem_protect(0, a.data(), a.size(), sizeof(int)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Mem_protect(1, &d, 1, sizeof(d)), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Restart_test("heat", 0), VELOC_FAILURE);  // nothing yet
  ASSERT_EQ(VELOC_Checkpoint("heat", 1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);

  std::fill(a.begin(), a.end(), -1);
  d = 0;
  ASSERT_EQ(VELOC_Restart_test("heat", 0), 1);
  ASSERT_EQ(VELOC_Restart("heat", 1), VELOC_SUCCESS);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a[i], i * i) << "at " << i;
  EXPECT_EQ(d, 3.5);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_FAILURE);  // already finalized

  // A new client (as after a crash) finds the checkpoint.
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Restart_test("heat", 0), 1);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_SUCCESS);
}

TEST_F(VelocApiTest, StepwiseCheckpointAndRestartWithSizes) {
  ASSERT_EQ(VELOC_Init_single(3, tmp_.cfg().c_str()), VELOC_SUCCESS);
  long v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_EQ(VELOC_Mem_protect(7, v, 8, sizeof(long)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_begin("steps", 4), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_mem(), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_end(1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Checkpoint_finished(), VELOC_SUCCESS);

  std::memset(v, 0, sizeof(v));
  ASSERT_EQ(VELOC_Restart_test("steps", 10), 4);
  ASSERT_EQ(VELOC_Restart_begin("steps", 4), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Recover_size(7), static_cast<int>(sizeof(v)));
  EXPECT_EQ(VELOC_Recover_size(8), -1);
  ASSERT_EQ(VELOC_Recover_mem(), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Restart_end(1), VELOC_SUCCESS);
  EXPECT_EQ(v[7], 8);
}

TEST_F(VelocApiTest, SelectiveCheckpointSomeAndRest) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  int x = 1, y = 2, z = 3;
  ASSERT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(int)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Mem_protect(1, &y, 1, sizeof(int)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Mem_protect(2, &z, 1, sizeof(int)), VELOC_SUCCESS);

  int some[] = {0, 2};
  ASSERT_EQ(VELOC_Checkpoint_begin("sel", 1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_selective(VELOC_CKPT_SOME, some, 2), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_end(1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);

  x = y = z = 0;
  ASSERT_EQ(VELOC_Restart_begin("sel", 1), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Recover_size(0), static_cast<int>(sizeof(int)));
  EXPECT_EQ(VELOC_Recover_size(1), -1);  // not saved
  int only2[] = {2};
  ASSERT_EQ(VELOC_Recover_selective(VELOC_RECOVER_SOME, only2, 1), VELOC_SUCCESS);
  EXPECT_EQ(x, 0);
  EXPECT_EQ(z, 3);
  ASSERT_EQ(VELOC_Recover_selective(VELOC_RECOVER_REST, only2, 1), VELOC_SUCCESS);
  EXPECT_EQ(x, 1);
  EXPECT_EQ(y, 0);
  ASSERT_EQ(VELOC_Restart_end(1), VELOC_SUCCESS);

  // REST: everything but id 0.
  int rest[] = {0};
  ASSERT_EQ(VELOC_Checkpoint_begin("sel", 2), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_selective(VELOC_CKPT_REST, rest, 1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_end(1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Restart_begin("sel", 2), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Recover_size(0), -1);
  EXPECT_EQ(VELOC_Recover_size(1), static_cast<int>(sizeof(int)));
  ASSERT_EQ(VELOC_Restart_end(1), VELOC_SUCCESS);
}

TEST_F(VelocApiTest, CheckpointEndFailureDiscardsTheVersion) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  int x = 5;
  ASSERT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint("disc", 1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_begin("disc", 2), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_mem(), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Checkpoint_end(0), VELOC_FAILURE);  // discarded, reported as a failure
  (void)VELOC_Checkpoint_wait();
  EXPECT_EQ(VELOC_Restart_test("disc", 0), 1);
}

TEST_F(VelocApiTest, BadArgumentsAreRejected) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  int x = 0;
  ASSERT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Mem_protect(1, nullptr, 4, 4), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Mem_protect(1, &x, SIZE_MAX, 2), VELOC_FAILURE);  // size overflows
  EXPECT_EQ(VELOC_Region_protect(1, &x, 1, sizeof(x), nullptr), VELOC_FAILURE);

  // Names: [A-Za-z0-9_.]+, not "." or "..", not too long; versions >= 0.
  EXPECT_EQ(VELOC_Checkpoint(nullptr, 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint("", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint("a/b", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint("..", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint("with space", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint(std::string(VELOC_MAX_NAME + 10, 'n').c_str(), 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint("ok", -1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_begin("../escape", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_test(nullptr, 0), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_test("ok", -3), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_begin("a/b", 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Cleanup(nullptr), VELOC_FAILURE);

  // Out of order: end / mem without begin.
  EXPECT_EQ(VELOC_Checkpoint_end(1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_mem(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Recover_mem(), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Restart_end(1), VELOC_FAILURE);

  // Selective: bad mode, NULL list with a count, negative count.
  ASSERT_EQ(VELOC_Checkpoint_begin("ok", 1), VELOC_SUCCESS);
  int ids[] = {0};
  EXPECT_EQ(VELOC_Checkpoint_selective(7, ids, 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_selective(VELOC_CKPT_SOME, nullptr, 1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_selective(VELOC_CKPT_SOME, ids, -1), VELOC_FAILURE);
  EXPECT_EQ(VELOC_Checkpoint_selective(VELOC_CKPT_ALL, nullptr, 0), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Checkpoint_end(1), VELOC_SUCCESS);
}

TEST_F(VelocApiTest, RouteFile) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  char routed[VELOC_MAX_NAME];
  EXPECT_EQ(VELOC_Route_file("out.dat", routed), VELOC_FAILURE);  // outside a checkpoint
  EXPECT_EQ(routed[0], '\0');

  ASSERT_EQ(VELOC_Checkpoint_begin("files", 1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Route_file("out.dat", routed), VELOC_SUCCESS);
  EXPECT_GT(std::strlen(routed), 0u);
  EXPECT_LT(std::strlen(routed), static_cast<size_t>(VELOC_MAX_NAME));
  {
    std::ofstream out(routed);
    out << "payload";
    ASSERT_TRUE(out.good()) << "cannot write the routed path " << routed;
  }
  EXPECT_EQ(VELOC_Route_file(nullptr, routed), VELOC_FAILURE);
  // File mode, VeloC style: no Checkpoint_mem (no memory is protected).
  ASSERT_EQ(VELOC_Checkpoint_end(1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);

  ASSERT_EQ(VELOC_Restart_test("files", 0), 1);
  ASSERT_EQ(VELOC_Restart_begin("files", 1), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Route_file("out.dat", routed), VELOC_SUCCESS);
  std::string content;
  std::ifstream(routed) >> content;
  EXPECT_EQ(content, "payload");
  ASSERT_EQ(VELOC_Restart_end(1), VELOC_SUCCESS);
}

TEST_F(VelocApiTest, NamedRegionsFormSeparateCheckpoints) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  int a = 1, b = 2;
  ASSERT_EQ(VELOC_Mem_protect(0, &a, 1, sizeof(a)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Region_protect(0, &b, 1, sizeof(b), "grp"), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Checkpoint("grp", 1), VELOC_SUCCESS);   // uses group "grp"
  ASSERT_EQ(VELOC_Checkpoint("main", 1), VELOC_SUCCESS);  // uses the default group
  ASSERT_EQ(VELOC_Checkpoint_wait(), VELOC_SUCCESS);
  a = b = 0;
  ASSERT_EQ(VELOC_Restart("grp", 1), VELOC_SUCCESS);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 2);
  ASSERT_EQ(VELOC_Restart("main", 1), VELOC_SUCCESS);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(VELOC_Region_unprotect(0, "grp"), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Region_protect(1, &b, 1, sizeof(b), "grp"), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Region_clear("grp"), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Region_unprotect(1, "grp"), VELOC_FAILURE);  // cleared
  EXPECT_EQ(VELOC_Mem_clear(), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Mem_unprotect(0), VELOC_FAILURE);  // cleared
}

TEST_F(VelocApiTest, InitTwiceReusesTheClient) {
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Init_single(0, tmp_.cfg().c_str()), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_SUCCESS);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_FAILURE);
}

// ---- VeloC C++ API ---------------------------------------------------------------------

TEST_F(VelocApiTest, CppClientIsASingletonSharedWithTheCApi) {
  veloc::client_t* c = veloc::get_client(0u, tmp_.cfg());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(veloc::get_client(0u, tmp_.cfg()), c);
  int x = 9;
  EXPECT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_SUCCESS);  // C API sees it
  EXPECT_TRUE(c->checkpoint("shared", 1));
  EXPECT_EQ(VELOC_Restart_test("shared", 0), 1);
  EXPECT_EQ(VELOC_Finalize(1), VELOC_SUCCESS);  // destroys c
}

TEST_F(VelocApiTest, CppDeleteDestroysTheSingleton) {
  veloc::client_t* c = veloc::get_client(0u, tmp_.cfg());
  ASSERT_NE(c, nullptr);
  delete c;
  int x = 0;
  EXPECT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_FAILURE);
  veloc::client_t* again = veloc::get_client(0u, tmp_.cfg());
  ASSERT_NE(again, nullptr);
  delete again;
}

TEST_F(VelocApiTest, CppGetClientFailureReturnsNull) {
  EXPECT_EQ(veloc::get_client(0u, tmp_.dir() + "/missing.cfg"), nullptr);
}

TEST_F(VelocApiTest, CppSerializersObserverAndRoundTrip) {
  veloc::client_t* c = veloc::get_client(1u, tmp_.cfg());
  ASSERT_NE(c, nullptr);
  std::vector<std::string> seen;
  ASSERT_TRUE(c->register_observer(VELOC_OBSERVE_CKPT_END, [&](const std::string& n, int v) {
    seen.push_back(n + ":" + std::to_string(v));
  }));
  EXPECT_FALSE(c->register_observer(42, [](const std::string&, int) {}));

  std::string text = "hello world";
  int raw = 11;
  ASSERT_TRUE(c->mem_protect(0, &raw, 1, sizeof(raw)));
  ASSERT_TRUE(c->mem_protect(
      1, [&](std::ostream& os) { os << text.size() << ' ' << text; },
      [&](std::istream& is) {
        size_t n = 0;
        is >> n;
        is.get();
        text.assign(n, '\0');
        is.read(text.data(), static_cast<std::streamsize>(n));
        return bool(is);
      }));
  ASSERT_TRUE(c->checkpoint("ser", 3));
  ASSERT_TRUE(c->checkpoint_wait());
  EXPECT_TRUE(c->checkpoint_finished());
  ASSERT_EQ(seen, std::vector<std::string>{"ser:3"});

  text.clear();
  raw = 0;
  ASSERT_EQ(c->restart_test("ser", 0), 3);
  ASSERT_TRUE(c->restart_begin("ser", 3));
  EXPECT_EQ(c->recover_size(0), sizeof(raw));
  EXPECT_EQ(c->recover_size(99), 0u);  // absent: 0, as in VeloC
  ASSERT_TRUE(c->recover_mem());
  ASSERT_TRUE(c->restart_end(true));
  EXPECT_EQ(raw, 11);
  EXPECT_EQ(text, "hello world");

  EXPECT_EQ(c->route_file("x"), "");  // outside a checkpoint
  EXPECT_FALSE(c->checkpoint("bad name", 4));
  EXPECT_FALSE(c->checkpoint_mem(VELOC_CKPT_SOME, {0}));  // no checkpoint begun
  EXPECT_TRUE(c->mem_unprotect(1));
  EXPECT_TRUE(c->mem_clear());
  EXPECT_TRUE(c->cleanup("ser"));
}

// ---- cairn C API -------------------------------------------------------------------------

TEST(CairnCApi, StatusStringsAndVersion) {
  for (int s = CAIRN_OK; s <= CAIRN_E_INTERNAL; ++s) {
    const char* str = cairn_status_string(static_cast<cairn_status_t>(s));
    ASSERT_NE(str, nullptr);
    EXPECT_GT(std::strlen(str), 0u);
  }
  EXPECT_STREQ(cairn_status_string(CAIRN_OK), "OK");
  EXPECT_NE(cairn_status_string(static_cast<cairn_status_t>(99)), nullptr);
  EXPECT_STREQ(cairn_version(), CAIRN_VERSION_STRING);
}

TEST(CairnCApi, NullArgumentsAreRejected) {
  EXPECT_EQ(cairn_open_single(0, "x.cfg", nullptr), CAIRN_E_INVALID);
  EXPECT_GT(std::strlen(cairn_last_error(nullptr)), 0u);
  EXPECT_EQ(cairn_close(nullptr, 1), CAIRN_OK);
  int x = 0;
  EXPECT_EQ(cairn_protect(nullptr, 0, &x, sizeof(x)), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_checkpoint(nullptr, "a", 1), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_restart_latest(nullptr, "a", CAIRN_ANY_VERSION, nullptr), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_wait(nullptr), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_finished(nullptr), -1);
  EXPECT_EQ(cairn_rank(nullptr), -1);
  EXPECT_EQ(cairn_size(nullptr), -1);
  char buf[16] = "junk";
  EXPECT_EQ(cairn_route_file(nullptr, "f", buf, sizeof(buf)), CAIRN_E_INVALID);
  EXPECT_STREQ(buf, "");
  EXPECT_NE(std::string(cairn_last_error(nullptr)).find("NULL"), std::string::npos);
}

TEST(CairnCApi, OpenFailureReportsTheReason) {
  TempConfig tmp;
  cairn_client_t* c = reinterpret_cast<cairn_client_t*>(&tmp);  // must be reset to NULL
  std::string missing = tmp.dir() + "/missing.cfg";
  cairn_status_t s = cairn_open_single(0, missing.c_str(), &c);
  EXPECT_NE(s, CAIRN_OK);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(cairn_last_error(nullptr)).find("missing.cfg"), std::string::npos)
      << cairn_last_error(nullptr);
}

TEST(CairnCApi, RoundTripAndErrors) {
  TempConfig tmp;
  cairn_client_t* c = nullptr;
  ASSERT_EQ(cairn_open_single(2, tmp.cfg().c_str(), &c), CAIRN_OK) << cairn_last_error(nullptr);
  EXPECT_EQ(cairn_rank(c), 2);
  EXPECT_EQ(cairn_size(c), 1);
  double data[4] = {1, 2, 3, 4};
  ASSERT_EQ(cairn_protect(c, 0, data, sizeof(data)), CAIRN_OK);
  EXPECT_EQ(cairn_protect(c, 1, nullptr, 8), CAIRN_E_INVALID);
  EXPECT_NE(std::strlen(cairn_last_error(c)), 0u);

  long long v = -1;
  EXPECT_EQ(cairn_restart_latest(c, "sim", CAIRN_ANY_VERSION, &v), CAIRN_E_NOT_FOUND);
  EXPECT_EQ(v, -1);  // untouched on failure
  EXPECT_EQ(cairn_checkpoint(c, "bad/name", 1), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_checkpoint(c, "sim", -2), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_checkpoint_end(c, 1), CAIRN_E_ORDER);
  ASSERT_EQ(cairn_checkpoint(c, "sim", 10), CAIRN_OK) << cairn_last_error(c);
  ASSERT_EQ(cairn_checkpoint(c, "sim", 20), CAIRN_OK) << cairn_last_error(c);
  ASSERT_EQ(cairn_wait(c), CAIRN_OK) << cairn_last_error(c);
  EXPECT_EQ(cairn_finished(c), 1);

  data[0] = 0;
  ASSERT_EQ(cairn_restart_test(c, "sim", 15, &v), CAIRN_OK);
  EXPECT_EQ(v, 10);
  ASSERT_EQ(cairn_restart_latest(c, "sim", CAIRN_ANY_VERSION, &v), CAIRN_OK) << cairn_last_error(c);
  EXPECT_EQ(v, 20);
  EXPECT_EQ(data[0], 1);

  ASSERT_EQ(cairn_restart_begin(c, "sim", 10), CAIRN_OK);
  size_t n = 0;
  ASSERT_EQ(cairn_recover_size(c, 0, &n), CAIRN_OK);
  EXPECT_EQ(n, sizeof(data));
  EXPECT_EQ(cairn_recover_size(c, 5, &n), CAIRN_E_NOT_FOUND);
  EXPECT_EQ(cairn_recover_size(c, 0, nullptr), CAIRN_E_INVALID);
  int ids[] = {0};
  EXPECT_EQ(cairn_recover_mem(c, CAIRN_SELECT_SOME, nullptr, 1), CAIRN_E_INVALID);
  ASSERT_EQ(cairn_recover_mem(c, CAIRN_SELECT_SOME, ids, 1), CAIRN_OK);
  ASSERT_EQ(cairn_restart_end(c, 1), CAIRN_OK);
  EXPECT_EQ(cairn_close(c, 1), CAIRN_OK);
}

TEST(CairnCApi, RouteFileBufferTooSmall) {
  TempConfig tmp;
  cairn_client_t* c = nullptr;
  ASSERT_EQ(cairn_open_single(0, tmp.cfg().c_str(), &c), CAIRN_OK) << cairn_last_error(nullptr);
  char big[CAIRN_PATH_MAX];
  char tiny[4] = "abc";
  EXPECT_EQ(cairn_route_file(c, "f.dat", big, sizeof(big)), CAIRN_E_ORDER);
  ASSERT_EQ(cairn_checkpoint_begin(c, "files", 1), CAIRN_OK);
  ASSERT_EQ(cairn_route_file(c, "f.dat", big, sizeof(big)), CAIRN_OK) << cairn_last_error(c);
  EXPECT_GT(std::strlen(big), 0u);
  EXPECT_EQ(cairn_route_file(c, "f.dat", tiny, sizeof(tiny)), CAIRN_E_INVALID);
  EXPECT_STREQ(tiny, "");
  EXPECT_NE(cairn_checkpoint_end(c, 0), CAIRN_OK);  // discarded: the routed file was not written
  EXPECT_EQ(cairn_restart_test(c, "files", CAIRN_ANY_VERSION, nullptr), CAIRN_E_NOT_FOUND);
  EXPECT_EQ(cairn_close(c, 1), CAIRN_OK);
}

TEST(CairnCApi, ObserverIsCalledOnCommit) {
  TempConfig tmp;
  cairn_client_t* c = nullptr;
  ASSERT_EQ(cairn_open_single(0, tmp.cfg().c_str(), &c), CAIRN_OK) << cairn_last_error(nullptr);
  int x = 1;
  ASSERT_EQ(cairn_protect(c, 0, &x, sizeof(x)), CAIRN_OK);
  std::vector<long long> seen;
  ASSERT_EQ(cairn_on_commit(
                c,
                [](const char*, long long v, void* user) {
                  static_cast<std::vector<long long>*>(user)->push_back(v);
                },
                &seen),
            CAIRN_OK);
  EXPECT_EQ(cairn_on_commit(c, nullptr, nullptr), CAIRN_E_INVALID);
  std::vector<long long> second;  // observers add up (cairn.h), unlike VeloC's one per type
  ASSERT_EQ(cairn_on_commit(
                c,
                [](const char*, long long v, void* user) {
                  static_cast<std::vector<long long>*>(user)->push_back(v * 10);
                },
                &second),
            CAIRN_OK);
  ASSERT_EQ(cairn_checkpoint(c, "obs", 5), CAIRN_OK);
  ASSERT_EQ(cairn_wait(c), CAIRN_OK);
  EXPECT_EQ(seen, std::vector<long long>{5});
  EXPECT_EQ(second, std::vector<long long>{50});
  EXPECT_EQ(cairn_close(c, 1), CAIRN_OK);
}

// ---- cairn C++ API -----------------------------------------------------------------------

TEST(CairnCppApi, EmptyClientAndValueTypes) {
  cairn::Client empty;
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.checkpoint("a", 1).code(), CAIRN_E_INVALID);
  EXPECT_FALSE(empty.checkpoint("a", 1).message().empty());
  EXPECT_FALSE(empty.restart_latest("a").has_value());
  EXPECT_FALSE(empty.finished());
  EXPECT_TRUE(empty.close().ok());

  cairn::Error ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.to_string(), "OK");
  cairn::Error bad(CAIRN_E_IO, "disk");
  EXPECT_EQ(bad.to_string(), std::string(cairn_status_string(CAIRN_E_IO)) + ": disk");

  cairn::Expected<int> e1(7);
  EXPECT_TRUE(e1);
  EXPECT_EQ(*e1, 7);
  EXPECT_TRUE(e1.error().ok());
  cairn::Expected<int> e2(cairn::Error(CAIRN_E_NOT_FOUND, "none"));
  EXPECT_FALSE(e2);
  EXPECT_EQ(e2.value_or(3), 3);
  EXPECT_EQ(e2.error().code(), CAIRN_E_NOT_FOUND);
  cairn::Expected<int> e3{cairn::Error()};  // a success Error is not a value
  EXPECT_FALSE(e3);
  EXPECT_EQ(e3.error().code(), CAIRN_E_INTERNAL);
}

TEST(CairnCppApi, OpenFailure) {
  TempConfig tmp;
  auto c = cairn::Client::open_single(0, tmp.dir() + "/missing.cfg");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().code(), CAIRN_OK);
  EXPECT_FALSE(c.error().message().empty());
}

TEST(CairnCppApi, RoundTrip) {
  TempConfig tmp;
  auto opened = cairn::Client::open_single(0, tmp.cfg());
  ASSERT_TRUE(opened) << opened.error().to_string();
  cairn::Client c = std::move(*opened);
  EXPECT_TRUE(c.is_open());
  EXPECT_EQ(c.rank(), 0);

  std::vector<float> field(64, 1.5f);
  int step = 0;
  ASSERT_TRUE(c.protect(0, std::span<float>(field)).ok());
  ASSERT_TRUE(c.protect(1, step).ok());

  auto none = c.restart_latest("cpp");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), CAIRN_E_NOT_FOUND);

  step = 41;
  ASSERT_TRUE(c.checkpoint("cpp", 41).ok());
  ASSERT_TRUE(c.wait().ok());
  EXPECT_EQ(c.route_file("f").error().code(), CAIRN_E_ORDER);

  step = 0;
  field.assign(64, 0.0f);
  auto v = c.restart_latest("cpp");
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(*v, 41);
  EXPECT_EQ(step, 41);
  EXPECT_EQ(field[63], 1.5f);

  ASSERT_TRUE(c.checkpoint_begin("cpp", 42).ok());
  auto routed = c.route_file("extra.bin");
  ASSERT_TRUE(routed) << routed.error().to_string();
  ASSERT_FALSE(routed->empty());
  std::ofstream(*routed) << "extra";  // a routed file must be written before checkpoint_end
  ASSERT_TRUE(c.checkpoint_mem(CAIRN_SELECT_SOME, {1}).ok());
  ASSERT_TRUE(c.checkpoint_end(true).ok());
  ASSERT_TRUE(c.wait().ok());
  ASSERT_TRUE(c.restart_begin("cpp", 42).ok());
  auto size = c.recover_size(1);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, sizeof(int));
  EXPECT_EQ(c.recover_size(0).error().code(), CAIRN_E_NOT_FOUND);
  ASSERT_TRUE(c.restart_end(true).ok());

  cairn::Client moved = std::move(c);
  EXPECT_FALSE(c.is_open());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.unprotect(0).ok());
  EXPECT_TRUE(moved.close().ok());
  EXPECT_FALSE(moved.is_open());
}

}  // namespace
