// cairn_bench_transparent: transparent checkpointing of an unmodified program (issue 5,
// requirement 8), driven through the real command line (cairn launch / checkpoint /
// restart) like a user would.
//
//   target      cairn_bench_transparent_app hold: --size-mib MiB (default 1024) of
//               incompressible, non-zero memory, ticking every ~100 us and recording every
//               gap between ticks > 0.5 ms (the pause a checkpoint causes); on a "stop"
//               file it prints the gaps and a checksum of its memory and exits.
//   checkpoint  `cairn checkpoint --ckpt-dir DIR --wait` (request until the image is
//               committed, fsync included) against a raw write of the image's size
//               (pwrite of a touched buffer + fdatasync into a new file in the same
//               directory), same run. Goal raw/cairn >= 0.8.
//   image size  image bytes / VmRSS of the target at checkpoint time (<= 1.05 + small).
//   restart     `cairn restart --ckpt-dir DIR --image IMG` until the restored program runs
//               again (its first tick, which it reports), against a raw pread of the image
//               into touched memory. Also reported: the time until it has exited (the stop
//               file exists before the restart starts, so it checksums its memory and exits
//               at its first check). The image's pages are evicted from the page cache
//               before both (posix_fadvise DONTNEED after fdatasync; residency is checked
//               with mincore and reported). Goal raw/cairn >= 0.8. The restored program's
//               checksum must equal the original's (else the run fails).
//   pause       the target's longest tick gap overlapping the checkpoint, launched with
//               --fork against without (detected through `cairn launch --help`; reported
//               as unavailable if the option is missing).
//   syscalls    cairn_bench_transparent_app syscalls (a mix of 7 system calls, a vDSO call
//               and malloc/free per iteration, then each kind alone; timed inside the
//               program, best of its rounds) run plainly and under `cairn launch` without
//               checkpoints, and plainly with one idle thread (the preload library's
//               checkpoint thread makes a single-threaded program multi-threaded, which
//               alone changes the cost of system calls and malloc), order rotating. Goal
//               launched/plain <= 1.02 for the mix.
//
// Every figure is the best of --reps (default 3), after one untimed raw write; the raw
// baselines are interleaved with the cairn operations (their order alternates between
// repetitions). Medians are reported too: on this VM the same 1 GiB pwrite + fdatasync
// takes anywhere from 0.65 to 3 s from one run to the next. The preload library
// runs with CAIRN_LOG=info: its "threads stopped in X ms, image N bytes written in Y ms"
// line gives the checkpoint's phases. Images live under --dir (default /var/tmp; must not
// be a memory file system unless --allow-tmpfs) in a fresh directory removed at exit.
// Results are printed as a table and written as JSON (--json, default
// bench_transparent.json).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using cairn::bench::GBps;
using cairn::bench::Now;

constexpr const char* kProg = "cairn_bench_transparent";
constexpr double kCkptGoal = 0.8;      // raw write / checkpoint
constexpr double kRestartGoal = 0.8;   // raw read / restart
constexpr double kSyscallGoal = 1.02;  // launched / plain
constexpr double kGapRecordMs = 0.5;   // the app records gaps longer than this
constexpr size_t kIoChunk = 64u << 20;

// ---------------------------------------------------------------- failure handling

std::string g_work;          // the fresh directory of this run (removed at exit)
std::set<pid_t> g_children;  // spawned and not yet reaped (killed at exit)
bool g_keep_work = false;

void Cleanup() {
  for (pid_t p : g_children) {
    ::kill(p, SIGKILL);
    ::waitpid(p, nullptr, 0);
  }
  g_children.clear();
  if (!g_work.empty() && !g_keep_work) {
    std::error_code ec;
    fs::remove_all(g_work, ec);
    if (ec)
      std::fprintf(stderr, "%s: cannot remove %s: %s\n", kProg, g_work.c_str(),
                   ec.message().c_str());
  }
  g_work.clear();
}

[[noreturn]] void Die(const std::string& msg) { cairn::bench::Die(msg); }  // exit runs Cleanup
using cairn::bench::DieErrno;
using cairn::bench::PreadAll;
using cairn::bench::PwriteAll;

std::vector<std::string> g_warnings;
void Warn(const std::string& msg) {
  std::fprintf(stderr, "%s: warning: %s\n", kProg, msg.c_str());
  g_warnings.push_back(msg);
}

// ---------------------------------------------------------------- small helpers

double Best(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Tail(const std::string& path, size_t max = 2000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  return t.size() > max ? "..." + t.substr(t.size() - max) : t;
}

void Touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::close(fd) != 0) DieErrno("cannot create '" + path + "'");
}

bool Exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) DieErrno("cannot stat '" + path + "'");
  return static_cast<uint64_t>(st.st_size);
}

void MakeDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) Die("cannot create directory '" + path + "': " + ec.message());
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) Die("cannot remove '" + path + "': " + ec.message());
}

// VmRSS of `pid` in bytes.
uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  Die("no VmRSS for pid " + std::to_string(pid));
}

// ---------------------------------------------------------------- child processes

struct Child {
  pid_t pid = -1;
  int pidfd = -1;
};

// Starts argv[0] (a path) with stdin /dev/null, stdout/stderr to the given files and only
// descriptors 0-2 open; `extra_env` entries ("K=V") override the environment.
Child Spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err,
            const std::vector<std::string>& extra_env = {}) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s = *e;
    std::string key = s.substr(0, s.find('=') + 1);
    bool overridden = false;
    for (const auto& x : extra_env) overridden |= x.rfind(key, 0) == 0;
    if (!overridden) env_strings.push_back(s);
  }
  for (const auto& x : extra_env) env_strings.push_back(x);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  Child c;
  int rc = ::posix_spawn(&c.pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) Die("cannot start '" + argv[0] + "': " + std::strerror(rc));
  g_children.insert(c.pid);
  c.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0));
  if (c.pidfd < 0) DieErrno("pidfd_open");
  return c;
}

// Waits up to `timeout_s` for `c` to exit; returns its exit status (128+N for signal N),
// or -1 on timeout (the child is then still running).
int WaitFor(Child& c, double timeout_s) {
  const double end = Now() + timeout_s;
  for (;;) {
    const double left = end - Now();
    if (left <= 0) return -1;
    pollfd p{c.pidfd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min(left * 1000 + 1, 1e9)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) DieErrno("poll on a pidfd");
    if (rc == 0) continue;
    int status = 0;
    if (::waitpid(c.pid, &status, 0) != c.pid) DieErrno("waitpid");
    g_children.erase(c.pid);
    ::close(c.pidfd);
    c.pidfd = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

void Kill(Child& c) {
  if (c.pid <= 0 || !g_children.count(c.pid)) return;
  ::kill(c.pid, SIGKILL);
  (void)WaitFor(c, 30);
}

// Runs to completion; dies with the command's stderr on failure or timeout.
void RunOk(const std::vector<std::string>& argv, const std::string& out, const std::string& err,
           double timeout_s, const std::vector<std::string>& extra_env = {}) {
  Child c = Spawn(argv, out, err, extra_env);
  int rc = WaitFor(c, timeout_s);
  if (rc == -1) {
    Kill(c);
    Die("'" + argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + "' timed out after " +
        std::to_string(static_cast<int>(timeout_s)) + " s");
  }
  if (rc != 0) {
    Die("'" + argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + "' exited with " +
        std::to_string(rc) + ": " + Tail(err));
  }
}

// ---------------------------------------------------------------- raw I/O baselines

// `bytes` from `buf` (cycled in 64 MiB chunks) into a new file `path`, then fdatasync.
double RawWrite(const std::string& path, const char* buf, size_t buf_size, uint64_t bytes) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) DieErrno("cannot remove '" + path + "'");
  ::sync();  // no write-back of earlier runs inside the timed part
  const double t0 = Now();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) DieErrno("cannot create '" + path + "'");
  for (uint64_t off = 0; off < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, bytes - off));
    PwriteAll(fd, buf + off % (buf_size - kIoChunk), n, static_cast<off_t>(off), path);
    off += n;
  }
  if (::fdatasync(fd) != 0) DieErrno("cannot fdatasync '" + path + "'");
  if (::close(fd) != 0) DieErrno("cannot close '" + path + "'");
  const double t = Now() - t0;
  if (::unlink(path.c_str()) != 0) DieErrno("cannot remove '" + path + "'");
  return t;
}

// The whole of `path` into `buf` (already touched; cycled in 64 MiB chunks).
double RawRead(const std::string& path, char* buf, size_t buf_size) {
  const double t0 = Now();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DieErrno("cannot open '" + path + "'");
  struct stat st;
  if (::fstat(fd, &st) != 0) DieErrno("cannot stat '" + path + "'");
  const uint64_t bytes = static_cast<uint64_t>(st.st_size);
  for (uint64_t off = 0; off < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, bytes - off));
    PreadAll(fd, buf + off % (buf_size - kIoChunk), n, static_cast<off_t>(off), path);
    off += n;
  }
  if (::close(fd) != 0) DieErrno("cannot close '" + path + "'");
  return Now() - t0;
}

// Like RawRead, into memory mapped fresh for it (first touch included, as a restore into a
// new process must do); the mapping is removed afterwards.
double RawReadFresh(const std::string& path) {
  const uint64_t bytes = FileSize(path);
  const size_t len = static_cast<size_t>(bytes) + kIoChunk;
  const double t0 = Now();
  void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) DieErrno("cannot map " + std::to_string(len >> 20) + " MiB");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DieErrno("cannot open '" + path + "'");
  for (uint64_t off = 0; off < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, bytes - off));
    PreadAll(fd, static_cast<char*>(m) + off, n, static_cast<off_t>(off), path);
    off += n;
  }
  if (::close(fd) != 0) DieErrno("cannot close '" + path + "'");
  const double t = Now() - t0;
  ::munmap(m, len);
  return t;
}

// Drops `path`'s pages from the page cache (written back first); returns the fraction of
// its pages still resident afterwards (mincore).
double Evict(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DieErrno("cannot open '" + path + "'");
  if (::fdatasync(fd) != 0) DieErrno("cannot fdatasync '" + path + "'");
  int rc = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) Die("posix_fadvise(DONTNEED) on '" + path + "': " + std::strerror(rc));
  struct stat st;
  if (::fstat(fd, &st) != 0) DieErrno("cannot stat '" + path + "'");
  const size_t size = static_cast<size_t>(st.st_size);
  double resident = 0;
  if (size > 0) {
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) DieErrno("cannot map '" + path + "'");
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> vec((size + page - 1) / page);
    if (::mincore(m, size, vec.data()) != 0) DieErrno("mincore");
    size_t in = 0;
    for (unsigned char v : vec) in += v & 1;
    ::munmap(m, size);
    resident = static_cast<double>(in) / static_cast<double>(vec.size());
  }
  ::close(fd);
  return resident;
}

// ---------------------------------------------------------------- parsing the outputs

struct HoldOutput {
  long long ticks = 0;
  long long maxgap_ns = 0;
  std::string checksum;
  long long sum_ns = 0;
  std::vector<std::pair<long long, long long>> gaps;  // (end ns, length ns)
};

HoldOutput ParseHold(const std::string& path) {
  HoldOutput h;
  std::istringstream in(ReadFile(path));
  std::string line;
  bool done = false;
  while (std::getline(in, line)) {
    long long a = 0, b = 0;
    char sum[40] = {0};
    if (std::sscanf(line.c_str(), "gap %lld %lld", &a, &b) == 2) {
      h.gaps.emplace_back(a, b);
    } else if (std::sscanf(line.c_str(), "done ticks=%lld maxgap_ns=%lld checksum=%39s sum_ns=%lld",
                           &h.ticks, &h.maxgap_ns, sum, &h.sum_ns) == 4) {
      h.checksum = sum;
      done = true;
    }
  }
  if (!done) Die("no result line from the target in '" + path + "': " + Tail(path));
  return h;
}

// The preload library's checkpoint line (CAIRN_LOG=info).
struct PreloadLog {
  bool found = false;
  double stop_ms = -1, write_ms = -1, resumed_ms = -1;
  long long bytes = -1;
  int threads = -1;
};

PreloadLog ParsePreloadLog(const std::string& path) {
  PreloadLog p;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    size_t at = line.find(" threads stopped in ");
    if (at == std::string::npos) continue;
    size_t colon = line.rfind(": ", at);
    if (colon == std::string::npos) continue;
    if (std::sscanf(line.c_str() + colon + 2,
                    "%d threads stopped in %lf ms, image %lld bytes written in %lf ms", &p.threads,
                    &p.stop_ms, &p.bytes, &p.write_ms) == 4) {
      p.found = true;
      size_t r = line.find("ran again after ");
      if (r != std::string::npos) p.resumed_ms = std::atof(line.c_str() + r + 16);
    }
  }
  return p;
}

std::map<std::string, double> ParseSyscalls(const std::string& path) {
  std::map<std::string, double> m;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("syscalls ", 0) != 0) continue;
    std::istringstream f(line.substr(9));
    std::string kv;
    while (f >> kv) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || kv.size() < 3 || kv.compare(eq - 3, 3, "_ns") != 0) continue;
      m[kv.substr(0, eq - 3)] = std::atof(kv.c_str() + eq + 1);
    }
  }
  if (m.count("mix") == 0)
    Die("no result line from the syscall loop in '" + path + "': " + Tail(path));
  return m;
}

// Longest recorded gap overlapping [t0, t1] (seconds on CLOCK_MONOTONIC), in ms; 0 if none
// (i.e. below the recording threshold). `outside` gets the longest gap not overlapping it.
double GapIn(const HoldOutput& h, double t0, double t1, double* outside) {
  const long long a = static_cast<long long>(t0 * 1e9), b = static_cast<long long>(t1 * 1e9);
  double in = 0, out = 0;
  for (auto [end, len] : h.gaps) {
    const double ms = static_cast<double>(len) / 1e6;
    if (end >= a && end - len <= b) {
      in = std::max(in, ms);
    } else {
      out = std::max(out, ms);
    }
  }
  if (outside) *outside = out;
  return in;
}

// ---------------------------------------------------------------- options

struct Options {
  cairn::bench::CommonArgs common;
  std::string dir = "/var/tmp";
  bool allow_tmpfs = false;
  long syscall_iters = 100000;
  long syscall_rounds = 5;
  bool skip_fork = false;
  std::string cairn = CAIRN_BENCH_CAIRN_BIN;
  std::string app = CAIRN_BENCH_APP_BIN;
};

constexpr const char* kUsage =
    "[--size-mib N] [--reps N] [--json PATH] [--dir DIR] [--allow-tmpfs]\n"
    "       [--syscall-iters N] [--syscall-rounds N] [--no-fork] [--keep-work]\n"
    "       [--cairn PATH] [--app PATH]\n"
    "  --size-mib N        resident memory of the target, MiB (default 1024)\n"
    "  --reps N            repetitions, the best is reported (default 3)\n"
    "  --json PATH         results as JSON (default bench_transparent.json)\n"
    "  --dir DIR           a fresh directory for images is made inside (default /var/tmp);\n"
    "                      a memory file system is refused unless --allow-tmpfs\n"
    "  --syscall-iters N   iterations of the syscall mix per round (default 100000)\n"
    "  --syscall-rounds N  rounds per run, the best is kept (default 5)\n"
    "  --no-fork           skip the --fork pause measurement\n"
    "  --keep-work         keep the work directory (images, outputs, logs)\n"
    "  --cairn PATH        the cairn binary (default: the build's)\n"
    "  --app PATH          the target program (default: the build's)";

long ParseLong(const std::string& opt, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi) {
    Die(opt + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got '" + v + "'");
  }
  return x;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--dir") {
      o.dir = value();
    } else if (a == "--allow-tmpfs") {
      o.allow_tmpfs = true;
    } else if (a == "--syscall-iters") {
      o.syscall_iters = ParseLong(a, value(), 1000, 100000000);
    } else if (a == "--syscall-rounds") {
      o.syscall_rounds = ParseLong(a, value(), 1, 1000);
    } else if (a == "--no-fork") {
      o.skip_fork = true;
    } else if (a == "--keep-work") {
      g_keep_work = true;
    } else if (a == "--cairn") {
      o.cairn = value();
    } else if (a == "--app") {
      o.app = value();
    } else {
      rest.push_back(argv[i]);
    }
  }
  cairn::bench::CommonArgs defaults;
  defaults.size_mib = 1024;
  defaults.reps = 3;
  defaults.json = "bench_transparent.json";
  o.common = cairn::bench::ParseCommonArgs(static_cast<int>(rest.size()), rest.data(), kProg,
                                           defaults, 64 * 1024, kUsage);
  return o;
}

// ---------------------------------------------------------------- the benchmark

struct CkptRep {
  bool fork = false;
  double ckpt_s = 0;       // cairn checkpoint --wait
  double raw_write_s = 0;  // same bytes, pwrite + fdatasync
  uint64_t image_bytes = 0;
  uint64_t rss_bytes = 0;
  double pause_ms = 0;      // longest tick gap overlapping the checkpoint (0: < 0.5 ms)
  double noise_gap_ms = 0;  // longest tick gap elsewhere in the run
  PreloadLog log;
  // Restart (non-fork repetitions only).
  bool restarted = false;
  double restart_s = 0;        // cairn restart until the restored program exited
  double running_again_s = 0;  // cairn restart until the restored program's first tick
  double restored_sum_s = 0;   // the restored program's checksum pass (part of restart_s)
  double raw_read_s = 0;
  double raw_read_fresh_s = 0;  // diagnostic: the same read into freshly mapped memory
  double resident_before_restart = 0, resident_before_read = 0;  // page-cache residency
  bool checksum_ok = false;
};

struct Bench {
  Options o;
  std::string fs_type;
  bool have_fork = false;
  char* buf = nullptr;
  size_t buf_size = 0;
  std::vector<CkptRep> reps;
  // kind -> ns per iteration, one sample per rep: plain, plain + 1 idle thread, launched
  std::map<std::string, std::vector<double>> sys_plain, sys_thread, sys_launched;

  void Setup() {
    for (const std::string& p : {o.cairn, o.app}) {
      if (::access(p.c_str(), X_OK) != 0) Die("'" + p + "' is not an executable (built?)");
    }
    MakeDir(o.dir);
    const cairn::bench::FsInfo fs_info = cairn::bench::StatFs(o.dir);
    fs_type = fs_info.type;
    if (fs_info.memory && !o.allow_tmpfs) {
      Die("--dir '" + o.dir + "' is a memory file system (" + fs_type +
          "); the baselines are disk I/O (use --allow-tmpfs to measure anyway)");
    }
    std::string tmpl = (fs::path(o.dir) / "cairn_bench_transparent_XXXXXX").string();
    std::vector<char> b(tmpl.begin(), tmpl.end());
    b.push_back('\0');
    if (::mkdtemp(b.data()) == nullptr) DieErrno("cannot create a directory under '" + o.dir + "'");
    g_work = b.data();
    std::atexit(Cleanup);

    // --fork: does this cairn have it?
    const std::string help = g_work + "/launch_help.txt";
    Child c = Spawn({o.cairn, "launch", "--help"}, help, help);
    if (WaitFor(c, 30) == -1) Kill(c);
    have_fork = ReadFile(help).find("--fork") != std::string::npos;
    if (!have_fork) Warn("`cairn launch --help` has no --fork: the --fork pause is unavailable");

    // The raw baselines' buffer: touched, incompressible, at least the target's size.
    buf_size = (o.common.size_mib << 20) + kIoChunk;
    buf = static_cast<char*>(std::aligned_alloc(4096, buf_size));
    if (buf == nullptr) Die("cannot allocate " + std::to_string(buf_size >> 20) + " MiB");
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i + 8 <= buf_size; i += 8) {
      uint64_t z = (x += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      std::memcpy(buf + i, &z, 8);
    }
    // One untimed raw write (like the other benches' warm-up): the first large write of a
    // run is often several times slower on this VM.
    (void)RawWrite(g_work + "/warm-up.bin", buf, buf_size, o.common.size_mib << 20);
  }

  // Launches the target (ready once it filled its memory and its control socket exists).
  Child LaunchHold(const std::string& dir, bool fork) {
    std::vector<std::string> argv = {o.cairn, "launch", "--ckpt-dir", dir + "/ck"};
    if (fork) argv.push_back("--fork");
    for (const std::string& a :
         {std::string("--"), o.app, std::string("hold"), std::to_string(o.common.size_mib),
          dir + "/ready", dir + "/stop"}) {
      argv.push_back(a);
    }
    Child c = Spawn(argv, dir + "/out", dir + "/err", {"CAIRN_LOG=info"});
    const std::string sock = dir + "/ck/.cairn/" + std::to_string(c.pid) + ".sock";
    const double end = Now() + 600;
    while (!(Exists(dir + "/ready") && Exists(sock))) {
      if (Now() > end) Die("the target did not get ready in 600 s: " + Tail(dir + "/err"));
      if (::kill(c.pid, 0) != 0 || WaitFor(c, 0.02) != -1) {
        Die("the target died at start: " + Tail(dir + "/err"));
      }
    }
    ::usleep(200000);  // let it tick for a while (the noise floor of its gaps)
    return c;
  }

  // cairn checkpoint --wait; returns the image path and the [t0, t1] window.
  std::string Checkpoint(const std::string& dir, double* t0, double* t1) {
    ::sync();  // no write-back of earlier runs inside the timed part
    *t0 = Now();
    RunOk({o.cairn, "checkpoint", "--ckpt-dir", dir + "/ck", "--wait", "--timeout", "600"},
          dir + "/ckpt.out", dir + "/ckpt.err", 660);
    *t1 = Now();
    std::string img = ReadFile(dir + "/ckpt.out");
    while (!img.empty() && (img.back() == '\n' || img.back() == ' ')) img.pop_back();
    if (img.empty() || !Exists(img)) Die("cairn checkpoint printed no image path ('" + img + "')");
    return img;
  }

  HoldOutput StopAndCollect(Child& c, const std::string& dir, const std::string& out) {
    Touch(dir + "/stop");
    int rc = WaitFor(c, 120);
    if (rc == -1) {
      Kill(c);
      Die("the target did not stop within 120 s");
    }
    if (rc != 0) Die("the target exited with " + std::to_string(rc) + ": " + Tail(dir + "/err"));
    return ParseHold(out);
  }

  void RunCheckpointRep(int r, bool fork) {
    const std::string dir = g_work + "/" + (fork ? "fork" : "plain") + std::to_string(r);
    MakeDir(dir);
    CkptRep rep;
    rep.fork = fork;
    const bool raw_first = r % 2 == 1;
    std::fprintf(stderr, "%s: rep %d/%d%s: launching the target (%zu MiB)...\n", kProg, r + 1,
                 o.common.reps, fork ? " (--fork)" : "", o.common.size_mib);
    Child c = LaunchHold(dir, fork);
    rep.rss_bytes = RssBytes(c.pid);
    // The raw write needs the image's size before the first image exists: use the
    // resident size then (the image is within a few MiB of it).
    const uint64_t raw_bytes = reps.empty() ? rep.rss_bytes : reps.front().image_bytes;
    const std::string raw_path = dir + "/ck/raw-write.bin";
    if (raw_first && !fork) rep.raw_write_s = RawWrite(raw_path, buf, buf_size, raw_bytes);
    double t0 = 0, t1 = 0;
    const std::string img = Checkpoint(dir, &t0, &t1);
    rep.ckpt_s = t1 - t0;
    rep.image_bytes = FileSize(img);
    if (!raw_first && !fork) rep.raw_write_s = RawWrite(raw_path, buf, buf_size, rep.image_bytes);
    HoldOutput h = StopAndCollect(c, dir, dir + "/out");
    rep.pause_ms = GapIn(h, t0, t1, &rep.noise_gap_ms);
    rep.log = ParsePreloadLog(dir + "/err");
    if (!rep.log.found) Warn("no checkpoint line in the preload log (CAIRN_LOG=info)");

    if (!fork) {
      // Restart: the stop file exists already; the restored program checksums and exits.
      if (raw_first) {
        rep.resident_before_read = Evict(img);
        rep.raw_read_s = RawRead(img, buf, buf_size);
      }
      rep.resident_before_restart = Evict(img);
      const double s0 = Now();
      Child rc = Spawn({o.cairn, "restart", "--ckpt-dir", dir + "/ck", "--image", img},
                       dir + "/rout", dir + "/rerr", {"CAIRN_LOG=info"});
      const int st = WaitFor(rc, 600);
      const double s1 = Now();
      if (st == -1) {
        Kill(rc);
        Die("cairn restart did not finish within 600 s: " + Tail(dir + "/rerr"));
      }
      if (st != 0)
        Die("cairn restart exited with " + std::to_string(st) + ": " + Tail(dir + "/rerr"));
      HoldOutput hr = ParseHold(dir + "/rout");
      rep.restarted = true;
      rep.restart_s = s1 - s0;
      rep.restored_sum_s = static_cast<double>(hr.sum_ns) / 1e9;
      long long first_tick = 0;  // the restored program's first tick: the last gap's end
      for (auto [end, len] : hr.gaps) first_tick = std::max(first_tick, end);
      rep.running_again_s = first_tick > 0 ? static_cast<double>(first_tick) / 1e9 - s0 : -1;
      rep.checksum_ok = hr.checksum == h.checksum;
      if (!rep.checksum_ok) {
        Die("the restored program's memory checksum " + hr.checksum +
            " differs from the original's " + h.checksum + " (rep " + std::to_string(r + 1) + ")");
      }
      if (!raw_first) {
        rep.resident_before_read = Evict(img);
        rep.raw_read_s = RawRead(img, buf, buf_size);
      }
      (void)Evict(img);
      rep.raw_read_fresh_s = RawReadFresh(img);
    }
    reps.push_back(rep);
    if (!g_keep_work) RemoveTree(dir);
  }

  // Plain, plain with one idle thread (what the preload library's checkpoint thread alone
  // costs a single-threaded program) and under cairn launch; the order rotates per rep.
  void RunSyscallRep(int r) {
    const std::string dir = g_work + "/sys";
    MakeDir(dir);
    const std::vector<std::string> app = {o.app, "syscalls", std::to_string(o.syscall_iters),
                                          std::to_string(o.syscall_rounds)};
    std::vector<std::string> thread = app;
    thread.push_back("1");
    std::vector<std::string> launched = {o.cairn, "launch", "--ckpt-dir", dir + "/ck", "--"};
    launched.insert(launched.end(), app.begin(), app.end());
    for (int k = 0; k < 3; ++k) {
      const int mode = (k + r) % 3;  // 0 plain, 1 idle thread, 2 launched
      const std::string out = dir + "/" + std::to_string(mode) + ".out";
      RunOk(mode == 0 ? app : mode == 1 ? thread : launched, out, dir + "/sys.err", 600);
      auto& dst = mode == 0 ? sys_plain : mode == 1 ? sys_thread : sys_launched;
      for (const auto& [kind, ns] : ParseSyscalls(out)) dst[kind].push_back(ns);
    }
  }

  // ---- figures

  template <class F>
  double BestOver(bool fork, F f, bool restarted_only = false) const {
    double best = 1e300;
    for (const auto& r : reps) {
      if (r.fork != fork || (restarted_only && !r.restarted)) continue;
      best = std::min(best, f(r));
    }
    return best == 1e300 ? 0 : best;
  }

  // Median over the non-fork repetitions (restarted ones if `restarted_only`) of f.
  template <class F>
  double MedianOver(F f, bool restarted_only = false) const {
    std::vector<double> v;
    for (const auto& r : reps) {
      if (!r.fork && (!restarted_only || r.restarted)) v.push_back(f(r));
    }
    return Median(v);
  }
  double CkptMedianRatio() const {
    const double c = MedianOver([](const CkptRep& r) { return r.ckpt_s; });
    return c > 0 ? MedianOver([](const CkptRep& r) { return r.raw_write_s; }) / c : 0;
  }
  // Restart time = `cairn restart` until the restored program runs again (its first tick);
  // what the program then does (its checksum pass, its exit) is the program's time.
  double RestartMedianRatio() const {
    const double c = MedianOver([](const CkptRep& r) { return r.running_again_s; }, true);
    return c > 0 ? MedianOver([](const CkptRep& r) { return r.raw_read_s; }, true) / c : 0;
  }

  double CkptBest() const {
    return BestOver(false, [](const CkptRep& r) { return r.ckpt_s; });
  }
  double RawWriteBest() const {
    return BestOver(false, [](const CkptRep& r) { return r.raw_write_s; });
  }
  double RestartBest() const {
    return BestOver(
        false, [](const CkptRep& r) { return r.restart_s; }, true);
  }
  double RawReadBest() const {
    return BestOver(
        false, [](const CkptRep& r) { return r.raw_read_s; }, true);
  }
  double CkptRatio() const { return CkptBest() > 0 ? RawWriteBest() / CkptBest() : 0; }
  double RestartRatio() const {
    return RunningAgainBest() > 0 ? RawReadBest() / RunningAgainBest() : 0;
  }
  double RestartAndExitRatio() const {
    return RestartBest() > 0 ? RawReadBest() / RestartBest() : 0;
  }
  double RunningAgainBest() const {
    return BestOver(
        false, [](const CkptRep& r) { return r.running_again_s; }, true);
  }
  double RawReadFreshBest() const {
    return BestOver(
        false, [](const CkptRep& r) { return r.raw_read_fresh_s; }, true);
  }
  double AppSumBest() const {
    return BestOver(
        false, [](const CkptRep& r) { return r.restored_sum_s; }, true);
  }
  double ImageOverRss() const {
    return BestOver(false, [](const CkptRep& r) {
      return static_cast<double>(r.image_bytes) / static_cast<double>(r.rss_bytes);
    });
  }
  double PauseBest(bool fork) const {
    return BestOver(fork, [](const CkptRep& r) { return r.pause_ms; });
  }
  double NoiseBest(bool fork) const {
    return BestOver(fork, [](const CkptRep& r) { return r.noise_gap_ms; });
  }
  bool HaveForkReps() const {
    return std::any_of(reps.begin(), reps.end(), [](const CkptRep& r) { return r.fork; });
  }
  // Best of `num` / best of `den` for `kind` (0 if missing).
  static double Ratio(const std::map<std::string, std::vector<double>>& num,
                      const std::map<std::string, std::vector<double>>& den,
                      const std::string& kind) {
    auto n = num.find(kind), d = den.find(kind);
    if (n == num.end() || d == den.end() || Best(d->second) <= 0) return 0;
    return Best(n->second) / Best(d->second);
  }
  double SysRatio(const std::string& kind) const { return Ratio(sys_launched, sys_plain, kind); }

  static std::string Ms(double ms) {
    char b[32];
    if (ms <= 0) {
      std::snprintf(b, sizeof b, "<%.1f", kGapRecordMs);
    } else {
      std::snprintf(b, sizeof b, "%.1f", ms);
    }
    return b;
  }

  void PrintTable() const {
    struct utsname u;
    ::uname(&u);
    const uint64_t img = reps.empty() ? 0 : reps.front().image_bytes;
    std::printf("\n%s: %zu MiB resident target, best of %d reps, %u cores, Linux %s\n", kProg,
                o.common.size_mib, o.common.reps, std::thread::hardware_concurrency(), u.release);
    std::printf("  images in %s (%s)\n\n", o.dir.c_str(), fs_type.c_str());
    std::printf("%-34s %10s %10s %9s %8s  %s\n", "operation", "base(s)", "cairn(s)", "ratio",
                "goal", "");
    auto row = [](const char* op, double base, double mine, double ratio, const char* goal,
                  bool met) {
      std::printf("%-34s %10.3f %10.3f %9.3f %8s  %s\n", op, base, mine, ratio, goal,
                  met ? "met" : "MISSED");
    };
    row("checkpoint (raw write / cairn)", RawWriteBest(), CkptBest(), CkptRatio(), ">=0.8",
        CkptRatio() >= kCkptGoal);
    row("restart (raw read / cairn)", RawReadBest(), RunningAgainBest(), RestartRatio(), ">=0.8",
        RestartRatio() >= kRestartGoal);
    std::printf("  (ratios of the medians instead of the bests: checkpoint %.3f, restart %.3f)\n",
                CkptMedianRatio(), RestartMedianRatio());
    std::printf(
        "\n  raw write: %.2f GB/s; checkpoint: %.2f GB/s of image; raw read (cold): %.2f "
        "GB/s; restart: %.2f GB/s of image\n",
        GBps(img, RawWriteBest()), GBps(img, CkptBest()), GBps(img, RawReadBest()),
        GBps(img, RestartBest()));
    std::printf(
        "  restart = until the restored program runs again; with its own checksum pass (%.3f s)"
        " and exit: %.3f s, raw read / that = %.3f\n",
        AppSumBest(), RestartBest(), RestartAndExitRatio());
    std::printf(
        "  diagnostic: raw read of the image into freshly mapped memory (cold): %.3f s (the floor "
        "of a restore that copies into new memory; raw read / that = %.3f)\n",
        RawReadFreshBest(), RawReadFreshBest() > 0 ? RawReadBest() / RawReadFreshBest() : 0);
    std::printf(
        "  image size / VmRSS: %.4f (image %.1f MiB, VmRSS %.1f MiB; requirement <= 1.05 "
        "+ small)\n",
        ImageOverRss(), static_cast<double>(img) / 1048576.0,
        reps.empty() ? 0 : static_cast<double>(reps.front().rss_bytes) / 1048576.0);
    std::printf(
        "\n  per repetition (s; pause = longest tick gap overlapping the checkpoint, ms):\n");
    std::printf("    %-6s %9s %9s %8s %8s %8s %8s %9s %9s %9s %9s %8s\n", "mode", "raw_wr", "ckpt",
                "stop_ms", "write_ms", "pause", "noise", "raw_rd", "restart", "running", "app_sum",
                "cache%");
    for (const auto& r : reps) {
      char raw[32] = "-";
      if (!r.fork) std::snprintf(raw, sizeof raw, "%.3f", r.raw_write_s);
      std::printf("    %-6s %9s %9.3f %8.0f %8.0f %8s %8s", r.fork ? "fork" : "plain", raw,
                  r.ckpt_s, r.log.stop_ms, r.log.write_ms, Ms(r.pause_ms).c_str(),
                  Ms(r.noise_gap_ms).c_str());
      if (r.restarted) {
        std::printf(" %9.3f %9.3f %9.3f %9.3f %7.1f%%\n", r.raw_read_s, r.restart_s,
                    r.running_again_s, r.restored_sum_s,
                    100 * std::max(r.resident_before_read, r.resident_before_restart));
      } else {
        std::printf(" %9s %9s %9s %9s %8s\n", "-", "-", "-", "-", "-");
      }
    }
    std::printf(
        "    (running = restart until the restored program ticked again; app_sum = its "
        "checksum pass before exiting, part of restart; cache%% = image pages still "
        "cached before the timed read)\n");
    std::printf("\n  pause of the target during a checkpoint (best of reps, ms): ");
    if (!have_fork || !HaveForkReps()) {
      std::printf("without --fork %s; with --fork unavailable\n", Ms(PauseBest(false)).c_str());
    } else {
      std::printf(
          "without --fork %s, with --fork %s (noise floor outside the checkpoint: %s / "
          "%s)\n",
          Ms(PauseBest(false)).c_str(), Ms(PauseBest(true)).c_str(), Ms(NoiseBest(false)).c_str(),
          Ms(NoiseBest(true)).c_str());
      std::printf(
          "  with --fork: checkpoint --wait %.3f s; the preload library resumed the threads "
          "after %.0f ms (best)\n",
          BestOver(true, [](const CkptRep& r) { return r.ckpt_s; }),
          BestOver(true, [](const CkptRep& r) {
            return r.log.resumed_ms >= 0 ? r.log.resumed_ms : 1e300;
          }));
    }
    std::printf(
        "\n  syscall loop, ns per iteration (best of %d runs x %ld rounds); launched / "
        "plain is the figure, +thread = plain with one idle thread:\n",
        o.common.reps, o.syscall_rounds);
    std::printf("    %-14s %9s %9s %9s %9s %8s %9s %9s\n", "kind", "plain", "+thread", "launched",
                "launch/pl", "goal", "thread/pl", "launch/th");
    for (const char* k : {"mix", "getppid", "write1", "clock_gettime", "stat", "openclose",
                          "mallocfree", "sigprocmask"}) {
      auto p = sys_plain.find(k), t = sys_thread.find(k), l = sys_launched.find(k);
      if (p == sys_plain.end() || t == sys_thread.end() || l == sys_launched.end()) continue;
      const bool mix = std::string(k) == "mix";
      std::printf("    %-14s %9.2f %9.2f %9.2f %9.4f %8s %9.4f %9.4f  %s\n", k, Best(p->second),
                  Best(t->second), Best(l->second), SysRatio(k), mix ? "<=1.02" : "",
                  Ratio(sys_thread, sys_plain, k), Ratio(sys_launched, sys_thread, k),
                  !mix                          ? ""
                  : SysRatio(k) <= kSyscallGoal ? "met"
                                                : "MISSED");
    }
    for (const auto& w : g_warnings) std::printf("  warning: %s\n", w.c_str());
  }

  static std::string Num(double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
  }
  static std::string Arr(const std::vector<double>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + Num(v[i]);
    return s + "]";
  }
  static std::string Esc(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '"' || c == '\\') {
        o += '\\';
        o += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", c);
        o += b;
      } else {
        o += c;
      }
    }
    return o;
  }

  void WriteJson() const {
    struct utsname u;
    ::uname(&u);
    std::ostringstream j;
    const bool fork_measured = have_fork && HaveForkReps();
    j << "{\n  \"benchmark\": \"" << kProg << "\",\n";
    j << "  \"machine\": {\"nproc\": " << std::thread::hardware_concurrency() << ", \"kernel\": \""
      << Esc(std::string(u.sysname) + " " + u.release) << "\"},\n";
    j << "  \"config\": {\"size_mib\": " << o.common.size_mib << ", \"reps\": " << o.common.reps
      << ", \"dir\": \"" << Esc(o.dir) << "\", \"fs\": \"" << fs_type
      << "\", \"syscall_iters\": " << o.syscall_iters
      << ", \"syscall_rounds\": " << o.syscall_rounds
      << ", \"gap_record_ms\": " << Num(kGapRecordMs) << "},\n";
    j << "  \"checkpoint\": {\"raw_write_best_s\": " << Num(RawWriteBest())
      << ", \"cairn_best_s\": " << Num(CkptBest())
      << ", \"ratio_raw_over_cairn\": " << Num(CkptRatio()) << ", \"goal\": " << Num(kCkptGoal)
      << ", \"goal_met\": " << (CkptRatio() >= kCkptGoal ? "true" : "false")
      << ", \"ratio_of_medians\": " << Num(CkptMedianRatio()) << "},\n";
    j << "  \"restart\": {\"raw_read_best_s\": " << Num(RawReadBest())
      << ", \"cairn_best_s\": " << Num(RunningAgainBest())
      << ", \"ratio_raw_over_cairn\": " << Num(RestartRatio())
      << ", \"restart_and_app_exit_best_s\": " << Num(RestartBest())
      << ", \"ratio_raw_over_restart_and_app_exit\": " << Num(RestartAndExitRatio())
      << ", \"goal\": " << Num(kRestartGoal)
      << ", \"goal_met\": " << (RestartRatio() >= kRestartGoal ? "true" : "false")
      << ", \"checksums_equal\": "
      << (std::all_of(reps.begin(), reps.end(),
                      [](const CkptRep& r) { return !r.restarted || r.checksum_ok; })
              ? "true"
              : "false")
      << ", \"ratio_of_medians\": " << Num(RestartMedianRatio())
      << ", \"running_again_best_s\": " << Num(RunningAgainBest())
      << ", \"restored_app_checksum_best_s\": " << Num(AppSumBest())
      << ", \"raw_read_fresh_memory_best_s\": " << Num(RawReadFreshBest()) << "},\n";
    j << "  \"image\": {\"bytes\": " << (reps.empty() ? 0 : reps.front().image_bytes)
      << ", \"rss_bytes\": " << (reps.empty() ? 0 : reps.front().rss_bytes)
      << ", \"image_over_rss_best\": " << Num(ImageOverRss()) << "},\n";
    j << "  \"pause\": {\"without_fork_ms\": " << Num(PauseBest(false))
      << ", \"fork_available\": " << (have_fork ? "true" : "false")
      << ", \"with_fork_ms\": " << (fork_measured ? Num(PauseBest(true)) : "null")
      << ", \"noise_without_fork_ms\": " << Num(NoiseBest(false))
      << ", \"noise_with_fork_ms\": " << (fork_measured ? Num(NoiseBest(true)) : "null")
      << ", \"fork_checkpoint_best_s\": "
      << (fork_measured ? Num(BestOver(true, [](const CkptRep& r) { return r.ckpt_s; })) : "null")
      << ", \"note\": \"0 means below gap_record_ms\"},\n";
    j << "  \"syscalls\": {\"goal\": " << Num(kSyscallGoal) << ", \"goal_met\": "
      << (SysRatio("mix") > 0 && SysRatio("mix") <= kSyscallGoal ? "true" : "false")
      << ", \"kinds\": {";
    bool first = true;
    for (const auto& [k, v] : sys_plain) {
      auto t = sys_thread.find(k), l = sys_launched.find(k);
      if (t == sys_thread.end() || l == sys_launched.end()) continue;
      j << (first ? "\n" : ",\n") << "    \"" << Esc(k)
        << "\": {\"plain_best_ns\": " << Num(Best(v))
        << ", \"idle_thread_best_ns\": " << Num(Best(t->second))
        << ", \"launched_best_ns\": " << Num(Best(l->second))
        << ", \"ratio_launched_over_plain\": " << Num(SysRatio(k))
        << ", \"ratio_idle_thread_over_plain\": " << Num(Ratio(sys_thread, sys_plain, k))
        << ", \"ratio_launched_over_idle_thread\": " << Num(Ratio(sys_launched, sys_thread, k))
        << ",\n      \"plain_samples_ns\": " << Arr(v)
        << ", \"idle_thread_samples_ns\": " << Arr(t->second)
        << ", \"launched_samples_ns\": " << Arr(l->second) << "}";
      first = false;
    }
    j << "}},\n  \"reps\": [";
    for (size_t i = 0; i < reps.size(); ++i) {
      const CkptRep& r = reps[i];
      j << (i ? ",\n" : "\n") << "    {\"fork\": " << (r.fork ? "true" : "false")
        << ", \"checkpoint_s\": " << Num(r.ckpt_s) << ", \"raw_write_s\": " << Num(r.raw_write_s)
        << ", \"image_bytes\": " << r.image_bytes << ", \"rss_bytes\": " << r.rss_bytes
        << ", \"pause_ms\": " << Num(r.pause_ms) << ", \"noise_gap_ms\": " << Num(r.noise_gap_ms)
        << ",\n     \"preload_log\": {\"found\": " << (r.log.found ? "true" : "false")
        << ", \"threads\": " << r.log.threads << ", \"stop_ms\": " << Num(r.log.stop_ms)
        << ", \"write_ms\": " << Num(r.log.write_ms)
        << ", \"resumed_after_ms\": " << Num(r.log.resumed_ms) << ", \"bytes\": " << r.log.bytes
        << "}";
      if (r.restarted) {
        j << ",\n     \"restart_s\": " << Num(r.restart_s)
          << ", \"running_again_s\": " << Num(r.running_again_s)
          << ", \"restored_checksum_s\": " << Num(r.restored_sum_s)
          << ", \"raw_read_s\": " << Num(r.raw_read_s)
          << ", \"raw_read_fresh_memory_s\": " << Num(r.raw_read_fresh_s)
          << ", \"cached_fraction_before_restart\": " << Num(r.resident_before_restart)
          << ", \"cached_fraction_before_read\": " << Num(r.resident_before_read)
          << ", \"checksum_ok\": " << (r.checksum_ok ? "true" : "false");
      }
      j << "}";
    }
    j << "\n  ],\n  \"warnings\": [";
    for (size_t i = 0; i < g_warnings.size(); ++i) {
      j << (i ? ", " : "") << "\"" << Esc(g_warnings[i]) << "\"";
    }
    j << "]\n}\n";
    std::ofstream out(o.common.json);
    out << j.str();
    out.close();
    if (!out) Die("cannot write '" + o.common.json + "'");
    std::printf("\nwrote %s\n", o.common.json.c_str());
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ::signal(SIGPIPE, SIG_IGN);
  Bench b;
  b.o = ParseArgs(argc, argv);
  b.Setup();
  std::fprintf(stderr, "%s: %zu MiB, %d reps, images under %s (%s)\n", kProg, b.o.common.size_mib,
               b.o.common.reps, g_work.c_str(), b.fs_type.c_str());
  for (int r = 0; r < b.o.common.reps; ++r) {
    b.RunCheckpointRep(r, false);
    if (b.have_fork && !b.o.skip_fork) b.RunCheckpointRep(r, true);
  }
  std::fprintf(stderr, "%s: syscall loop, plain and under cairn launch...\n", kProg);
  for (int r = 0; r < b.o.common.reps; ++r) b.RunSyscallRep(r);
  b.PrintTable();
  b.WriteJson();
  std::free(b.buf);
  Cleanup();
  return 0;
}
