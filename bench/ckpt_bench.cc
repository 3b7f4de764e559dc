// cairn_bench_ckpt: checkpoint and restart of one rank against raw I/O of the same bytes.
//
//   checkpoint  raw:   pwrite the buffer into a file on scratch (the same file every rep),
//                      then into a file on persistent + fdatasync
//               cairn: Client::Checkpoint(name, v++) with scratch_versions = max_versions = 1,
//                      persistent_interval = 0, mode = sync
//   restart     raw:   pread the scratch file into the (already touched) buffer
//               cairn: a fresh Client (as after a failure), RestartTest (structure only,
//                      as cairn_restart_latest) + Restart of the newest version into the
//                      same buffer, its data verified as it is read (one pass)
//               also:  the VeloC API's contract (Restart_test verifies the data first,
//                      Restart reads it again), a row of its own
//   reference   memcpy of the same bytes
//
// Every figure is the best of --reps repetitions after one untimed warm-up; raw and cairn
// repetitions are interleaved (and their order alternates) so that they share the noise.
// Goals (from the issues): raw/cairn >= 0.9 for checkpoint; restart at most 1.1x a raw read
// (raw/cairn >= 1/1.1).
//
// When a goal is missed (or with --profile) a phase breakdown follows: the engine driven
// step by step over a timing Env (which system calls take the time, the rest being hashing
// and the persistent copy, which bypasses Env), plus raw micro-measurements of each step
// of the engine's data path. Everything printed is also written as JSON (--json).
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/engine.h"
#include "comm/comm.h"
#include "common/hash.h"
#include "env/env.h"
#include "harness.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kName = "bench";
constexpr double kGoal = 0.9;               // checkpoint
constexpr double kRestartGoal = 1.0 / 1.1;  // restart: at most 1.1x a raw read
constexpr size_t kChunk = 4u << 20;         // the engine's hashing/IO chunk

// ---------------------------------------------------------------- failure handling

std::vector<std::string> g_cleanup;  // directories this run created (removed at exit)

void CleanupDirs() {
  for (auto it = g_cleanup.rbegin(); it != g_cleanup.rend(); ++it) {
    std::error_code ec;
    fs::remove_all(*it, ec);
    if (ec)
      std::fprintf(stderr, "cairn_bench_ckpt: cannot remove %s: %s\n", it->c_str(),
                   ec.message().c_str());
  }
  g_cleanup.clear();
}

// Die / DieErrno (harness.h) exit the process; CleanupDirs runs then (std::atexit in main).
using cairn::bench::Die;
using cairn::bench::DieErrno;
using cairn::bench::FsInfo;
using cairn::bench::GBps;
using cairn::bench::Now;
using cairn::bench::PreadAll;
using cairn::bench::PwriteAll;
using cairn::bench::StatFs;

void Check(const cairn::Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

template <class T>
T Check(cairn::Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.status().ToString());
  return std::move(r).value();
}

void Warn(const std::string& msg) {
  std::fprintf(stderr, "cairn_bench_ckpt: warning: %s\n", msg.c_str());
}

// ---------------------------------------------------------------- small helpers

double Best(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

int OpenOrDie(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) DieErrno("cannot open '" + path + "'");
  return fd;
}

void CloseOrDie(int fd, const std::string& path) {
  if (::close(fd) != 0) DieErrno("cannot close '" + path + "'");
}

void FdatasyncOrDie(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) DieErrno("cannot fdatasync '" + path + "'");
}

void UnlinkOrDie(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) DieErrno("cannot remove '" + path + "'");
}

bool IsWritableDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         ::access(p.c_str(), W_OK | X_OK) == 0;
}

// A fresh directory "<parent>/cairn_bench_XXXXXX", removed at exit.
std::string MakeFreshDir(const std::string& parent) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) Die("cannot create directory '" + parent + "': " + ec.message());
  std::string tmpl = (fs::path(parent) / "cairn_bench_XXXXXX").string();
  std::vector<char> b(tmpl.begin(), tmpl.end());
  b.push_back('\0');
  if (::mkdtemp(b.data()) == nullptr) DieErrno("cannot create a directory under '" + parent + "'");
  g_cleanup.emplace_back(b.data());
  return b.data();
}

std::string ExeDir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::current_path().string();
  return p.parent_path().string();
}

// Total bytes of regular files under `dir` and how many there are.
std::pair<uint64_t, int> TreeBytes(const std::string& dir) {
  uint64_t bytes = 0;
  int files = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) {
      bytes += it->file_size();
      ++files;
    }
  }
  if (ec) Die("cannot list '" + dir + "': " + ec.message());
  return {bytes, files};
}

char* AllocTouched(size_t n, const char* what) {
  void* p = std::aligned_alloc(4096, n);
  if (p == nullptr) Die(std::string("cannot allocate ") + std::to_string(n) + " bytes for " + what);
  std::memset(p, 0, n);
  return static_cast<char*>(p);
}

// Deterministic, incompressible content (splitmix64), touching every page.
void Fill(char* p, size_t n) {
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(p + i, &z, 8);
  }
}

// ---------------------------------------------------------------- options

struct Options {
  size_t size_mib = 512;
  int reps = 5;
  std::string scratch;     // parent; a fresh dir is created inside
  std::string persistent;  // parent; a fresh dir is created inside
  std::string json = "bench_ckpt.json";
  int profile = -1;  // -1: when a goal is missed; 0: never; 1: always
};

[[noreturn]] void Usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: cairn_bench_ckpt [--size-mib N] [--reps N] [--scratch DIR]\n"
               "                        [--persistent DIR] [--json PATH] [--profile|--no-profile]\n"
               "  --size-mib N       bytes to checkpoint, in MiB (default 512)\n"
               "  --reps N           timed repetitions, best is reported (default 5)\n"
               "  --scratch DIR      a fresh directory is created inside (default /dev/shm)\n"
               "  --persistent DIR   a fresh directory is created inside; must be a disk file\n"
               "                     system (default /var/tmp, else the build directory)\n"
               "  --json PATH        where to write the results (default bench_ckpt.json)\n"
               "  --profile          always print the phase breakdown (default: only when a\n"
               "                     goal is missed); --no-profile: never\n");
  std::exit(code);
}

long long ParseCount(const std::string& opt, const std::string& v, long long lo, long long hi) {
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi) {
    Die(opt + ": '" + v + "' is not a number in [" + std::to_string(lo) + ", " +
        std::to_string(hi) + "]");
  }
  return x;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v;
    bool has_v = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_v = true;
    }
    auto value = [&]() -> std::string {
      if (has_v) return v;
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      Usage(0);
    } else if (a == "--size-mib") {
      o.size_mib = static_cast<size_t>(ParseCount(a, value(), 1, 1 << 20));
    } else if (a == "--reps") {
      o.reps = static_cast<int>(ParseCount(a, value(), 1, 1000));
    } else if (a == "--scratch") {
      o.scratch = value();
    } else if (a == "--persistent") {
      o.persistent = value();
    } else if (a == "--json") {
      o.json = value();
    } else if (a == "--profile") {
      o.profile = 1;
    } else if (a == "--no-profile") {
      o.profile = 0;
    } else {
      std::fprintf(stderr, "cairn_bench_ckpt: unknown argument '%s'\n", argv[i]);
      Usage(2);
    }
  }
  if (o.json.empty()) Die("--json: empty path");
  return o;
}

// ---------------------------------------------------------------- results

struct Row {
  std::string op;
  std::string baseline_what;
  std::vector<double> baseline;  // seconds per rep (empty: none)
  std::vector<double> cairn;
  bool has_goal = false;
  double goal = kGoal;  // raw/cairn at least this, when has_goal
};

double Ratio(const Row& r) {
  if (r.baseline.empty() || r.cairn.empty()) return 0;
  return Best(r.baseline) / Best(r.cairn);
}

struct ProfileLine {
  std::string section;  // "checkpoint", "restart", "raw"
  std::string what;
  double seconds = 0;
  std::string note;
};

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\t':
        o += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof(b), "\\u%04x", c);
          o += b;
        } else {
          o += c;
        }
    }
  }
  return o;
}

std::string Num(double v) {
  char b[64];
  std::snprintf(b, sizeof(b), "%.6g", v);
  return b;
}

std::string JsonArray(const std::vector<double>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + Num(v[i]);
  return o + "]";
}

// ---------------------------------------------------------------- timing Env (profile)

// Wraps the default Env and accumulates wall time per kind of call.
class TimingEnv final : public cairn::Env {
 public:
  explicit TimingEnv(cairn::Env* base) : base_(base) {}
  std::map<std::string, double> t;
  std::map<std::string, uint64_t> bytes;
  void Reset() {
    t.clear();
    bytes.clear();
  }
  double Get(const std::string& k) const {
    auto it = t.find(k);
    return it == t.end() ? 0 : it->second;
  }
  double Total() const {
    double s = 0;
    for (const auto& [k, v] : t) s += v;
    return s;
  }

  template <class F>
  auto Timed(const std::string& key, F&& f) {
    double t0 = Now();
    auto r = f();
    t[key] += Now() - t0;
    return r;
  }

  class File final : public cairn::WritableFile {
   public:
    File(TimingEnv* env, std::unique_ptr<cairn::WritableFile> f) : env_(env), f_(std::move(f)) {}
    cairn::Status Append(const void* d, size_t n) override {
      env_->bytes["write"] += n;
      return env_->Timed("write", [&] { return f_->Append(d, n); });
    }
    cairn::Status WriteAt(uint64_t off, const void* d, size_t n) override {
      env_->bytes["write"] += n;
      return env_->Timed("write", [&] { return f_->WriteAt(off, d, n); });
    }
    cairn::Status Sync() override {
      return env_->Timed("fdatasync", [&] { return f_->Sync(); });
    }
    cairn::Status Close() override {
      return env_->Timed("close", [&] { return f_->Close(); });
    }
    const std::string& path() const override { return f_->path(); }

   private:
    TimingEnv* env_;
    std::unique_ptr<cairn::WritableFile> f_;
  };

  class RFile final : public cairn::RandomAccessFile {
   public:
    RFile(TimingEnv* env, std::unique_ptr<cairn::RandomAccessFile> f)
        : env_(env), f_(std::move(f)) {}
    cairn::Status ReadAt(uint64_t off, void* buf, size_t n) const override {
      env_->bytes["read"] += n;
      return env_->Timed("read", [&] { return f_->ReadAt(off, buf, n); });
    }
    uint64_t size() const override { return f_->size(); }
    const std::string& path() const override { return f_->path(); }

   private:
    TimingEnv* env_;
    std::unique_ptr<cairn::RandomAccessFile> f_;
  };

  cairn::Result<std::unique_ptr<cairn::WritableFile>> NewWritableFile(
      const std::string& path) override {
    auto f = Timed("open", [&] { return base_->NewWritableFile(path); });
    if (!f.ok()) return f.status();
    return std::unique_ptr<cairn::WritableFile>(new File(this, std::move(f.value())));
  }
  cairn::Result<std::unique_ptr<cairn::RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    auto f = Timed("open", [&] { return base_->NewRandomAccessFile(path); });
    if (!f.ok()) return f.status();
    return std::unique_ptr<cairn::RandomAccessFile>(new RFile(this, std::move(f.value())));
  }
  cairn::Status CreateDirs(const std::string& p) override {
    return Timed("metadata", [&] { return base_->CreateDirs(p); });
  }
  cairn::Status EnsureWritableDir(const std::string& p) override {
    return Timed("metadata", [&] { return base_->EnsureWritableDir(p); });
  }
  cairn::Result<std::vector<std::string>> ListDir(const std::string& p) override {
    return Timed("metadata", [&] { return base_->ListDir(p); });
  }
  cairn::Result<cairn::FileInfo> Stat(const std::string& p) override {
    return Timed("metadata", [&] { return base_->Stat(p); });
  }
  bool Exists(const std::string& p) override {
    return Timed("metadata", [&] { return base_->Exists(p); });
  }
  cairn::Status RemoveFile(const std::string& p) override {
    return Timed("remove", [&] { return base_->RemoveFile(p); });
  }
  cairn::Status RemoveDir(const std::string& p) override {
    return Timed("remove", [&] { return base_->RemoveDir(p); });
  }
  cairn::Status RemoveTree(const std::string& p) override {
    return Timed("remove", [&] { return base_->RemoveTree(p); });
  }
  cairn::Status Rename(const std::string& a, const std::string& b) override {
    return Timed("rename", [&] { return base_->Rename(a, b); });
  }
  cairn::Status SyncDir(const std::string& p) override {
    return Timed("fsync dir", [&] { return base_->SyncDir(p); });
  }
  cairn::Status SyncFile(const std::string& p) override {
    return Timed("fdatasync", [&] { return base_->SyncFile(p); });
  }

 private:
  cairn::Env* base_;
};

// ---------------------------------------------------------------- the benchmark

struct Bench {
  Options o;
  size_t size = 0;
  std::string scratch_root, persistent_root;
  FsInfo scratch_fs, persistent_fs;
  std::string cfg_path;
  std::string raw_scratch, raw_persistent;
  char* buf = nullptr;
  char* dst = nullptr;
  uint64_t content_hash = 0;
  long long version = 0;
  std::vector<Row> rows;
  std::vector<ProfileLine> profile;
  std::vector<std::string> warnings;

  void Note(const std::string& w) {
    Warn(w);
    warnings.push_back(w);
  }

  void Setup() {
    size = o.size_mib << 20;
    // Directories.
    std::string sp = o.scratch.empty() ? "/dev/shm" : o.scratch;
    if (o.scratch.empty() && !IsWritableDir(sp)) {
      Note("/dev/shm is not writable; scratch falls back to /tmp");
      sp = "/tmp";
    }
    std::string pp = o.persistent;
    if (pp.empty()) {
      pp = "/var/tmp";
      if (!IsWritableDir(pp) || StatFs(pp).memory) pp = ExeDir();
    }
    scratch_root = MakeFreshDir(sp);
    persistent_root = MakeFreshDir(pp);
    scratch_fs = StatFs(scratch_root);
    persistent_fs = StatFs(persistent_root);
    if (persistent_fs.memory) {
      Note("persistent directory " + persistent_root + " is on " + persistent_fs.type +
           ", not a disk: the fdatasync costs nothing and the comparison is not the one asked "
           "for (use --persistent DIR on a disk file system)");
    }
    if (!scratch_fs.memory) {
      Note("scratch directory " + scratch_root + " is on " + scratch_fs.type +
           ", not tmpfs (node-local memory)");
    }
    raw_scratch = scratch_root + "/raw.bin";
    raw_persistent = persistent_root + "/raw.bin";

    // Configuration: a file, and no environment overrides of the keys it sets.
    for (const char* key : {"SCRATCH", "PERSISTENT", "MODE", "PERSISTENT_INTERVAL", "MAX_VERSIONS",
                            "SCRATCH_VERSIONS", "CHKSUM", "SCRATCH_FSYNC", "COMPRESS",
                            "EC_INTERVAL", "EC_SCHEME", "META"}) {
      for (const char* prefix : {"CAIRN_", "VELOC_"}) {
        std::string var = std::string(prefix) + key;
        if (const char* v = std::getenv(var.c_str()); v != nullptr && *v != '\0') {
          Note("ignoring " + var + "=" + v + " (the benchmark sets its own configuration)");
        }
        ::unsetenv(var.c_str());
      }
    }
    cfg_path = scratch_root + "/bench.cfg";
    {
      std::ofstream cfg(cfg_path);
      cfg << "# written by cairn_bench_ckpt\n"
          << "scratch = " << scratch_root << "/cairn\n"
          << "persistent = " << persistent_root << "/cairn\n"
          << "mode = sync\n"
          << "persistent_interval = 0\n"
          << "scratch_versions = 1\n"
          << "max_versions = 1\n";
      if (!cfg) Die("cannot write '" + cfg_path + "'");
    }

    // Buffers, fully touched before anything is timed.
    buf = AllocTouched(size, "the checkpointed buffer");
    Fill(buf, size);
    dst = AllocTouched(size, "the memcpy destination");
    content_hash = cairn::Hash64(buf, size);
  }

  // ---- checkpoint

  double RawCheckpoint() {
    double t0 = Now();
    int fd = OpenOrDie(raw_scratch, O_WRONLY | O_CREAT);
    PwriteAll(fd, buf, size, 0, raw_scratch);
    CloseOrDie(fd, raw_scratch);
    fd = OpenOrDie(raw_persistent, O_WRONLY | O_CREAT);
    PwriteAll(fd, buf, size, 0, raw_persistent);
    FdatasyncOrDie(fd, raw_persistent);
    CloseOrDie(fd, raw_persistent);
    return Now() - t0;
  }

  double CairnCheckpoint(cairn::Client& c) {
    const long long v = ++version;
    double t0 = Now();
    Check(c.Checkpoint(kName, v),
          "Checkpoint('" + std::string(kName) + "', " + std::to_string(v) + ")");
    return Now() - t0;
  }

  void RunCheckpoint() {
    auto client =
        Check(cairn::Client::Create(cairn::MakeSingleComm(0), cfg_path), "cairn::Client::Create");
    Check(client->Protect(0, buf, size, 1, ""), "Protect(0)");
    // Warm-up (untimed): creates the raw files and the first version.
    RawCheckpoint();
    CairnCheckpoint(*client);
    Row r{"checkpoint", "pwrite scratch + pwrite,fdatasync persistent", {}, {}, true};
    for (int i = 0; i < o.reps; ++i) {
      if (i % 2 == 0) {
        r.baseline.push_back(RawCheckpoint());
        r.cairn.push_back(CairnCheckpoint(*client));
      } else {
        r.cairn.push_back(CairnCheckpoint(*client));
        r.baseline.push_back(RawCheckpoint());
      }
    }
    Check(client->Finalize(true), "Finalize");
    client.reset();
    // Sanity: retention kept exactly one version on each level, and it is complete.
    for (const auto& [lvl, dir] : {std::pair<std::string, std::string>{"scratch", scratch_root},
                                   {"persistent", persistent_root}}) {
      auto [bytes, files] = TreeBytes(dir + "/cairn");
      if (files != 1 || bytes < size || bytes >= 2 * size) {
        Die("after the checkpoints, " + lvl + " holds " + std::to_string(files) + " file(s) of " +
            std::to_string(bytes) + " bytes; expected one version of about " +
            std::to_string(size) + " bytes");
      }
    }
    rows.push_back(std::move(r));
  }

  // ---- restart

  double RawRestart() {
    double t0 = Now();
    int fd = OpenOrDie(raw_scratch, O_RDONLY);
    PreadAll(fd, buf, size, 0, raw_scratch);
    CloseOrDie(fd, raw_scratch);
    return Now() - t0;
  }

  // A fresh client, as a restarted application has; its creation is not timed.
  // verify_in_test: the VeloC API's way (Restart_test reads and hashes the data).
  void CairnRestart(double* test_s, double* read_s, bool verify_in_test = false) {
    auto client = Check(cairn::Client::Create(cairn::MakeSingleComm(0), cfg_path),
                        "cairn::Client::Create (restart)");
    Check(client->Protect(0, buf, size, 1, ""), "Protect(0) (restart)");
    // Spoil one byte per MiB (untimed) so that a restart that reads nothing is caught.
    std::vector<char> saved;
    for (size_t off = 0; off < size; off += 1u << 20) {
      saved.push_back(buf[off]);
      buf[off] = static_cast<char>(~buf[off]);
    }
    double t0 = Now();
    client->SetVerifyBeforeRestore(verify_in_test);
    long long v = Check(client->RestartTest(kName, 0), "RestartTest");
    double t1 = Now();
    if (v != version) {
      Die("RestartTest returned version " + std::to_string(v) + ", the newest is " +
          std::to_string(version));
    }
    Check(client->Restart(kName, v), "Restart(" + std::to_string(v) + ")");
    double t2 = Now();
    for (size_t off = 0, k = 0; off < size; off += 1u << 20, ++k) {
      if (buf[off] != saved[k]) Die("Restart did not restore byte " + std::to_string(off));
    }
    Check(client->Finalize(true), "Finalize (restart)");
    *test_s = t1 - t0;
    *read_s = t2 - t1;
  }

  void RunRestart() {
    double a, b;
    RawRestart();  // warm-up
    CairnRestart(&a, &b);
    Row total{"restart (test + verified read)", "pread scratch", {}, {}, true, kRestartGoal};
    Row test{"  RestartTest (structure)", "pread scratch", {}, {}, false};
    Row read{"  Restart (read + verify)", "pread scratch", {}, {}, false};
    Row veloc{"restart, VeloC contract (verify, read)", "pread scratch", {}, {}, false};
    for (int i = 0; i < o.reps; ++i) {
      if (i % 2 == 0) {
        total.baseline.push_back(RawRestart());
        CairnRestart(&a, &b);
      } else {
        CairnRestart(&a, &b);
        total.baseline.push_back(RawRestart());
      }
      total.cairn.push_back(a + b);
      test.cairn.push_back(a);
      read.cairn.push_back(b);
      CairnRestart(&a, &b, /*verify_in_test=*/true);
      veloc.cairn.push_back(a + b);
    }
    test.baseline = read.baseline = veloc.baseline = total.baseline;
    if (cairn::Hash64(buf, size) != content_hash) {
      Die("the buffer does not hold the checkpointed bytes after the restarts");
    }
    rows.push_back(std::move(total));
    rows.push_back(std::move(test));
    rows.push_back(std::move(read));
    rows.push_back(std::move(veloc));
  }

  void RunMemcpy() {
    std::memcpy(dst, buf, size);  // warm-up
    Row r{"memcpy (reference)", "memcpy", {}, {}, false};
    for (int i = 0; i < o.reps; ++i) {
      double t0 = Now();
      std::memcpy(dst, buf, size);
      r.baseline.push_back(Now() - t0);
    }
    if (std::memcmp(dst, buf, size) != 0) Die("memcpy reference: copy differs");
    rows.push_back(std::move(r));
  }

  bool GoalsMet() const {
    for (const Row& r : rows) {
      if (r.has_goal && Ratio(r) < r.goal) return false;
    }
    return true;
  }

  // ---- profile: where the time goes

  void Add(const std::string& section, const std::string& what, double s,
           const std::string& note = "") {
    profile.push_back({section, what, s, note});
  }

  void ProfileEngine() {
    const int reps = std::min(o.reps, 3);
    TimingEnv env(cairn::Env::Default());
    // Its own directories, so that the measured client's state is not disturbed.
    std::string pcfg = scratch_root + "/profile.cfg";
    {
      std::ofstream cfg(pcfg);
      cfg << "scratch = " << scratch_root << "/prof\n"
          << "persistent = " << persistent_root << "/prof\n"
          << "mode = sync\npersistent_interval = 0\nscratch_versions = 1\nmax_versions = 1\n";
      if (!cfg) Die("cannot write '" + pcfg + "'");
    }
    auto engine = Check(cairn::Engine::Create(cairn::MakeSingleComm(0), pcfg, &env),
                        "Engine::Create (profile)");
    Check(engine->Protect(0, buf, size, 1, ""), "Protect (profile)");
    long long v = 0;
    // Checkpoint, step by step; keep the fastest rep's breakdown.
    struct Ck {
      double begin, mem, end, total;
      std::map<std::string, double> mem_env, end_env;
    };
    std::optional<Ck> best;
    for (int i = 0; i <= reps; ++i) {  // rep 0 is a warm-up
      ++v;
      Ck ck{};
      env.Reset();
      double t0 = Now();
      Check(engine->CheckpointBegin("prof", v), "CheckpointBegin (profile)");
      double t1 = Now();
      env.Reset();
      Check(engine->CheckpointMem(cairn::Select::kAll, {}), "CheckpointMem (profile)");
      double t2 = Now();
      ck.mem_env = env.t;
      env.Reset();
      Check(engine->CheckpointEnd(true), "CheckpointEnd (profile)");
      double t3 = Now();
      ck.end_env = env.t;
      ck.begin = t1 - t0;
      ck.mem = t2 - t1;
      ck.end = t3 - t2;
      ck.total = t3 - t0;
      if (i > 0 && (!best || ck.total < best->total)) best = ck;
    }
    auto sum = [](const std::map<std::string, double>& m) {
      double s = 0;
      for (const auto& [k, x] : m) s += x;
      return s;
    };
    auto get = [](const std::map<std::string, double>& m, const char* k) {
      auto it = m.find(k);
      return it == m.end() ? 0.0 : it->second;
    };
    const Ck& c = *best;
    Add("checkpoint", "total (Begin + Mem + End)", c.total);
    Add("checkpoint", "Begin: mkdir version dir, create .tmp", c.begin);
    Add("checkpoint", "Mem: pwrite to scratch (new file)", get(c.mem_env, "write"));
    Add("checkpoint", "Mem: XXH3 hashing (Mem - pwrite)", c.mem - sum(c.mem_env));
    Add("checkpoint", "End: fdatasync scratch", get(c.end_env, "fdatasync"));
    Add("checkpoint", "End: table/header write + close",
        get(c.end_env, "write") + get(c.end_env, "close"));
    Add("checkpoint", "End: copy to persistent (sendfile+fdatasync)", c.end - sum(c.end_env),
        "not through Env: End minus its Env calls");
    Add("checkpoint", "End: rename + fsync dirs",
        get(c.end_env, "rename") + get(c.end_env, "fsync dir"));
    Add("checkpoint", "End: retention (list + remove old version)",
        get(c.end_env, "remove") + get(c.end_env, "metadata") + get(c.end_env, "open"));
    Check(engine->Finalize(true), "Finalize (profile)");
    engine.reset();

    // Restart, step by step, each rep with a fresh engine (nothing cached).
    struct Rs {
      double test, begin, mem, total;
      std::map<std::string, double> test_env, mem_env;
    };
    std::optional<Rs> rbest;
    for (int i = 0; i <= reps; ++i) {
      auto e = Check(cairn::Engine::Create(cairn::MakeSingleComm(0), pcfg, &env),
                     "Engine::Create (profile restart)");
      Check(e->Protect(0, buf, size, 1, ""), "Protect (profile restart)");
      Rs rs{};
      env.Reset();
      double t0 = Now();
      e->SetVerifyBeforeRestore(false);
      long long got = Check(e->RestartTest("prof", 0, -1), "RestartTest (profile)");
      double t1 = Now();
      rs.test_env = env.t;
      if (got != v) Die("profile: RestartTest returned " + std::to_string(got));
      Check(e->RestartBegin("prof", got, -1), "RestartBegin (profile)");
      double t2 = Now();
      env.Reset();
      Check(e->RecoverMem(cairn::Select::kAll, {}), "RecoverMem (profile)");
      double t3 = Now();
      rs.mem_env = env.t;
      Check(e->RestartEnd(true), "RestartEnd (profile)");
      Check(e->Finalize(true), "Finalize (profile restart)");
      rs.test = t1 - t0;
      rs.begin = t2 - t1;
      rs.mem = t3 - t2;
      rs.total = t3 - t0;
      if (i > 0 && (!rbest || rs.total < rbest->total)) rbest = rs;
    }
    const Rs& r = *rbest;
    Add("restart", "total (RestartTest + Begin + RecoverMem)", r.total);
    Add("restart", "RestartTest: list/open/stat/read the table", r.test);
    Add("restart", "RestartBegin (cached: stat only)", r.begin);
    Add("restart", "RecoverMem: pread into region", get(r.mem_env, "read"));
    Add("restart", "RecoverMem: XXH3 (RecoverMem - pread)", r.mem - sum(r.mem_env));
  }

  // Each step of the engine's data path, alone, on raw system calls (best of reps).
  void ProfileRaw() {
    const int reps = std::min(o.reps, 3);
    auto best_of = [&](const std::function<double()>& f) {
      f();  // warm-up
      std::vector<double> v;
      for (int i = 0; i < reps; ++i) v.push_back(f());
      return Best(v);
    };
    const std::string sdir = scratch_root + "/micro";
    const std::string pdir = persistent_root + "/micro";
    for (const auto& d : {sdir, pdir}) {
      if (::mkdir(d.c_str(), 0700) != 0) DieErrno("cannot create '" + d + "'");
    }
    uint64_t sink = 0;

    Add("raw", "XXH3 of the buffer (4 MiB chunks)", best_of([&] {
          double t0 = Now();
          cairn::Hasher h;
          for (size_t off = 0; off < size; off += kChunk)
            h.Update(buf + off, std::min(kChunk, size - off));
          sink ^= h.Digest();
          return Now() - t0;
        }));
    Add("raw", "scratch: pwrite into the existing file", best_of([&] {
          double t0 = Now();
          int fd = OpenOrDie(raw_scratch, O_WRONLY);
          PwriteAll(fd, buf, size, 0, raw_scratch);
          CloseOrDie(fd, raw_scratch);
          return Now() - t0;
        }),
        "what the raw baseline does");
    // A new file each time, the previous one removed afterwards (as versions + retention).
    int gen = 0;
    auto fresh = [&](const std::string& dir, int g) { return dir + "/f" + std::to_string(g); };
    std::vector<double> scratch_unlink;
    Add("raw", "scratch: create + pwrite a new file (4 MiB chunks)", best_of([&] {
          std::string p = fresh(sdir, ++gen);
          double t0 = Now();
          int fd = OpenOrDie(p, O_WRONLY | O_CREAT | O_TRUNC);
          for (size_t off = 0; off < size; off += kChunk) {
            PwriteAll(fd, buf + off, std::min(kChunk, size - off), static_cast<off_t>(off), p);
          }
          CloseOrDie(fd, p);
          double t = Now() - t0;
          double u0 = Now();
          UnlinkOrDie(fresh(sdir, gen - 1));
          scratch_unlink.push_back(Now() - u0);
          return t;
        }),
        "what the engine does");
    scratch_unlink.erase(scratch_unlink.begin());  // the warm-up had nothing to remove
    Add("raw", "scratch: unlink the previous file", Best(scratch_unlink));
    const std::string src = fresh(sdir, gen);  // a complete file on scratch, kept
    Add("raw", "scratch: fdatasync", best_of([&] {
          int fd = OpenOrDie(src, O_WRONLY);
          double t0 = Now();
          FdatasyncOrDie(fd, src);
          double t = Now() - t0;
          CloseOrDie(fd, src);
          return t;
        }));

    // Persistent: three ways to land the same bytes, each split into write and fdatasync.
    struct Split {
      std::vector<double> write, sync, unlink;
    };
    auto persist = [&](const std::string& label, bool use_sendfile, bool reuse,
                       const std::string& note) {
      Split s;
      int g = 0;
      const std::string reused = pdir + "/reused";
      auto once = [&] {
        std::string p = reuse ? reused : fresh(pdir, ++g);
        double t0 = Now();
        int out = OpenOrDie(p, O_WRONLY | O_CREAT | (reuse ? 0 : O_TRUNC));
        if (use_sendfile) {
          int in = OpenOrDie(src, O_RDONLY);
          off_t off = 0;
          while (static_cast<size_t>(off) < size) {
            ssize_t n = ::sendfile(out, in, &off, 64u << 20);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) DieErrno("sendfile to '" + p + "'");
            if (n == 0) Die("sendfile to '" + p + "': no progress");
          }
          CloseOrDie(in, src);
        } else {
          PwriteAll(out, buf, size, 0, p);
        }
        double t1 = Now();
        FdatasyncOrDie(out, p);
        double t2 = Now();
        CloseOrDie(out, p);
        if (!reuse) {
          double u0 = Now();
          UnlinkOrDie(fresh(pdir, g - 1));
          s.unlink.push_back(Now() - u0);
        }
        s.write.push_back(t1 - t0);
        s.sync.push_back(t2 - t1);
        return t2 - t0;
      };
      double total = best_of(once);
      s.write.erase(s.write.begin());  // the warm-up
      s.sync.erase(s.sync.begin());
      if (!s.unlink.empty()) s.unlink.erase(s.unlink.begin());
      Add("raw", "persistent: " + label + " (total)", total, note);
      Add("raw", "persistent:   write part", Best(s.write));
      Add("raw", "persistent:   fdatasync part", Best(s.sync));
      if (!reuse) Add("raw", "persistent:   unlink of the previous file", Best(s.unlink));
      if (!reuse) UnlinkOrDie(fresh(pdir, g));
    };
    persist("pwrite existing file + fdatasync", false, true, "what the raw baseline does");
    persist("pwrite new file + fdatasync", false, false, "");
    persist("sendfile -> new file + fdatasync", true, false, "what the engine does");

    // What-if: the engine's checkpoint data path without new files, hashing fused in 256 KiB
    // chunks, the persistent copy written from memory sequentially or on a second thread.
    constexpr size_t kSmall = 256u << 10;  // fits in L2 with room to spare
    auto hash_write_scratch = [&] {
      int fd = OpenOrDie(raw_scratch, O_WRONLY);
      cairn::Hasher h;
      for (size_t off = 0; off < size; off += kSmall) {
        size_t n = std::min(kSmall, size - off);
        h.Update(buf + off, n);
        PwriteAll(fd, buf + off, n, static_cast<off_t>(off), raw_scratch);
      }
      CloseOrDie(fd, raw_scratch);
      return h.Digest();
    };
    auto write_persistent = [&] {
      int fd = OpenOrDie(raw_persistent, O_WRONLY);
      PwriteAll(fd, buf, size, 0, raw_persistent);
      FdatasyncOrDie(fd, raw_persistent);
      CloseOrDie(fd, raw_persistent);
    };
    Add("raw", "what-if: XXH3+pwrite scratch, then persistent", best_of([&] {
          double t0 = Now();
          sink ^= hash_write_scratch();
          write_persistent();
          return Now() - t0;
        }),
        "existing files, sequential");
    Add("raw", "what-if: XXH3+pwrite scratch || persistent", best_of([&] {
          double t0 = Now();
          uint64_t d = 0;
          std::thread t([&] { d = hash_write_scratch(); });
          write_persistent();
          t.join();
          sink ^= d;
          return Now() - t0;
        }),
        "existing files, 2 threads");

    // Restart passes.
    std::vector<char> chunk(kChunk);
    Add("raw", "read: pread whole file into the buffer", best_of([&] {
          double t0 = Now();
          int fd = OpenOrDie(src, O_RDONLY);
          PreadAll(fd, buf, size, 0, src);
          CloseOrDie(fd, src);
          return Now() - t0;
        }),
        "what the raw baseline does");
    Add("raw", "read: pread 4 MiB chunks into a 4 MiB buffer + XXH3", best_of([&] {
          double t0 = Now();
          int fd = OpenOrDie(src, O_RDONLY);
          cairn::Hasher h;
          for (size_t off = 0; off < size; off += kChunk) {
            size_t n = std::min(kChunk, size - off);
            PreadAll(fd, chunk.data(), n, static_cast<off_t>(off), src);
            h.Update(chunk.data(), n);
          }
          sink ^= h.Digest();
          CloseOrDie(fd, src);
          return Now() - t0;
        }),
        "= RestartTest's verify pass");
    Add("raw", "read: pread 4 MiB chunks into the buffer + XXH3", best_of([&] {
          double t0 = Now();
          int fd = OpenOrDie(src, O_RDONLY);
          cairn::Hasher h;
          for (size_t off = 0; off < size; off += kChunk) {
            size_t n = std::min(kChunk, size - off);
            PreadAll(fd, buf + off, n, static_cast<off_t>(off), src);
            h.Update(buf + off, n);
          }
          sink ^= h.Digest();
          CloseOrDie(fd, src);
          return Now() - t0;
        }),
        "= Restart's read pass");
    Add("raw", "what-if: pread 256 KiB chunks into the buffer + XXH3", best_of([&] {
          double t0 = Now();
          int fd = OpenOrDie(src, O_RDONLY);
          cairn::Hasher h;
          for (size_t off = 0; off < size; off += kSmall) {
            size_t n = std::min(kSmall, size - off);
            PreadAll(fd, buf + off, n, static_cast<off_t>(off), src);
            h.Update(buf + off, n);
          }
          sink ^= h.Digest();
          CloseOrDie(fd, src);
          return Now() - t0;
        }),
        "a single verifying pass");
    if (cairn::Hash64(buf, size) != content_hash) Die("profile: buffer changed by the read passes");
    if (sink == 0x1234) std::printf(" ");  // keep the hashes alive
  }

  // ---- report

  void PrintTable() const {
    struct utsname u;
    ::uname(&u);
    std::printf(
        "\ncairn_bench_ckpt: one rank, %zu MiB, best of %d reps (after 1 warm-up), "
        "%u cores, Linux %s\n",
        o.size_mib, o.reps, std::thread::hardware_concurrency(), u.release);
    std::printf("  scratch    %s (%s)\n  persistent %s (%s)\n\n", scratch_root.c_str(),
                scratch_fs.type.c_str(), persistent_root.c_str(), persistent_fs.type.c_str());
    std::printf("%-24s %12s %12s %10s %7s %9s %10s  %s\n", "operation", "raw best(s)",
                "cairn best(s)", "raw/cairn", "goal", "raw GB/s", "cairn GB/s", "");
    for (const Row& r : rows) {
      char cb[32] = "-", ratio[32] = "-", goal[32] = "-", cg[32] = "-", verdict[16] = "";
      if (!r.cairn.empty()) {
        std::snprintf(cb, sizeof(cb), "%.4f", Best(r.cairn));
        std::snprintf(cg, sizeof(cg), "%.2f", GBps(size, Best(r.cairn)));
        std::snprintf(ratio, sizeof(ratio), "%.3f", Ratio(r));
      }
      if (r.has_goal) {
        std::snprintf(goal, sizeof(goal), ">=%.2f", r.goal);
        std::snprintf(verdict, sizeof(verdict), "%s", Ratio(r) >= r.goal ? "met" : "MISSED");
      }
      std::printf("%-24s %12.4f %12s %10s %7s %9.2f %10s  %s\n", r.op.c_str(), Best(r.baseline), cb,
                  ratio, goal, GBps(size, Best(r.baseline)), cg, verdict);
    }
    std::printf("\nraw baselines: checkpoint = %s; restart = %s.\n", rows[0].baseline_what.c_str(),
                rows[1].baseline_what.c_str());
  }

  void PrintProfile() const {
    if (profile.empty()) return;
    std::printf(
        "\nphase breakdown (best rep of %d; engine over a timing Env, then each step on "
        "raw system calls)\n",
        std::min(o.reps, 3));
    std::string section;
    for (const auto& p : profile) {
      if (p.section != section) {
        section = p.section;
        std::printf("  [%s]\n", section == "raw" ? "raw steps" : ("engine " + section).c_str());
      }
      char gbps[32] = "";  // meaningless for steps that move no data
      if (p.seconds >= 0.005)
        std::snprintf(gbps, sizeof(gbps), "%6.2f GB/s", GBps(size, p.seconds));
      std::printf("    %-52s %8.4f s %11s  %s\n", p.what.c_str(), p.seconds, gbps, p.note.c_str());
    }
  }

  void WriteJson() const {
    struct utsname u;
    ::uname(&u);
    std::ostringstream j;
    j << "{\n  \"benchmark\": \"cairn_bench_ckpt\",\n";
    j << "  \"machine\": {\"nproc\": " << std::thread::hardware_concurrency() << ", \"kernel\": \""
      << JsonEscape(std::string(u.sysname) + " " + u.release + " " + u.machine) << "\", \"cpu\": \""
      << JsonEscape(CpuModel()) << "\"},\n";
    j << "  \"config\": {\"size_bytes\": " << size << ", \"size_mib\": " << o.size_mib
      << ", \"reps\": " << o.reps << ", \"warmup_reps\": 1, \"goal_ratio\": " << Num(kGoal)
      << ",\n    \"scratch\": {\"path\": \"" << JsonEscape(scratch_root) << "\", \"fs\": \""
      << scratch_fs.type << "\"},\n    \"persistent\": {\"path\": \"" << JsonEscape(persistent_root)
      << "\", \"fs\": \"" << persistent_fs.type << "\"}},\n";
    j << "  \"results\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::string op = r.op;
      op.erase(0, op.find_first_not_of(' '));
      j << "    {\"operation\": \"" << JsonEscape(op) << "\", \"baseline\": \""
        << JsonEscape(r.baseline_what) << "\", \"baseline_best_s\": " << Num(Best(r.baseline))
        << ", \"baseline_gbps\": " << Num(GBps(size, Best(r.baseline)));
      if (!r.cairn.empty()) {
        j << ", \"cairn_best_s\": " << Num(Best(r.cairn))
          << ", \"cairn_gbps\": " << Num(GBps(size, Best(r.cairn)))
          << ", \"ratio_raw_over_cairn\": " << Num(Ratio(r));
      } else {
        j << ", \"cairn_best_s\": null, \"cairn_gbps\": null, \"ratio_raw_over_cairn\": null";
      }
      if (r.has_goal) {
        j << ", \"goal\": " << Num(r.goal)
          << ", \"goal_met\": " << (Ratio(r) >= r.goal ? "true" : "false");
      } else {
        j << ", \"goal\": null, \"goal_met\": null";
      }
      j << ",\n     \"baseline_samples_s\": " << JsonArray(r.baseline)
        << ", \"cairn_samples_s\": " << JsonArray(r.cairn) << "}"
        << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    j << "  ],\n  \"goals_met\": " << (GoalsMet() ? "true" : "false") << ",\n";
    j << "  \"profile\": [";
    for (size_t i = 0; i < profile.size(); ++i) {
      const auto& p = profile[i];
      j << (i ? ",\n" : "\n") << "    {\"section\": \"" << p.section << "\", \"step\": \""
        << JsonEscape(p.what) << "\", \"seconds\": " << Num(p.seconds)
        << ", \"gbps\": " << Num(GBps(size, p.seconds)) << ", \"note\": \"" << JsonEscape(p.note)
        << "\"}";
    }
    j << (profile.empty() ? "],\n" : "\n  ],\n");
    j << "  \"warnings\": [";
    for (size_t i = 0; i < warnings.size(); ++i) {
      j << (i ? ", " : "") << "\"" << JsonEscape(warnings[i]) << "\"";
    }
    j << "]\n}\n";
    std::ofstream out(o.json);
    out << j.str();
    out.close();
    if (!out) Die("cannot write '" + o.json + "'");
    std::printf("\nwrote %s\n", o.json.c_str());
  }

  static std::string CpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        size_t c = line.find(':');
        if (c != std::string::npos) return line.substr(line.find_first_not_of(' ', c + 1));
      }
    }
    return "";
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  cairn::bench::ProgramName() = "cairn_bench_ckpt";
  std::atexit(CleanupDirs);
  Bench b;
  b.o = ParseArgs(argc, argv);
  b.Setup();
  std::fprintf(stderr, "cairn_bench_ckpt: %zu MiB, %d reps; scratch %s (%s), persistent %s (%s)\n",
               b.o.size_mib, b.o.reps, b.scratch_root.c_str(), b.scratch_fs.type.c_str(),
               b.persistent_root.c_str(), b.persistent_fs.type.c_str());
  b.RunCheckpoint();
  b.RunRestart();
  b.RunMemcpy();
  if (b.o.profile == 1 || (b.o.profile == -1 && !b.GoalsMet())) {
    std::fprintf(stderr, "cairn_bench_ckpt: profiling the phases...\n");
    b.ProfileEngine();
    b.ProfileRaw();
  }
  b.PrintTable();
  b.PrintProfile();
  b.WriteJson();
  std::free(b.buf);
  std::free(b.dst);
  CleanupDirs();
  return 0;
}
