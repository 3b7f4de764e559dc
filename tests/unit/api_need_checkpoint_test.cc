// Tests of cairn_need_checkpoint / cairn_should_exit and their C++ and VeloC forms, and of
// the protocol with `cairn job` (CAIRN_JOB_CONTROL, CAIRN_JOB_END_TIME, the .ack file), in
// sync and async mode, through the public headers only (linked against libcairn.so).
//
// Async mode starts the real backend: the `cairn` executable beside libcairn.so in the
// build tree (build target cairn_cli), or $CAIRN_BACKEND_BIN.
#include <cairn/cairn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <veloc.h>

#include <cairn/cairn.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <veloc.hpp>

namespace {

namespace fs = std::filesystem;

static_assert(
    std::is_same_v<decltype(&cairn_need_checkpoint), cairn_status_t (*)(cairn_client_t*, int*)>);
static_assert(
    std::is_same_v<decltype(&cairn_should_exit), cairn_status_t (*)(cairn_client_t*, int*)>);
static_assert(std::is_same_v<decltype(&VELOC_Need_checkpoint), int (*)(int*)>);
static_assert(std::is_same_v<decltype(&VELOC_Should_exit), int (*)(int*)>);

// Variables the tests set; saved and cleared before each test, restored after it.
const char* const kVars[] = {
    "CAIRN_JOB_CONTROL",         "CAIRN_JOB_END_TIME", "SLURM_JOB_END_TIME",
    "CAIRN_CHECKPOINT_INTERVAL", "CAIRN_MTBF",         "CAIRN_JOB_END_MARGIN",
    "VELOC_CHECKPOINT_INTERVAL", "VELOC_MTBF",         "VELOC_JOB_END_MARGIN",
    "CAIRN_RUNTIME_DIR",         "CAIRN_JOB_ID"};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// As `cairn job` writes it: a temporary renamed over the control file.
void WriteControl(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  { std::ofstream(tmp) << text; }
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

long long Now() { return static_cast<long long>(std::time(nullptr)); }

class NeedCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : kVars) {
      const char* old = std::getenv(v);
      saved_.emplace_back(v, old ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(v);
    }
    std::string tmpl = (fs::temp_directory_path() / "cairn_need_ckpt.XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
    control_ = dir_ + "/control";
    ack_ = control_ + ".ack";
    // Async tests: a private backend per test.
    ::setenv("CAIRN_RUNTIME_DIR", dir_.c_str(), 1);
    std::string job = "needckpt-" + std::to_string(::getpid()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::setenv("CAIRN_JOB_ID", job.c_str(), 1);
  }
  void TearDown() override {
    if (c_ != nullptr) (void)cairn_close(c_, 0);
    if (veloc_) (void)VELOC_Finalize(0);  // a VeloC test that failed before finalizing
    for (const auto& [name, v] : saved_) {
      if (v) {
        ::setenv(name.c_str(), v->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Config(const std::string& extra) {
    std::string cfg = dir_ + "/cairn.cfg";
    std::ofstream(cfg) << "scratch = " << dir_ << "/s\npersistent = " << dir_
                       << "/p\nbackend_idle_timeout = 2\n"
                       << extra;
    return cfg;
  }
  // Opens c_ as rank 0 with the configuration text `extra`.
  void Open(const std::string& extra = "") {
    ASSERT_EQ(cairn_open_single(0, Config(extra).c_str(), &c_), CAIRN_OK)
        << cairn_last_error(nullptr);
  }
  int Need() {
    int flag = -1;
    EXPECT_EQ(cairn_need_checkpoint(c_, &flag), CAIRN_OK) << cairn_last_error(c_);
    return flag;
  }
  int Exit() {
    int flag = -1;
    EXPECT_EQ(cairn_should_exit(c_, &flag), CAIRN_OK) << cairn_last_error(c_);
    return flag;
  }
  std::string PersistentFile(long long v) const {
    return dir_ + "/p/sim/v" + std::to_string(v) + "/r0.ckpt";
  }

  std::string dir_, control_, ack_;
  cairn_client_t* c_ = nullptr;
  bool veloc_ = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
  std::vector<double> data_ = std::vector<double>(1024, 1.5);
};

// ---- sync mode --------------------------------------------------------------------------

TEST_F(NeedCheckpointTest, NothingConfiguredNeverAsks) {
  Open();
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), data_.size() * sizeof(double)), CAIRN_OK);
  EXPECT_EQ(Need(), 0);
  EXPECT_EQ(Exit(), 0);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 1), CAIRN_OK) << cairn_last_error(c_);
  EXPECT_EQ(Need(), 0);
  EXPECT_EQ(Exit(), 0);
  EXPECT_FALSE(fs::exists(ack_));
}

TEST_F(NeedCheckpointTest, ArgumentsAndOrder) {
  int flag = 7;
  EXPECT_EQ(cairn_need_checkpoint(nullptr, &flag), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_should_exit(nullptr, &flag), CAIRN_E_INVALID);
  EXPECT_EQ(flag, 7);
  Open();
  EXPECT_EQ(cairn_need_checkpoint(c_, nullptr), CAIRN_E_INVALID);
  EXPECT_EQ(cairn_should_exit(c_, nullptr), CAIRN_E_INVALID);
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), 64), CAIRN_OK);
  ASSERT_EQ(cairn_checkpoint_begin(c_, "sim", 1), CAIRN_OK);
  EXPECT_EQ(cairn_need_checkpoint(c_, &flag), CAIRN_E_ORDER);
  EXPECT_NE(std::string(cairn_last_error(c_)).find("open"), std::string::npos)
      << cairn_last_error(c_);
  EXPECT_EQ(flag, 7);  // untouched on failure
  ASSERT_EQ(cairn_checkpoint_mem(c_, CAIRN_SELECT_ALL, nullptr, 0), CAIRN_OK);
  ASSERT_EQ(cairn_checkpoint_end(c_, 1), CAIRN_OK);
  EXPECT_EQ(Need(), 0);
}

TEST_F(NeedCheckpointTest, BadConfigValuesRefused) {
  for (const char* bad : {"checkpoint_interval = -1", "mtbf = soon", "job_end_margin = 1.5"}) {
    cairn_client_t* c = nullptr;
    EXPECT_EQ(cairn_open_single(0, Config(std::string(bad) + "\n").c_str(), &c), CAIRN_E_INVALID)
        << bad;
    std::string key(bad, std::string(bad).find(' '));
    EXPECT_NE(std::string(cairn_last_error(nullptr)).find("'" + key + "'"), std::string::npos)
        << cairn_last_error(nullptr);
    EXPECT_EQ(c, nullptr);
  }
  ::setenv("CAIRN_MTBF", "-5", 1);
  cairn_client_t* c = nullptr;
  EXPECT_EQ(cairn_open_single(0, Config("").c_str(), &c), CAIRN_E_INVALID);
  EXPECT_NE(std::string(cairn_last_error(nullptr)).find("CAIRN_MTBF"), std::string::npos)
      << cairn_last_error(nullptr);
}

TEST_F(NeedCheckpointTest, IntervalCountsFromTheLastCheckpoint) {
  Open("checkpoint_interval = 1\n");
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), 64), CAIRN_OK);
  EXPECT_EQ(Need(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Need(), 1);
  EXPECT_EQ(Need(), 1);  // stays due until a checkpoint is taken
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 1), CAIRN_OK) << cairn_last_error(c_);
  EXPECT_EQ(Need(), 0);
  EXPECT_EQ(Exit(), 0);  // a periodic checkpoint is not final
  EXPECT_FALSE(fs::exists(ack_));
}

TEST_F(NeedCheckpointTest, ControlRequestFinalCheckpointAckAndExit) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open();
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), data_.size() * sizeof(double)), CAIRN_OK);
  EXPECT_EQ(Need(), 0);  // no control file yet
  WriteControl(control_, "checkpoint " + std::to_string(Now()) + "\n");
  EXPECT_EQ(Need(), 1);
  EXPECT_EQ(Exit(), 0);
  EXPECT_FALSE(fs::exists(ack_));
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 7), CAIRN_OK) << cairn_last_error(c_);
  auto ack = ReadFile(ack_);
  ASSERT_TRUE(ack.has_value()) << "no " << ack_ << " after the final checkpoint";
  EXPECT_EQ(*ack, "exit sim 7\n");
  struct stat st {};
  ASSERT_EQ(::stat(ack_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(ack_ + ".tmp"));
  EXPECT_TRUE(fs::exists(PersistentFile(7)));  // committed before the ack
  EXPECT_EQ(Exit(), 1);
  EXPECT_EQ(Exit(), 1);
  EXPECT_EQ(Need(), 0);  // the request is answered
  // A newer request (cairn job got another signal) asks again; the ack is replaced.
  WriteControl(control_, "checkpoint " + std::to_string(Now() + 1) + "\n");
  EXPECT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 8), CAIRN_OK) << cairn_last_error(c_);
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 8\n");
  EXPECT_EQ(cairn_close(std::exchange(c_, nullptr), 1), CAIRN_OK);
}

TEST_F(NeedCheckpointTest, ControlFilePresentAtOpenIsARequest) {
  WriteControl(control_, "checkpoint 1\n");
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open();
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), 64), CAIRN_OK);
  EXPECT_EQ(Need(), 1);
}

TEST_F(NeedCheckpointTest, OnlyACheckpointAfterTheFinalAnswerIsFinal) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open();
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), 64), CAIRN_OK);
  WriteControl(control_, "checkpoint 1\n");
  // The application checkpoints on its own schedule without asking: not final.
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 1), CAIRN_OK);
  EXPECT_FALSE(fs::exists(ack_));
  EXPECT_EQ(Exit(), 0);
  EXPECT_EQ(Need(), 1);  // the request still stands
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 2), CAIRN_OK);
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 2\n");
  EXPECT_EQ(Exit(), 1);
}

TEST_F(NeedCheckpointTest, FailedFinalCheckpointAsksAgain) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open();
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), 64), CAIRN_OK);
  WriteControl(control_, "checkpoint 1\n");
  ASSERT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint_begin(c_, "sim", 1), CAIRN_OK);
  ASSERT_EQ(cairn_checkpoint_mem(c_, CAIRN_SELECT_ALL, nullptr, 0), CAIRN_OK);
  EXPECT_NE(cairn_checkpoint_end(c_, 0), CAIRN_OK);  // the application gives up on it
  EXPECT_FALSE(fs::exists(ack_));
  EXPECT_EQ(Exit(), 0);
  EXPECT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 2), CAIRN_OK);
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 2\n");
  EXPECT_EQ(Exit(), 1);
}

TEST_F(NeedCheckpointTest, EndTimeForcesAFinalCheckpoint) {
  // 12 s left < the default cost (5 s, nothing measured yet) + the margin (10 s).
  ::setenv("CAIRN_JOB_END_TIME", std::to_string(Now() + 12).c_str(), 1);
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open();
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), 64), CAIRN_OK);
  EXPECT_EQ(Need(), 1);
  EXPECT_EQ(Exit(), 0);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 3), CAIRN_OK);
  EXPECT_EQ(Exit(), 1);
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 3\n");
  EXPECT_EQ(Need(), 0);  // not asked again: should_exit says it
}

TEST_F(NeedCheckpointTest, EndTimeFarAwayAndSlurmFallback) {
  ::setenv("SLURM_JOB_END_TIME", std::to_string(Now() + 12).c_str(), 1);
  ::setenv("CAIRN_JOB_END_TIME", std::to_string(Now() + 100000).c_str(), 1);  // wins
  Open();
  EXPECT_EQ(Need(), 0);
  ASSERT_EQ(cairn_close(std::exchange(c_, nullptr), 1), CAIRN_OK);
  ::unsetenv("CAIRN_JOB_END_TIME");
  Open();
  EXPECT_EQ(Need(), 1);  // SLURM_JOB_END_TIME: 12 s left
  ASSERT_EQ(cairn_close(std::exchange(c_, nullptr), 1), CAIRN_OK);
  // The margin counts: 40 s left, cost 5 s + margin 0 or 50 s.
  ::setenv("CAIRN_JOB_END_TIME", std::to_string(Now() + 40).c_str(), 1);
  Open("job_end_margin = 0\n");
  EXPECT_EQ(Need(), 0);
  ASSERT_EQ(cairn_close(std::exchange(c_, nullptr), 1), CAIRN_OK);
  Open("job_end_margin = 50\n");
  EXPECT_EQ(Need(), 1);
}

TEST_F(NeedCheckpointTest, MalformedEndTimeIgnored) {
  ::setenv("CAIRN_JOB_END_TIME", "tomorrow", 1);
  Open();
  EXPECT_EQ(Need(), 0);
  EXPECT_EQ(Exit(), 0);
}

// ---- async mode -------------------------------------------------------------------------

TEST_F(NeedCheckpointTest, AsyncAckOnlyOnceDurable) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  // 8 MiB written twice (scratch, persistent) at 8 MB/s: about 2 s in the backend.
  Open("mode = async\nbackend_max_bandwidth = 8\n");
  std::vector<char> big(8 << 20, 'x');
  ASSERT_EQ(cairn_protect(c_, 0, big.data(), big.size()), CAIRN_OK);
  WriteControl(control_, "checkpoint 1\n");
  ASSERT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 4), CAIRN_OK) << cairn_last_error(c_);
  // Handed over, not yet durable: no ack, no exit.
  EXPECT_EQ(Exit(), 0);
  EXPECT_FALSE(fs::exists(ack_));
  EXPECT_EQ(Need(), 0);  // the final checkpoint is in flight: not asked again
  ASSERT_EQ(cairn_wait(c_), CAIRN_OK) << cairn_last_error(c_);
  EXPECT_TRUE(fs::exists(PersistentFile(4)));
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 4\n");
  EXPECT_EQ(Exit(), 1);
}

TEST_F(NeedCheckpointTest, AsyncShouldExitPollsWithoutWait) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open("mode = async\n");
  ASSERT_EQ(cairn_protect(c_, 0, data_.data(), data_.size() * sizeof(double)), CAIRN_OK);
  WriteControl(control_, "checkpoint 1\n");
  ASSERT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 1), CAIRN_OK) << cairn_last_error(c_);
  int exit_flag = 0;
  for (int i = 0; i < 500 && exit_flag == 0; ++i) {  // up to 10 s
    exit_flag = Exit();
    if (exit_flag == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(exit_flag, 1);
  EXPECT_TRUE(fs::exists(PersistentFile(1)));
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 1\n");
}

TEST_F(NeedCheckpointTest, AsyncCloseDrainWritesAck) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open("mode = async\nbackend_max_bandwidth = 8\n");
  std::vector<char> big(4 << 20, 'y');
  ASSERT_EQ(cairn_protect(c_, 0, big.data(), big.size()), CAIRN_OK);
  WriteControl(control_, "checkpoint 1\n");
  ASSERT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 9), CAIRN_OK) << cairn_last_error(c_);
  EXPECT_FALSE(fs::exists(ack_));
  ASSERT_EQ(cairn_close(std::exchange(c_, nullptr), 1), CAIRN_OK) << cairn_last_error(nullptr);
  EXPECT_TRUE(fs::exists(PersistentFile(9)));
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 9\n");
}

TEST_F(NeedCheckpointTest, AsyncCloseWithoutDrainWritesNoAck) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  Open("mode = async\nbackend_max_bandwidth = 8\n");
  std::vector<char> big(8 << 20, 'z');
  ASSERT_EQ(cairn_protect(c_, 0, big.data(), big.size()), CAIRN_OK);
  WriteControl(control_, "checkpoint 1\n");
  ASSERT_EQ(Need(), 1);
  ASSERT_EQ(cairn_checkpoint(c_, "sim", 2), CAIRN_OK) << cairn_last_error(c_);
  (void)cairn_close(std::exchange(c_, nullptr), 0);
  EXPECT_FALSE(fs::exists(ack_));  // never known committed by this process
}

// ---- C++ and VeloC forms ------------------------------------------------------------------

TEST_F(NeedCheckpointTest, CppClient) {
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  auto c = cairn::Client::open_single(0, Config(""));
  ASSERT_TRUE(c) << c.error().to_string();
  int x = 42;
  ASSERT_TRUE(c->protect(0, x).ok());
  cairn::Error err(CAIRN_E_INTERNAL, "sentinel");
  EXPECT_FALSE(c->need_checkpoint(&err));
  EXPECT_TRUE(err.ok()) << err.to_string();
  WriteControl(control_, "checkpoint 1\n");
  EXPECT_TRUE(c->need_checkpoint());
  EXPECT_FALSE(c->should_exit());
  ASSERT_TRUE(c->checkpoint("sim", 1).ok());
  EXPECT_TRUE(c->should_exit(&err));
  EXPECT_TRUE(err.ok());
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit sim 1\n");
  ASSERT_TRUE(c->checkpoint_begin("sim", 2).ok());
  EXPECT_FALSE(c->need_checkpoint(&err));  // out of order: false and the error
  EXPECT_EQ(err.code(), CAIRN_E_ORDER);
  EXPECT_FALSE(err.message().empty());
  ASSERT_TRUE(c->checkpoint_end(false).code() != CAIRN_OK);
  cairn::Client empty;
  EXPECT_FALSE(empty.need_checkpoint(&err));
  EXPECT_EQ(err.code(), CAIRN_E_INVALID);
  EXPECT_FALSE(empty.should_exit());
}

TEST_F(NeedCheckpointTest, VelocC) {
  int flag = 5;
  EXPECT_EQ(VELOC_Need_checkpoint(&flag), VELOC_FAILURE);  // not initialized
  EXPECT_EQ(VELOC_Should_exit(&flag), VELOC_FAILURE);
  EXPECT_EQ(flag, 5);
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  ASSERT_EQ(VELOC_Init_single(0, Config("").c_str()), VELOC_SUCCESS);
  veloc_ = true;
  EXPECT_EQ(VELOC_Need_checkpoint(nullptr), VELOC_FAILURE);
  int x = 1;
  ASSERT_EQ(VELOC_Mem_protect(0, &x, 1, sizeof(x)), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Need_checkpoint(&flag), VELOC_SUCCESS);
  EXPECT_EQ(flag, 0);
  WriteControl(control_, "checkpoint 1\n");
  ASSERT_EQ(VELOC_Need_checkpoint(&flag), VELOC_SUCCESS);
  EXPECT_EQ(flag, 1);
  ASSERT_EQ(VELOC_Should_exit(&flag), VELOC_SUCCESS);
  EXPECT_EQ(flag, 0);
  ASSERT_EQ(VELOC_Checkpoint("heat", 3), VELOC_SUCCESS);
  ASSERT_EQ(VELOC_Should_exit(&flag), VELOC_SUCCESS);
  EXPECT_EQ(flag, 1);
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit heat 3\n");
  EXPECT_EQ(VELOC_Finalize(1), VELOC_SUCCESS);
  veloc_ = false;
}

TEST_F(NeedCheckpointTest, VelocCpp) {
  ::setenv("CAIRN_JOB_END_TIME", std::to_string(Now() + 5).c_str(), 1);
  ::setenv("CAIRN_JOB_CONTROL", control_.c_str(), 1);
  veloc::client_t* ck = veloc::get_client(0u, Config(""));
  ASSERT_NE(ck, nullptr);
  veloc_ = true;
  int x = 1;
  ASSERT_TRUE(ck->mem_protect(0, &x, 1, sizeof(x)));
  EXPECT_TRUE(ck->need_checkpoint());
  EXPECT_FALSE(ck->should_exit());
  ASSERT_TRUE(ck->checkpoint("heat", 1));
  EXPECT_TRUE(ck->should_exit());
  EXPECT_EQ(ReadFile(ack_).value_or(""), "exit heat 1\n");
  delete ck;
  veloc_ = false;
}

}  // namespace
