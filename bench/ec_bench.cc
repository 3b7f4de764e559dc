// cairn_bench_ec: erasure coding of a redundancy set (redundancy/erasure.h) on one core.
//
//   sets     n members of --size-mib MiB each (default 64), laid out by StripeLayout:
//            XOR  n = 8, k = 1 (stripes of 7 data + 1 parity)
//            RS   n = 8, k = 2 (6 + 2) and n = 10, k = 2 (8 + 2)
//   encode   all n stripes of the set, i.e. the whole set's parity, on one core
//   decode   rebuild the data and parity of k lost members (members 0..k-1) from the
//            survivors: every stripe's erased shards, on one core
//   figures  GB/s = the set's data bytes (n * size) per second on one core: the throughput
//            of one core expressed as member data encoded per second, i.e. what a rank must
//            sustain when every rank encodes its share; "rebuilt" = lost members' data bytes
//            per second. Each figure is the best of --reps and is also given against memcpy
//            of the same bytes (n * size, member buffer to member buffer) measured in the
//            same run, since absolute speeds vary between runs and machines.
//
// Every decode is checked against the original bytes. Goal (issue): encode >= 2 GB/s per
// core. The table goes to stdout, the same figures as JSON to --json (default
// bench_ec.json).
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "redundancy/erasure.h"

namespace {

using cairn::bench::Die;

using cairn::redundancy::ErasureCodec;
using cairn::redundancy::Scheme;
using cairn::redundancy::SchemeName;
using cairn::redundancy::StripeLayout;

using cairn::bench::Now;

using cairn::bench::GBps;

// Best (shortest) time of `reps` runs of f; `setup` runs untimed before each.
double BestOf(int reps, const std::function<void()>& f,
              const std::function<void()>& setup = nullptr) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    if (setup) setup();
    double t0 = Now();
    f();
    best = std::min(best, Now() - t0);
  }
  return best;
}

// A 64-byte aligned, pre-touched (page-backed) buffer.
struct Buf {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> p;
  size_t size = 0;
  explicit Buf(size_t n) : size(n) {
    const size_t alloc = std::max<size_t>(64, (n + 63) / 64 * 64);
    p.reset(static_cast<uint8_t*>(std::aligned_alloc(64, alloc)));
    if (!p) Die("out of memory (" + std::to_string(alloc) + " bytes)");
    std::memset(p.get(), 0, alloc);
  }
  uint8_t* data() const { return p.get(); }
};

void FillRandom(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(p + i, &x, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<uint8_t>(x >> (8 * (i % 8)));
}

using Args = cairn::bench::CommonArgs;

Args ParseArgs(int argc, char** argv) {
  return cairn::bench::ParseCommonArgs(
      argc, argv, "cairn_bench_ec", Args{64, 5, "bench_ec.json"}, 4096,
      "[--size-mib N (64, per member)] [--reps N (5)] [--json PATH (bench_ec.json)]");
}

struct Row {
  Scheme scheme;
  int n, k;
  double memcpy_gbps = 0;
  double encode_s = 0, decode_s = 0;
};

// The set: n members' data (padded_len bytes each, random in the first `size`, zero after)
// and parity (k chunks each), plus copies of every member's data for the memcpy baseline
// and the decode check.
class Set {
 public:
  Set(Scheme scheme, int n, int k, size_t size)
      : lay_(n, k, size), codec_(scheme, n - k, k), size_(size) {
    if (!lay_.ok()) Die(lay_.status().ToString());
    if (!codec_.ok()) Die(codec_.status().ToString());
    for (int m = 0; m < n; ++m) {
      data_.emplace_back(lay_.padded_len());
      FillRandom(data_.back().data(), size, static_cast<uint64_t>(m) + 1);
      copy_.emplace_back(lay_.padded_len());
      parity_.emplace_back(lay_.parity_len());
    }
  }

  size_t set_bytes() const { return size_ * static_cast<size_t>(lay_.n()); }

  void Memcpy() {
    for (size_t m = 0; m < data_.size(); ++m) std::memcpy(copy_[m].data(), data_[m].data(), size_);
  }

  uint8_t* ChunkPtr(int s, int m) {
    const uint64_t c = lay_.chunk();
    const int j = lay_.ParityIndex(s, m);
    if (j >= 0) return parity_[static_cast<size_t>(m)].data() + static_cast<uint64_t>(j) * c;
    return data_[static_cast<size_t>(m)].data() +
           static_cast<uint64_t>(lay_.DataChunkIndex(s, m)) * c;
  }

  void Encode() {
    std::vector<const uint8_t*> d;
    std::vector<uint8_t*> p;
    for (int s = 0; s < lay_.n(); ++s) {
      d.clear();
      p.clear();
      for (int m : lay_.DataMembers(s)) d.push_back(ChunkPtr(s, m));
      for (int j = 0; j < lay_.k(); ++j) p.push_back(ChunkPtr(s, lay_.ParityHolder(s, j)));
      codec_.Encode(d, p, lay_.chunk());
    }
  }

  // Members 0..k-1 are lost: saves their parity (once), then wipes their data and parity.
  void Lose() {
    if (saved_parity_.empty())
      for (int m = 0; m < lay_.k(); ++m) {
        const Buf& src = parity_[static_cast<size_t>(m)];
        saved_parity_.emplace_back(src.size);
        std::memcpy(saved_parity_.back().data(), src.data(), src.size);
      }
    for (int m = 0; m < lay_.k(); ++m) {
      std::memset(data_[static_cast<size_t>(m)].data(), 0xEE, size_);
      std::memset(parity_[static_cast<size_t>(m)].data(), 0xEE, lay_.parity_len());
    }
  }

  void Rebuild() {
    std::vector<uint8_t*> shards(static_cast<size_t>(lay_.n()));
    std::vector<int> erased;
    for (int s = 0; s < lay_.n(); ++s) {
      erased.clear();
      for (int sh = 0; sh < lay_.n(); ++sh) {
        const int m = lay_.ShardMember(s, sh);
        shards[static_cast<size_t>(sh)] = ChunkPtr(s, m);
        if (m < lay_.k()) erased.push_back(sh);
      }
      cairn::Status st = codec_.Decode(shards, erased, lay_.chunk());
      if (!st.ok()) Die("decode stripe " + std::to_string(s) + ": " + st.ToString());
    }
  }

  // After Memcpy (copies hold the original data) and Rebuild.
  void CheckRebuilt() const {
    for (int m = 0; m < lay_.k(); ++m) {
      const size_t i = static_cast<size_t>(m);
      if (std::memcmp(data_[i].data(), copy_[i].data(), size_) != 0)
        Die("member " + std::to_string(m) + ": rebuilt data differs");
      if (std::memcmp(parity_[i].data(), saved_parity_[i].data(), lay_.parity_len()) != 0)
        Die("member " + std::to_string(m) + ": rebuilt parity differs");
    }
  }

 private:
  StripeLayout lay_;
  ErasureCodec codec_;
  size_t size_;
  std::vector<Buf> data_, copy_, parity_, saved_parity_;
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  const size_t size = args.size_mib << 20;
  const double t_start = Now();

  std::vector<Row> rows = {{Scheme::kXor, 8, 1}, {Scheme::kRs, 8, 2}, {Scheme::kRs, 10, 2}};
  for (Row& r : rows) {
    Set set(r.scheme, r.n, r.k, size);
    r.memcpy_gbps = GBps(set.set_bytes(), BestOf(args.reps, [&] { set.Memcpy(); }));
    r.encode_s = BestOf(args.reps, [&] { set.Encode(); });
    r.decode_s = BestOf(
        args.reps, [&] { set.Rebuild(); }, [&] { set.Lose(); });
    set.CheckRebuilt();
    // memcpy again at the end: the best of both, against drift of the machine.
    r.memcpy_gbps =
        std::max(r.memcpy_gbps, GBps(set.set_bytes(), BestOf(args.reps, [&] { set.Memcpy(); })));
  }
  const double elapsed = Now() - t_start;

  // ---------------------------------------------------------------- report
  std::printf("cairn_bench_ec: %zu MiB per member, one core, best of %d, %.0f s\n", args.size_mib,
              args.reps, elapsed);
  std::printf(
      "GB/s = the set's data bytes (members x %zu MiB) per second on one core; x memcpy = "
      "against memcpy of the same bytes\n\n",
      args.size_mib);
  std::printf("%-6s %3s %6s %6s %4s %9s %8s %8s %9s %11s\n", "scheme", "n", "stripe", "op", "lost",
              "time ms", "GB/s", "x memcpy", "memcpy", "rebuilt GB/s");
  bool goal = true;
  for (const Row& r : rows) {
    const size_t bytes = size * static_cast<size_t>(r.n);
    const std::string stripe = std::to_string(r.n - r.k) + "+" + std::to_string(r.k);
    const double enc = GBps(bytes, r.encode_s), dec = GBps(bytes, r.decode_s);
    goal = goal && enc >= 2.0;
    std::printf("%-6s %3d %6s %6s %4s %9.1f %8.2f %8.2f %9.2f %11s\n", SchemeName(r.scheme), r.n,
                stripe.c_str(), "encode", "-", r.encode_s * 1e3, enc, enc / r.memcpy_gbps,
                r.memcpy_gbps, "-");
    std::printf("%-6s %3d %6s %6s %4d %9.1f %8.2f %8.2f %9.2f %11.2f\n", SchemeName(r.scheme), r.n,
                stripe.c_str(), "decode", r.k, r.decode_s * 1e3, dec, dec / r.memcpy_gbps,
                r.memcpy_gbps, GBps(size * static_cast<size_t>(r.k), r.decode_s));
  }
  std::printf("\ngoal: encode >= 2 GB/s per core: %s\n", goal ? "met" : "NOT met");

  FILE* j = std::fopen(args.json.c_str(), "w");
  if (!j) Die("cannot write '" + args.json + "': " + std::strerror(errno));
  struct utsname u {};
  ::uname(&u);
  std::fprintf(j,
               "{\n  \"bench\": \"ec\",\n  \"host\": \"%s\",\n  \"member_bytes\": %zu,\n"
               "  \"reps\": %d,\n  \"elapsed_s\": %.3f,\n  \"encode_goal_gbps\": 2.0,\n"
               "  \"encode_goal_met\": %s,\n  \"results\": [\n",
               u.machine, size, args.reps, elapsed, goal ? "true" : "false");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const size_t bytes = size * static_cast<size_t>(r.n);
    const double enc = GBps(bytes, r.encode_s), dec = GBps(bytes, r.decode_s);
    std::fprintf(j,
                 "    {\"scheme\": \"%s\", \"members\": %d, \"data_shards\": %d, "
                 "\"parity_shards\": %d, \"set_bytes\": %zu, \"memcpy_gbps\": %.4f, "
                 "\"encode_s\": %.6f, \"encode_gbps\": %.4f, \"encode_vs_memcpy\": %.4f, "
                 "\"decode_lost_members\": %d, \"decode_s\": %.6f, \"decode_gbps\": %.4f, "
                 "\"decode_vs_memcpy\": %.4f, \"rebuilt_gbps\": %.4f}%s\n",
                 SchemeName(r.scheme), r.n, r.n - r.k, r.k, bytes, r.memcpy_gbps, r.encode_s, enc,
                 enc / r.memcpy_gbps, r.k, r.decode_s, dec, dec / r.memcpy_gbps,
                 GBps(size * static_cast<size_t>(r.k), r.decode_s), i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(j, "  ]\n}\n");
  if (std::fclose(j) != 0) Die("cannot write '" + args.json + "'");
  std::printf("wrote %s\n", args.json.c_str());
  return 0;
}
