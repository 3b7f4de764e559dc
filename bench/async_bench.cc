// cairn_bench_async: what an async checkpoint costs the application.
//
//   blocking   the time a Checkpoint call blocks the caller (snapshot into the shared
//              staging area + hand-over to the backend) for --size-mib MiB, against a
//              memcpy of the same bytes into an already touched buffer, same run.
//              Goal: memcpy / blocking >= 0.5.
//   slowdown   a compute loop timed alone, then while the backend flushes a checkpoint
//              of the same size (scratch on /dev/shm, persistent on disk, checksums),
//              started right before the loop. Two loops: an in-cache 2-D stencil
//              (compute-bound; goal: slowdown <= 10%) and a streaming triad over 256 MiB
//              (memory-bound; reported, no goal: it competes with the flush for the
//              memory bus).
// Both run twice: with the backend unthrottled (the default) and with
// backend_max_bandwidth = --bandwidth MB/s, which trades flush time for interference.
// On this 2-vCPU VM any CPU work on the second vCPU slows the first one (a spin loop
// there doubles the stencil's time), so the unthrottled flush costs the application
// about its CPU share; the throttled phase shows the knob that bounds it.
// Every figure is the best of --reps; results are printed and written as JSON.
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "client/client.h"
#include "comm/comm.h"
#include "env/env.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void Die(const std::string& m) {
  std::fprintf(stderr, "cairn_bench_async: %s\n", m.c_str());
  std::exit(1);
}

void Check(const cairn::Status& st, const char* what) {
  if (!st.ok()) Die(std::string(what) + ": " + st.ToString());
}

std::string MakeDir(const std::string& parent, const std::string& tag) {
  std::string t = parent + "/cairn_bench_" + tag + "_XXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  if (::mkdtemp(b.data()) == nullptr) Die("cannot create a directory under " + parent);
  return b.data();
}

// In-cache 5-point stencil on a 256x256 grid: compute-bound.
double StencilLoop(int iters) {
  const int n = 256;
  std::vector<double> a(n * n, 1.0), b(n * n, 0.0);
  for (int i = 0; i < n; ++i) a[i] = 100.0;
  for (int it = 0; it < iters; ++it) {
    for (int y = 1; y < n - 1; ++y) {
      for (int x = 1; x < n - 1; ++x) {
        b[y * n + x] =
            0.25 * (a[(y - 1) * n + x] + a[(y + 1) * n + x] + a[y * n + x - 1] + a[y * n + x + 1]);
      }
    }
    std::swap(a, b);
  }
  return a[n * n / 2];
}

// STREAM-like triad over three arrays: memory-bound.
double TriadLoop(std::vector<double>& x, std::vector<double>& y, std::vector<double>& z,
                 int iters) {
  for (int it = 0; it < iters; ++it) {
    for (size_t i = 0; i < x.size(); ++i) x[i] = y[i] + 1.0001 * z[i];
  }
  return x[x.size() / 3];
}

struct Args {
  size_t mib = 512;
  int reps = 5;
  std::string json = "bench_async.json";
  int bandwidth = 300;  // MB/s of the second, throttled phase (0: skip it)
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + s);
      return argv[++i];
    };
    if (s == "--size-mib")
      a.mib = std::stoul(next());
    else if (s == "--reps")
      a.reps = std::stoi(next());
    else if (s == "--json")
      a.json = next();
    else if (s == "--bandwidth")
      a.bandwidth = std::stoi(next());
    else
      Die("unknown option " + s + " (use --size-mib N --reps N --bandwidth MBPS --json PATH)");
  }
  ::setenv("CAIRN_BACKEND_BIN", CAIRN_BENCH_BACKEND_BIN, 0);
  std::string shm = MakeDir(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", "scratch");
  std::string disk = MakeDir("/var/tmp", "persistent");
  std::string run = MakeDir("/tmp", "run");
  ::setenv("CAIRN_RUNTIME_DIR", run.c_str(), 1);
  ::setenv("CAIRN_JOB_ID", ("bench-async-" + std::to_string(::getpid())).c_str(), 1);
  const size_t bytes = a.mib << 20;
  std::vector<char> data(bytes, 1), copy(bytes, 2);
  for (size_t i = 0; i < bytes; i += 4096) data[i] = static_cast<char>(i >> 12);
  std::vector<double> x(32u << 20, 0.0), y(32u << 20, 1.0), z(32u << 20, 2.0);  // 3 x 256 MiB

  struct Phase {
    int bandwidth = 0;
    double copy = 1e9, block = 1e9, flush = 1e9;
    double stencil_alone = 0, stencil_flush = 0, triad_alone = 0, triad_flush = 0;
  };
  // One phase: a client (and backend) with backend_max_bandwidth = bw MB/s (0: unlimited).
  auto run_phase = [&](int bw) {
    Phase ph;
    ph.bandwidth = bw;
    std::string cfg = run + "/cfg" + std::to_string(bw);
    std::ofstream(cfg) << "mode = async\nscratch = " << shm << "\npersistent = " << disk
                       << "\nscratch_versions = 1\nmax_versions = 1\nbackend_idle_timeout = 5\n"
                       << "backend_max_bandwidth = " << bw << "\n";
    auto client = cairn::Client::Create(cairn::MakeSingleComm(0), cfg);
    if (!client.ok()) Die(client.status().ToString());
    cairn::Client& c = *client.value();
    Check(c.Protect(0, data.data(), bytes, 1, ""), "protect");
    static long long version = 0;
    Check(c.Checkpoint("bench", ++version), "warm-up checkpoint");  // allocates the staging area
    Check(c.CheckpointWait(), "warm-up wait");
    for (int r = 0; r < a.reps; ++r) {
      auto t0 = Clock::now();
      std::memcpy(copy.data(), data.data(), bytes);
      ph.copy = std::min(ph.copy, Seconds(t0, Clock::now()));
      data[r] ^= 1;
      auto t1 = Clock::now();
      Check(c.Checkpoint("bench", ++version), "checkpoint");
      auto t2 = Clock::now();
      Check(c.CheckpointWait(), "wait");
      ph.block = std::min(ph.block, Seconds(t1, t2));
      ph.flush = std::min(ph.flush, Seconds(t1, Clock::now()));
    }
    auto time_loop = [&](auto&& loop, bool with_flush) {
      double best = 1e9;
      for (int r = 0; r < a.reps; ++r) {
        if (with_flush) Check(c.Checkpoint("bench", ++version), "checkpoint");
        auto t0 = Clock::now();
        loop();
        double t = Seconds(t0, Clock::now());
        if (with_flush) Check(c.CheckpointWait(), "wait");
        best = std::min(best, t);
      }
      return best;
    };
    // Size each loop to last about as long as a flush, so that it overlaps it entirely.
    auto s0 = Clock::now();
    volatile double sink = StencilLoop(20);
    double per_iter = Seconds(s0, Clock::now()) / 20;
    int stencil_iters = std::max(20, static_cast<int>(ph.flush * 0.8 / per_iter));
    ph.stencil_alone = time_loop([&] { sink = StencilLoop(stencil_iters); }, false);
    ph.stencil_flush = time_loop([&] { sink = StencilLoop(stencil_iters); }, true);
    auto t0 = Clock::now();
    sink = TriadLoop(x, y, z, 1);
    int triad_iters = std::max(1, static_cast<int>(ph.flush * 0.8 / Seconds(t0, Clock::now())));
    ph.triad_alone = time_loop([&] { sink = TriadLoop(x, y, z, triad_iters); }, false);
    ph.triad_flush = time_loop([&] { sink = TriadLoop(x, y, z, triad_iters); }, true);
    (void)sink;
    Check(c.Finalize(true), "finalize");
    return ph;
  };
  std::vector<Phase> phases{run_phase(0)};
  if (a.bandwidth > 0) phases.push_back(run_phase(a.bandwidth));

  std::printf("cairn_bench_async: %zu MiB, best of %d, scratch %s (tmpfs), persistent %s\n", a.mib,
              a.reps, shm.c_str(), disk.c_str());
  std::ofstream j(a.json);
  j << "{\n  \"size_mib\": " << a.mib << ",\n  \"reps\": " << a.reps << ",\n  \"phases\": [";
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& ph = phases[i];
    double ratio = ph.copy / ph.block;
    double s_slow = ph.stencil_flush / ph.stencil_alone - 1.0;
    double t_slow = ph.triad_flush / ph.triad_alone - 1.0;
    std::printf("\nbackend_max_bandwidth = %d MB/s%s\n", ph.bandwidth,
                ph.bandwidth == 0 ? " (unlimited, the default)" : "");
    std::printf("%-38s %12s %12s %10s %10s\n", "measure", "baseline(s)", "cairn(s)", "ratio",
                "goal");
    std::printf("%-38s %12.4f %12.4f %10.3f %10s %s\n", "blocking: memcpy / checkpoint call",
                ph.copy, ph.block, ratio, ">=0.5", ratio >= 0.5 ? "met" : "MISSED");
    std::printf("%-38s %12s %12.4f %10s %10s\n", "  (full flush: scratch + persistent)", "-",
                ph.flush, "-", "-");
    std::printf("%-38s %12.4f %12.4f %9.1f%% %10s %s\n", "slowdown: in-cache stencil",
                ph.stencil_alone, ph.stencil_flush, 100 * s_slow, "<=10%",
                s_slow <= 0.10 ? "met" : "MISSED");
    std::printf("%-38s %12.4f %12.4f %9.1f%% %10s\n", "slowdown: memory-bound triad",
                ph.triad_alone, ph.triad_flush, 100 * t_slow, "-");
    j << (i ? "," : "") << "\n    {\"backend_max_bandwidth_mbps\": " << ph.bandwidth
      << ", \"memcpy_s\": " << ph.copy << ", \"blocking_s\": " << ph.block
      << ", \"flush_s\": " << ph.flush << ", \"memcpy_over_blocking\": " << ratio
      << ", \"stencil_alone_s\": " << ph.stencil_alone
      << ", \"stencil_during_flush_s\": " << ph.stencil_flush
      << ", \"stencil_slowdown\": " << s_slow << ", \"triad_alone_s\": " << ph.triad_alone
      << ", \"triad_during_flush_s\": " << ph.triad_flush << ", \"triad_slowdown\": " << t_slow
      << "}";
  }
  j << "\n  ]\n}\n";
  std::printf("\nwrote %s\n", a.json.c_str());
  cairn::Env::Default()->RemoveTree(shm).ok();
  cairn::Env::Default()->RemoveTree(disk).ok();
  cairn::Env::Default()->RemoveTree(run).ok();
  return 0;
}
