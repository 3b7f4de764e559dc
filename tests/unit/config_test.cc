#include "config/config.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using cairn::Code;
using cairn::Config;
using cairn::Mode;
using cairn::ParseConfig;

namespace {

const char* const kKeys[] = {
    "SCRATCH",
    "PERSISTENT",
    "MODE",
    "PERSISTENT_INTERVAL",
    "EC_INTERVAL",
    "MAX_VERSIONS",
    "SCRATCH_VERSIONS",
    "CHKSUM",
    "META",
    "FAILURE_DOMAIN",
    "WATCHDOG_INTERVAL",
    "EC_SCHEME",
    "EC_SET_SIZE",
    "EC_PARITY",
    "COMPRESS",
    "SHUFFLE",
    "SCRATCH_FSYNC",
    "AXL_TYPE",
};

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

std::string SourceOf(const Config& c, const std::string& key) {
  std::string s;
  for (const auto& [k, v] : c.sources) {
    if (k == key) s = v;
  }
  return s;
}

// Clears every CAIRN_<KEY> / VELOC_<KEY> for the test and restores them afterwards; gives
// each test a private temporary directory.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* k : kKeys) {
      for (const std::string prefix : {"CAIRN_", "VELOC_"}) {
        std::string name = prefix + k;
        const char* v = std::getenv(name.c_str());
        saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
        unsetenv(name.c_str());
      }
    }
    char tmpl[] = "/tmp/cairn_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    for (const auto& [name, v] : saved_) {
      if (v) {
        setenv(name.c_str(), v->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

  std::string dir_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(ConfigTest, Defaults) {
  auto r = ParseConfig("scratch = /tmp/s\n", "t.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r.value();
  EXPECT_EQ(c.scratch, "/tmp/s");
  EXPECT_EQ(c.persistent, "");
  EXPECT_EQ(c.mode, Mode::kSync);
  EXPECT_EQ(c.persistent_interval, 0);
  EXPECT_EQ(c.ec_interval, 0);  // a configured ec_scheme encodes every checkpoint
  EXPECT_EQ(c.max_versions, 0);
  EXPECT_EQ(c.scratch_versions, 0);
  EXPECT_TRUE(c.chksum);
  EXPECT_EQ(c.meta, "");
  EXPECT_EQ(c.failure_domain, HostName());
  EXPECT_EQ(c.watchdog_interval, 0);
  EXPECT_EQ(c.ec_scheme, "none");
  EXPECT_EQ(c.ec_set_size, 8);
  EXPECT_EQ(c.ec_parity, 2);
  EXPECT_EQ(c.compress, "none");
  EXPECT_TRUE(c.shuffle);
  EXPECT_TRUE(c.scratch_fsync);
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].first, "scratch");
  EXPECT_EQ(c.sources[0].second, "t.cfg:1");
}

TEST_F(ConfigTest, FullFile) {
  const std::string text =
      "scratch = /local/scratch\n"
      "persistent = /shared/ckpt\n"
      "mode = async\n"
      "persistent_interval = 30\n"
      "ec_interval = -1\n"
      "max_versions = 3\n"
      "scratch_versions = 2\n"
      "chksum = false\n"
      "meta = /shared/meta\n"
      "failure_domain = rack7\n"
      "watchdog_interval = 5\n"
      "ec_scheme = rs\n"
      "ec_set_size = 10\n"
      "ec_parity = 3\n"
      "compress = zstd\n"
      "shuffle = no\n"
      "scratch_fsync = off\n"
      "axl_type = AXL_XFER_SYNC\n";
  auto r = ParseConfig(text, "full.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r.value();
  EXPECT_EQ(c.scratch, "/local/scratch");
  EXPECT_EQ(c.persistent, "/shared/ckpt");
  EXPECT_EQ(c.mode, Mode::kAsync);
  EXPECT_EQ(c.persistent_interval, 30);
  EXPECT_EQ(c.ec_interval, -1);
  EXPECT_EQ(c.max_versions, 3);
  EXPECT_EQ(c.scratch_versions, 2);
  EXPECT_FALSE(c.chksum);
  EXPECT_EQ(c.meta, "/shared/meta");
  EXPECT_EQ(c.failure_domain, "rack7");
  EXPECT_EQ(c.watchdog_interval, 5);
  EXPECT_EQ(c.ec_scheme, "rs");
  EXPECT_EQ(c.ec_set_size, 10);
  EXPECT_EQ(c.ec_parity, 3);
  EXPECT_EQ(c.compress, "zstd");
  EXPECT_FALSE(c.shuffle);
  EXPECT_FALSE(c.scratch_fsync);
  EXPECT_EQ(c.sources.size(), 17u);  // every key but axl_type
  EXPECT_EQ(SourceOf(c, "scratch"), "full.cfg:1");
  EXPECT_EQ(SourceOf(c, "scratch_fsync"), "full.cfg:17");
  EXPECT_EQ(SourceOf(c, "axl_type"), "");
}

TEST_F(ConfigTest, CommentsWhitespaceCaseAndDuplicates) {
  const std::string text =
      "\xEF\xBB\xBF# a comment\n"
      "; another comment\n"
      "\n"
      "   \t\n"
      "   # indented comment\n"
      "[veloc]\n"
      "  SCRATCH   =   /a/b//   \r\n"
      "Mode=ASYNC\n"
      "persistent_interval = 10 \t\n"
      "ec_scheme = XOR\n"
      "max_versions = 1\n"
      "max_versions = 4\n"
      "persistent = /\n"
      "meta =\n"
      "path = a#b = c\n";
  auto r = ParseConfig(text, "ws.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r.value();
  EXPECT_EQ(c.scratch, "/a/b");
  EXPECT_EQ(SourceOf(c, "scratch"), "ws.cfg:7");
  EXPECT_EQ(c.mode, Mode::kAsync);
  EXPECT_EQ(c.persistent_interval, 10);
  EXPECT_EQ(c.ec_scheme, "xor");
  EXPECT_EQ(c.max_versions, 4);
  EXPECT_EQ(SourceOf(c, "max_versions"), "ws.cfg:12");
  EXPECT_EQ(c.persistent, "/");
  EXPECT_EQ(c.meta, "");
}

TEST_F(ConfigTest, NegativeIntervalsAllowed) {
  auto r = ParseConfig("scratch=/s\npersistent_interval=-1\nec_interval=-5\n", "t", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persistent_interval, -1);
  EXPECT_EQ(r->ec_interval, -5);
}

TEST_F(ConfigTest, EnvPrecedence) {
  const std::string text = "scratch = /file/scratch\npersistent_interval = 5\nmode = sync\n";

  auto r = ParseConfig(text, "f.cfg", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persistent_interval, 5);
  EXPECT_EQ(SourceOf(r.value(), "persistent_interval"), "f.cfg:2");

  setenv("VELOC_PERSISTENT_INTERVAL", "6", 1);
  setenv("VELOC_MODE", "async", 1);
  setenv("VELOC_SCRATCH", "/veloc/scratch", 1);
  r = ParseConfig(text, "f.cfg", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persistent_interval, 6);
  EXPECT_EQ(r->mode, Mode::kAsync);
  EXPECT_EQ(r->scratch, "/veloc/scratch");
  EXPECT_EQ(SourceOf(r.value(), "persistent_interval"), "VELOC_PERSISTENT_INTERVAL");

  setenv("CAIRN_PERSISTENT_INTERVAL", " 7 ", 1);
  setenv("CAIRN_SCRATCH", "/cairn/scratch/", 1);
  r = ParseConfig(text, "f.cfg", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persistent_interval, 7);
  EXPECT_EQ(r->mode, Mode::kAsync);  // only VELOC_MODE set
  EXPECT_EQ(r->scratch, "/cairn/scratch");
  EXPECT_EQ(SourceOf(r.value(), "persistent_interval"), "CAIRN_PERSISTENT_INTERVAL");
  EXPECT_EQ(SourceOf(r.value(), "scratch"), "CAIRN_SCRATCH");
  EXPECT_EQ(SourceOf(r.value(), "mode"), "VELOC_MODE");

  // An empty variable counts as unset.
  setenv("CAIRN_PERSISTENT_INTERVAL", "", 1);
  r = ParseConfig(text, "f.cfg", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persistent_interval, 6);

  // Without apply_env the environment is not consulted.
  r = ParseConfig(text, "f.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persistent_interval, 5);
  EXPECT_EQ(r->mode, Mode::kSync);
  EXPECT_EQ(r->scratch, "/file/scratch");
}

TEST_F(ConfigTest, OnlyKnownKeysFromEnv) {
  setenv("CAIRN_SCRATCH", "/s", 1);
  setenv("CAIRN_NOT_A_KEY", "x", 1);
  auto r = ParseConfig("", "environment", true);
  unsetenv("CAIRN_NOT_A_KEY");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->sources.size(), 1u);
  EXPECT_EQ(r->sources[0].first, "scratch");
}

TEST_F(ConfigTest, BadEnvValueNamesVariable) {
  setenv("CAIRN_MODE", "fast", 1);
  auto r = ParseConfig("scratch = /s\n", "f.cfg", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("CAIRN_MODE"), std::string::npos);
  EXPECT_NE(r.status().message().find("'mode'"), std::string::npos);
  EXPECT_NE(r.status().message().find("fast"), std::string::npos);
}

TEST_F(ConfigTest, LoadConfigFromEnvironmentOnly) {
  setenv("VELOC_SCRATCH", "/env/scratch", 1);
  auto r = cairn::LoadConfig("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scratch, "/env/scratch");

  unsetenv("VELOC_SCRATCH");
  r = cairn::LoadConfig("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("scratch"), std::string::npos);
}

TEST_F(ConfigTest, LoadConfigFile) {
  std::string path = WriteFile("a.cfg", "scratch = /x/s\nmode = bogus\n");
  auto r = cairn::LoadConfig(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(path + ":2"), std::string::npos) << r.status().message();

  path = WriteFile("b.cfg", "scratch = /x/s\npersistent = /x/p\n");
  setenv("CAIRN_PERSISTENT", "/env/p", 1);
  r = cairn::LoadConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scratch, "/x/s");
  EXPECT_EQ(r->persistent, "/env/p");
  EXPECT_EQ(SourceOf(r.value(), "scratch"), path + ":1");
}

TEST_F(ConfigTest, MissingFile) {
  std::string path = dir_ + "/does-not-exist.cfg";
  auto r = cairn::LoadConfig(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("cannot read config file '" + path + "'"), std::string::npos)
      << r.status().message();
}

TEST_F(ConfigTest, UnreadableFileIsError) {
  auto r = cairn::LoadConfig(dir_);  // a directory
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find(dir_), std::string::npos);
}

TEST_F(ConfigTest, MissingScratch) {
  auto r = ParseConfig("mode = sync\n", "t.cfg", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("scratch"), std::string::npos);
  EXPECT_NE(r.status().message().find("t.cfg"), std::string::npos);
}

TEST_F(ConfigTest, RelativeScratch) {
  auto r = ParseConfig("scratch = relative/dir\n", "t.cfg", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'scratch'"), std::string::npos);
  EXPECT_NE(r.status().message().find("relative/dir"), std::string::npos);
  EXPECT_NE(r.status().message().find("t.cfg:1"), std::string::npos);
}

TEST_F(ConfigTest, LineWithoutEquals) {
  auto r = ParseConfig("scratch = /s\n\njust some words\n", "t.cfg", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("t.cfg:3"), std::string::npos) << r.status().message();

  r = ParseConfig("scratch = /s\n = value\n", "t.cfg", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("t.cfg:2"), std::string::npos) << r.status().message();
}

TEST_F(ConfigTest, ParityMustBeBelowSetSize) {
  auto r = ParseConfig("scratch=/s\nec_set_size=4\nec_parity=4\n", "t.cfg", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ec_parity"), std::string::npos);
  EXPECT_NE(r.status().message().find("t.cfg:3"), std::string::npos);

  // Default set size is 8; parity 8 is too many.
  r = ParseConfig("scratch=/s\nec_parity=8\n", "t.cfg", false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ec_parity"), std::string::npos);

  // Checked after all values are known: order in the file does not matter.
  r = ParseConfig("scratch=/s\nec_parity=12\nec_set_size=13\n", "t.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ec_parity, 12);
  EXPECT_EQ(r->ec_set_size, 13);
}

TEST_F(ConfigTest, UnknownKeyAndAxlTypeAreNotErrors) {
  auto r = ParseConfig("scratch=/s\nfoo = bar\naxl_type = AXL_XFER_SYNC\n", "t.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scratch, "/s");
  EXPECT_EQ(SourceOf(r.value(), "foo"), "");
}

struct BadCase {
  const char* key;
  const char* value;
};

class ConfigBadValueTest : public ConfigTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(ConfigBadValueTest, Rejected) {
  const BadCase& bc = GetParam();
  std::string text = std::string("scratch = /s\n") + bc.key + " = " + bc.value + "\n";
  auto r = ParseConfig(text, "bad.cfg", false);
  ASSERT_FALSE(r.ok()) << bc.key << " = '" << bc.value << "' accepted";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find(std::string("'") + bc.key + "'"), std::string::npos) << m;
  EXPECT_NE(m.find(std::string("'") + bc.value + "'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.cfg:2"), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(
    AllKeys, ConfigBadValueTest,
    ::testing::Values(BadCase{"scratch", "relative"}, BadCase{"scratch", ""},
                      BadCase{"scratch", "./s"}, BadCase{"persistent", "rel/p"},
                      BadCase{"meta", "meta"}, BadCase{"mode", "fast"}, BadCase{"mode", ""},
                      BadCase{"persistent_interval", "10x"}, BadCase{"persistent_interval", ""},
                      BadCase{"persistent_interval", "1.5"}, BadCase{"persistent_interval", "+5"},
                      BadCase{"persistent_interval", "99999999999999999999"},
                      BadCase{"persistent_interval", "1 0"}, BadCase{"ec_interval", "never"},
                      BadCase{"watchdog_interval", "-1"}, BadCase{"watchdog_interval", "abc"},
                      BadCase{"max_versions", "-1"}, BadCase{"max_versions", "3000000000"},
                      BadCase{"max_versions", "x"}, BadCase{"scratch_versions", "-2"},
                      BadCase{"scratch_versions", "0x10"}, BadCase{"chksum", "maybe"},
                      BadCase{"chksum", ""}, BadCase{"shuffle", "2"},
                      BadCase{"scratch_fsync", "yep"}, BadCase{"ec_scheme", "raid"},
                      BadCase{"ec_scheme", ""}, BadCase{"ec_set_size", "1"},
                      BadCase{"ec_set_size", "257"}, BadCase{"ec_set_size", "eight"},
                      BadCase{"ec_parity", "0"}, BadCase{"ec_parity", "-1"},
                      BadCase{"ec_parity", "x"}, BadCase{"compress", "gzip"},
                      BadCase{"compress", ""}, BadCase{"failure_domain", ""}));

TEST(ParseBoolTest, Values) {
  for (const char* t : {"true", "TRUE", "yes", "Yes", "on", "ON", "1", " true "}) {
    EXPECT_EQ(cairn::ParseBool(t), std::optional<bool>(true)) << t;
  }
  for (const char* f : {"false", "False", "no", "NO", "off", "Off", "0"}) {
    EXPECT_EQ(cairn::ParseBool(f), std::optional<bool>(false)) << f;
  }
  for (const char* b : {"", "2", "y", "n", "truee", "enabled", "-1"}) {
    EXPECT_EQ(cairn::ParseBool(b), std::nullopt) << b;
  }
}

TEST_F(ConfigTest, Describe) {
  auto r = ParseConfig("scratch = /s\nmode = async\n", "d.cfg", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string d = cairn::DescribeConfig(r.value());
  EXPECT_NE(d.find("scratch = /s  (d.cfg:1)\n"), std::string::npos) << d;
  EXPECT_NE(d.find("mode = async  (d.cfg:2)\n"), std::string::npos) << d;
  EXPECT_NE(d.find("ec_set_size = 8  (default)\n"), std::string::npos) << d;
  EXPECT_NE(d.find("chksum = true  (default)\n"), std::string::npos) << d;
  EXPECT_NE(d.find("persistent = (unset)  (default)\n"), std::string::npos) << d;
  EXPECT_EQ(d.find("axl_type"), std::string::npos) << d;
  EXPECT_EQ(std::count(d.begin(), d.end(), '\n'), 28);  // one line per key
}

}  // namespace

TEST(ConfigInlineComments, StrippedAfterWhitespace) {
  auto c = cairn::ParseConfig(
      "scratch = /tmp/s   # node-local\nmode = async ; fast\n"
      "persistent = /tmp/p#1\n",
      "t.cfg", false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c.value().scratch, "/tmp/s");
  EXPECT_EQ(c.value().mode, cairn::Mode::kAsync);
  EXPECT_EQ(c.value().persistent, "/tmp/p#1");
}

TEST(ConfigSerialize, RoundTrip) {
  auto c = cairn::ParseConfig(
      "scratch = /tmp/s\npersistent = /tmp/p\nmode = async\nscratch_versions = 3\n"
      "compress = zstd\nscratch_compress = lz4\nbackend_workers = 4\nbackend_idle_timeout = 5\n",
      "t.cfg", false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto back = cairn::ParseConfig(cairn::SerializeConfig(c.value()), "serialized", false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(cairn::SerializeConfig(back.value()), cairn::SerializeConfig(c.value()));
  EXPECT_EQ(back.value().backend_workers, 4);
  EXPECT_EQ(back.value().scratch_compress, "lz4");
  EXPECT_EQ(back.value().mode, cairn::Mode::kAsync);
  EXPECT_FALSE(cairn::ParseConfig("scratch = /s\nbackend_workers = 0\n", "t", false).ok());
}

TEST(ConfigTiers, CapacityAndSpill) {
  auto c = cairn::ParseConfig(
      "scratch = /dev/shm/c\nscratch_capacity = 2G\nscratch_spill = /ssd/a/, /ssd/b\n", "t", false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c.value().scratch_capacity, 2ULL << 30);
  EXPECT_EQ(c.value().scratch_spill, (std::vector<std::string>{"/ssd/a", "/ssd/b"}));
  EXPECT_EQ(cairn::ParseSize("512m"), 512ULL << 20);
  EXPECT_EQ(cairn::ParseSize("7"), 7u);
  EXPECT_EQ(cairn::ParseSize("1KB"), 1024u);
  EXPECT_FALSE(cairn::ParseSize("x").has_value());
  EXPECT_FALSE(cairn::ParseSize("-1G").has_value());
  EXPECT_FALSE(cairn::ParseConfig("scratch = /s\nscratch_capacity = lots\n", "t", false).ok());
  EXPECT_FALSE(cairn::ParseConfig("scratch = /s\nscratch_spill = rel/dir\n", "t", false).ok());
}

TEST(ConfigJobKeys, DefaultsValuesAndRoundTrip) {
  auto d = cairn::ParseConfig("scratch = /s\n", "t.cfg", false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d.value().checkpoint_interval, 0);
  EXPECT_EQ(d.value().mtbf, 0);
  EXPECT_EQ(d.value().job_end_margin, 10);
  auto c = cairn::ParseConfig(
      "scratch = /s\ncheckpoint_interval = 600\nmtbf = 86400\njob_end_margin = 0\n", "t.cfg",
      false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c.value().checkpoint_interval, 600);
  EXPECT_EQ(c.value().mtbf, 86400);
  EXPECT_EQ(c.value().job_end_margin, 0);
  auto back = cairn::ParseConfig(cairn::SerializeConfig(c.value()), "serialized", false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().checkpoint_interval, 600);
  EXPECT_EQ(back.value().mtbf, 86400);
  EXPECT_EQ(back.value().job_end_margin, 0);
  EXPECT_NE(cairn::DescribeConfig(c.value()).find("mtbf = 86400  (t.cfg:3)"), std::string::npos)
      << cairn::DescribeConfig(c.value());
}

TEST(ConfigJobKeys, BadValuesNameKeyValueAndSource) {
  for (const char* bad : {"checkpoint_interval = -1", "checkpoint_interval = 10s",
                          "checkpoint_interval = 99999999999", "mtbf = -3600", "mtbf = often",
                          "job_end_margin = -1", "job_end_margin = 1.5", "job_end_margin ="}) {
    std::string line(bad);
    std::string key = line.substr(0, line.find(' '));
    std::string value = line.substr(line.find('=') + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    auto r = cairn::ParseConfig("scratch = /s\n" + line + "\n", "bad.cfg", false);
    ASSERT_FALSE(r.ok()) << bad << " accepted";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    const std::string& m = r.status().message();
    EXPECT_NE(m.find("'" + key + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("'" + value + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("bad.cfg:2"), std::string::npos) << m;
  }
}

TEST(ConfigJobKeys, FromEnvironment) {
  const char* const vars[] = {
      "CAIRN_CHECKPOINT_INTERVAL", "VELOC_CHECKPOINT_INTERVAL", "CAIRN_MTBF", "VELOC_MTBF",
      "CAIRN_JOB_END_MARGIN",      "VELOC_JOB_END_MARGIN"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  for (const char* v : vars) {
    const char* old = std::getenv(v);
    saved.emplace_back(v, old ? std::optional<std::string>(old) : std::nullopt);
    unsetenv(v);
  }
  setenv("VELOC_CHECKPOINT_INTERVAL", "30", 1);
  setenv("CAIRN_MTBF", "7200", 1);
  setenv("VELOC_MTBF", "1", 1);  // CAIRN_ wins
  setenv("CAIRN_JOB_END_MARGIN", "25", 1);
  auto c = cairn::ParseConfig("scratch = /s\ncheckpoint_interval = 5\n", "t.cfg", true);
  setenv("CAIRN_JOB_END_MARGIN", "x", 1);
  auto bad = cairn::ParseConfig("scratch = /s\n", "t.cfg", true);
  for (const auto& [name, v] : saved) {
    if (v) {
      setenv(name.c_str(), v->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c.value().checkpoint_interval, 30);
  EXPECT_EQ(c.value().mtbf, 7200);
  EXPECT_EQ(c.value().job_end_margin, 25);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("CAIRN_JOB_END_MARGIN"), std::string::npos)
      << bad.status().message();
}
