// cairn_bench_compress: entry encoding (format/codec.h) on float64 checkpoint data.
//
//   fields   smooth  a 2-D field like a heat-diffusion state: a sum of a few sines and
//                    Gaussian bumps on a 4096-wide grid, double precision
//            noisy   the same with small random noise (relative 1e-9, i.e. the low ~22
//                    mantissa bits are random)
//            random  uniform random doubles in [-1, 1)
//   configs  zstd level 1 and 3, lz4 (acceleration 1); each without and with the 8-byte
//            shuffle; 1 and 2 threads (encode and decode alike); 1 MiB blocks
//   figures  ratio = raw / stored bytes; compress and decompress GB/s of raw bytes, each the
//            best of --reps; every speed is also given against memcpy of the same bytes
//            measured in the same run (absolute speeds vary between runs and machines);
//            "parallel capacity" says whether 2 threads really got 2 cores (on a shared
//            machine they may not, and the 2-thread figures are then understated)
//
// Every decode is checked against the field once. The table goes to stdout, the same
// figures as JSON to --json (default bench_compress.json).
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "format/codec.h"
#include "format/format.h"
#include "harness.h"

namespace {

using cairn::bench::Die;

using cairn::format::Codec;
using cairn::format::EncodeOptions;
using cairn::format::Filter;

void Check(const cairn::Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

using cairn::bench::Now;

using cairn::bench::GBps;

// How many cores this process really gets (the machine may be shared): the same fixed
// integer work on 1 thread and on 2 threads at once; 2 * t1 / t2 is 2.0 when both run in
// parallel and 1.0 when they share one core.
double ParallelCapacity() {
  auto work = [] {
    volatile uint64_t x = 1;
    for (uint64_t i = 0; i < 200000000; ++i) x = x * 2862933555777941757ull + i;
  };
  auto run = [&](int threads) {
    double t0 = Now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& th : pool) th.join();
    return Now() - t0;
  };
  double t1 = std::min(run(1), run(1)), t2 = std::min(run(2), run(2));
  return 2.0 * t1 / t2;
}

// Best (shortest) time of `reps` runs of f.
double BestOf(int reps, const std::function<void()>& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    double t0 = Now();
    f();
    best = std::min(best, Now() - t0);
  }
  return best;
}

// ---------------------------------------------------------------- fields

constexpr size_t kWidth = 4096;  // grid columns

void SmoothField(std::vector<double>* f) {
  const size_t rows = (f->size() + kWidth - 1) / kWidth;
  const double pi = 3.14159265358979323846;
  for (size_t i = 0; i < f->size(); ++i) {
    const double x = static_cast<double>(i % kWidth) / kWidth;
    const double y = static_cast<double>(i / kWidth) / static_cast<double>(rows);
    const double dx1 = x - 0.3, dy1 = y - 0.6, dx2 = x - 0.75, dy2 = y - 0.25;
    (*f)[i] = 300.0 + 40.0 * std::exp(-(dx1 * dx1 + dy1 * dy1) / 0.02) +
              25.0 * std::exp(-(dx2 * dx2 + dy2 * dy2) / 0.05) +
              10.0 * std::sin(2 * pi * x) * std::sin(3 * pi * y) +
              2.0 * std::cos(5 * pi * x + 1.0) * std::exp(-2.0 * y);
  }
}

void AddNoise(std::vector<double>* f, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1e-9, 1e-9);
  for (double& v : *f) v *= 1.0 + u(rng);
}

void RandomField(std::vector<double>* f, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (double& v : *f) v = u(rng);
}

// ---------------------------------------------------------------- configurations

struct Config {
  Codec codec;
  int level;
  bool shuffle;
  int threads;
};

struct Row {
  std::string field;
  Config cfg;
  size_t stored = 0;
  double ratio = 0, comp_gbps = 0, decomp_gbps = 0;
};

std::string CodecLabel(const Config& c) {
  std::string s = cairn::format::CodecName(c.codec);
  if (c.codec == Codec::kZstd) s += "-" + std::to_string(c.level);
  return s;
}

using Args = cairn::bench::CommonArgs;

Args ParseArgs(int argc, char** argv) {
  return cairn::bench::ParseCommonArgs(
      argc, argv, "cairn_bench_compress", Args{256, 3, "bench_compress.json"}, (1 << 16),
      "[--size-mib N (256)] [--reps N (3)] [--json PATH (bench_compress.json)]");
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  const size_t bytes = args.size_mib << 20;
  const size_t count = bytes / sizeof(double);
  const double t_start = Now();

  std::vector<double> field(count);
  std::vector<double> back(count);
  std::string enc;
  std::memset(back.data(), 0, bytes);  // back the pages before anything is timed

  // Baselines (same bytes, same buffers): memcpy, and the shuffle filter alone.
  double capacity = ParallelCapacity();
  auto measure_memcpy = [&] {
    return GBps(bytes, BestOf(args.reps, [&] { std::memcpy(back.data(), field.data(), bytes); }));
  };
  SmoothField(&field);
  double memcpy_gbps = measure_memcpy();
  const double shuffle_gbps = GBps(
      bytes, BestOf(args.reps, [&] { cairn::format::Shuffle8(field.data(), back.data(), bytes); }));
  std::vector<double> tmp(count);
  cairn::format::Shuffle8(field.data(), tmp.data(), bytes);
  const double unshuffle_gbps = GBps(
      bytes, BestOf(args.reps, [&] { cairn::format::Unshuffle8(tmp.data(), back.data(), bytes); }));
  if (std::memcmp(back.data(), field.data(), bytes) != 0) Die("shuffle round trip differs");
  tmp = std::vector<double>();

  std::vector<Config> configs;
  for (auto [codec, level] : {std::pair{Codec::kZstd, 1}, {Codec::kZstd, 3}, {Codec::kLz4, 1}})
    for (bool shuffle : {false, true})
      for (int threads : {1, 2}) configs.push_back({codec, level, shuffle, threads});

  std::vector<Row> rows;
  for (const char* name : {"smooth", "noisy", "random"}) {
    const std::string fname = name;
    if (fname == "smooth") SmoothField(&field);
    if (fname == "noisy") AddNoise(&field, 1);  // field holds the smooth one
    if (fname == "random") RandomField(&field, 2);
    for (const Config& c : configs) {
      EncodeOptions o;
      o.codec = c.codec;
      o.filter = c.shuffle ? Filter::kShuffle8 : Filter::kNone;
      o.level = c.level;
      o.threads = c.threads;
      Row row{fname, c};
      const std::string what = fname + " " + CodecLabel(c);
      double tc = BestOf(args.reps, [&] { Check(Encode(o, field.data(), bytes, &enc), what); });
      double td = BestOf(args.reps, [&] {
        Check(cairn::format::Decode(o.codec, o.filter, enc.data(), enc.size(), back.data(), bytes,
                                    c.threads),
              what);
      });
      if (std::memcmp(back.data(), field.data(), bytes) != 0) Die(what + ": decode differs");
      row.stored = enc.size();
      row.ratio = static_cast<double>(bytes) / static_cast<double>(enc.size());
      row.comp_gbps = GBps(bytes, tc);
      row.decomp_gbps = GBps(bytes, td);
      rows.push_back(row);
    }
  }
  memcpy_gbps = std::max(memcpy_gbps, measure_memcpy());  // again at the end: best of both
  capacity = std::min(capacity, ParallelCapacity());      // the worse of start and end
  const double elapsed = Now() - t_start;

  // ---------------------------------------------------------------- report
  std::printf(
      "cairn_bench_compress: %zu MiB float64 per field, 1 MiB blocks, best of %d, %u "
      "hardware threads, %.0f s\n",
      args.size_mib, args.reps, std::thread::hardware_concurrency(), elapsed);
  std::printf(
      "baseline  memcpy %.2f GB/s   shuffle8 %.2f GB/s (%.2fx memcpy)   unshuffle8 %.2f "
      "GB/s (%.2fx memcpy)\n",
      memcpy_gbps, shuffle_gbps, shuffle_gbps / memcpy_gbps, unshuffle_gbps,
      unshuffle_gbps / memcpy_gbps);
  std::printf(
      "parallel capacity (2 spinning threads vs 1): %.2f of 2%s\n\n", capacity,
      capacity < 1.8 ? "  WARNING: cores are shared, 2-thread figures are understated" : "");
  std::printf("%-7s %-7s %-7s %3s %7s %9s %8s %9s %8s\n", "field", "codec", "shuffle", "thr",
              "ratio", "comp GB/s", "x memcpy", "dec GB/s", "x memcpy");
  for (const Row& r : rows)
    std::printf("%-7s %-7s %-7s %3d %7.3f %9.3f %8.3f %9.3f %8.3f\n", r.field.c_str(),
                CodecLabel(r.cfg).c_str(), r.cfg.shuffle ? "yes" : "no", r.cfg.threads, r.ratio,
                r.comp_gbps, r.comp_gbps / memcpy_gbps, r.decomp_gbps, r.decomp_gbps / memcpy_gbps);

  FILE* j = std::fopen(args.json.c_str(), "w");
  if (!j) Die("cannot write '" + args.json + "': " + std::strerror(errno));
  struct utsname u {};
  ::uname(&u);
  std::fprintf(j,
               "{\n  \"bench\": \"compress\",\n  \"host\": \"%s\",\n  \"hardware_threads\": %u,\n"
               "  \"field_bytes\": %zu,\n  \"block_size\": %d,\n  \"reps\": %d,\n"
               "  \"elapsed_s\": %.3f,\n  \"memcpy_gbps\": %.4f,\n  \"shuffle8_gbps\": %.4f,\n"
               "  \"unshuffle8_gbps\": %.4f,\n  \"parallel_capacity\": %.3f,\n"
               "  \"results\": [\n",
               u.machine, std::thread::hardware_concurrency(), bytes, 1 << 20, args.reps, elapsed,
               memcpy_gbps, shuffle_gbps, unshuffle_gbps, capacity);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::fprintf(j,
                 "    {\"field\": \"%s\", \"codec\": \"%s\", \"level\": %d, \"shuffle\": %s, "
                 "\"threads\": %d, \"stored_bytes\": %zu, \"ratio\": %.4f, "
                 "\"compress_gbps\": %.4f, \"decompress_gbps\": %.4f, "
                 "\"compress_vs_memcpy\": %.4f, \"decompress_vs_memcpy\": %.4f}%s\n",
                 r.field.c_str(), cairn::format::CodecName(r.cfg.codec), r.cfg.level,
                 r.cfg.shuffle ? "true" : "false", r.cfg.threads, r.stored, r.ratio, r.comp_gbps,
                 r.decomp_gbps, r.comp_gbps / memcpy_gbps, r.decomp_gbps / memcpy_gbps,
                 i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(j, "  ]\n}\n");
  if (std::fclose(j) != 0) Die("cannot write '" + args.json + "'");
  std::printf("\nwrote %s\n", args.json.c_str());
  return 0;
}
