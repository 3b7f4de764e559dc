#include "redundancy/erasure.h"

#include <gtest/gtest.h>
#include <isa-l/erasure_code.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace cairn::redundancy {
namespace {

const std::vector<std::pair<int, int>> kLayouts = {{2, 1}, {4, 1},  {8, 1}, {8, 2},
                                                   {8, 3}, {16, 2}, {5, 4}};
const std::vector<size_t> kLengths = {1, 31, 32, 4096, 100000};

// Calls f(subset) for every subset of {0..n-1} with exactly `size` elements.
void ForEachSubset(int n, int size, const std::function<void(const std::vector<int>&)>& f) {
  std::vector<int> cur;
  std::function<void(int)> rec = [&](int from) {
    if (static_cast<int>(cur.size()) == size) {
      f(cur);
      return;
    }
    for (int i = from; i < n; ++i) {
      cur.push_back(i);
      rec(i + 1);
      cur.pop_back();
    }
  };
  rec(0);
}

// A len-byte buffer whose address is `misalign` bytes past a 64-byte boundary.
class Buffer {
 public:
  Buffer(size_t len, size_t misalign) : raw_(len + 128), len_(len) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(raw_.data());
    const size_t skip = (64 - base % 64) % 64 + misalign % 64;
    p_ = raw_.data() + skip;
  }
  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return len_; }
  void Fill(uint8_t v) { std::memset(p_, v, len_); }
  void Random(std::mt19937_64* rng) {
    for (size_t i = 0; i < len_; ++i) p_[i] = static_cast<uint8_t>((*rng)());
  }
  bool Equals(const Buffer& o) const {
    return len_ == o.len_ && (len_ == 0 || std::memcmp(p_, o.p_, len_) == 0);
  }

 private:
  std::vector<uint8_t> raw_;
  size_t len_;
  uint8_t* p_;
};

// ---------------------------------------------------------------- StripeLayout

TEST(StripeLayout, ChunkSize) {
  EXPECT_EQ(StripeLayout(8, 1, 0).chunk(), 0u);
  EXPECT_EQ(StripeLayout(8, 1, 0).padded_len(), 0u);
  EXPECT_EQ(StripeLayout(8, 1, 7).chunk(), 1u);
  EXPECT_EQ(StripeLayout(8, 1, 8).chunk(), 2u);
  EXPECT_EQ(StripeLayout(8, 2, 100).chunk(), 17u);
  EXPECT_EQ(StripeLayout(8, 2, 100).padded_len(), 102u);
  EXPECT_EQ(StripeLayout(8, 2, 100).parity_len(), 34u);
  EXPECT_EQ(StripeLayout(2, 1, uint64_t{1} << 40).chunk(), uint64_t{1} << 40);
}

TEST(StripeLayout, InvalidArguments) {
  for (auto [n, k] : std::vector<std::pair<int, int>>{
           {1, 0}, {1, 1}, {2, 0}, {2, 2}, {257, 1}, {8, 8}, {8, -1}, {0, 0}}) {
    StripeLayout lay(n, k, 100);
    EXPECT_FALSE(lay.ok()) << n << "," << k;
    EXPECT_EQ(lay.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(lay.ParityIndex(0, 0), -1);
    EXPECT_EQ(lay.DataChunkIndex(0, 0), -1);
    EXPECT_TRUE(lay.DataMembers(0).empty());
    EXPECT_FALSE(lay.Recoverable({}, {}));
  }
  EXPECT_TRUE(StripeLayout(256, 255, 1).ok());
  EXPECT_TRUE(StripeLayout(2, 1, 0).ok());
  StripeLayout lay(4, 1, 10);
  EXPECT_EQ(lay.ParityIndex(4, 0), -1);
  EXPECT_EQ(lay.ParityIndex(0, -1), -1);
  EXPECT_EQ(lay.DataChunkIndex(-1, 0), -1);
  EXPECT_EQ(lay.DataStripe(0, 3), -1);
  EXPECT_EQ(lay.ShardMember(0, 4), -1);
  EXPECT_FALSE(lay.Recoverable({false, false, false}, {false, false, false, false}));
}

TEST(StripeLayout, Example) {
  // n = 4, k = 1: stripe s's parity on member s; member m's data chunks go to the other
  // stripes in increasing order.
  StripeLayout lay(4, 1, 9);
  EXPECT_EQ(lay.chunk(), 3u);
  EXPECT_EQ(lay.DataMembers(1), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(lay.ParityStripes(2), (std::vector<int>{2}));
  EXPECT_EQ(lay.DataStripes(2), (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(lay.DataChunkIndex(3, 2), 2);
  EXPECT_EQ(lay.DataChunkIndex(2, 2), -1);
  // n = 5, k = 2: stripe 4's parity on members 4 and 0.
  StripeLayout lay2(5, 2, 9);
  EXPECT_EQ(lay2.ParityHolder(4, 0), 4);
  EXPECT_EQ(lay2.ParityHolder(4, 1), 0);
  EXPECT_EQ(lay2.DataMembers(4), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(lay2.ParityStripes(0), (std::vector<int>{0, 4}));
  EXPECT_EQ(lay2.DataStripes(0), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(lay2.ShardIndex(4, 0), 4);
  EXPECT_EQ(lay2.ShardIndex(4, 1), 0);
}

TEST(StripeLayout, Structure) {
  for (auto [n, k] : kLayouts) {
    SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k));
    StripeLayout lay(n, k, 1000);
    ASSERT_TRUE(lay.ok());
    for (int s = 0; s < n; ++s) {
      int holders = 0;
      for (int m = 0; m < n; ++m) {
        const int j = lay.ParityIndex(s, m);
        if (j >= 0) {
          ++holders;
          EXPECT_EQ(lay.ParityHolder(s, j), m);
          EXPECT_EQ(m, (s + j) % n);
          EXPECT_EQ(lay.DataChunkIndex(s, m), -1);
        } else {
          EXPECT_GE(lay.DataChunkIndex(s, m), 0);
        }
      }
      EXPECT_EQ(holders, k);
      const std::vector<int> dm = lay.DataMembers(s);
      ASSERT_EQ(static_cast<int>(dm.size()), n - k);
      EXPECT_TRUE(std::is_sorted(dm.begin(), dm.end()));
      for (size_t i = 0; i < dm.size(); ++i) {
        EXPECT_EQ(lay.ParityIndex(s, dm[i]), -1);
        EXPECT_EQ(lay.ShardIndex(s, dm[i]), static_cast<int>(i));
      }
      // ShardIndex is a permutation of 0..n-1 and ShardMember its inverse.
      std::vector<int> seen(static_cast<size_t>(n), 0);
      for (int m = 0; m < n; ++m) {
        const int sh = lay.ShardIndex(s, m);
        ASSERT_GE(sh, 0);
        ASSERT_LT(sh, n);
        ++seen[static_cast<size_t>(sh)];
        EXPECT_EQ(lay.ShardMember(s, sh), m);
        if (lay.ParityIndex(s, m) >= 0) {
          EXPECT_EQ(sh, n - k + lay.ParityIndex(s, m));
        }
      }
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n);
    }
    for (int m = 0; m < n; ++m) {
      // k parity chunks: chunk j is row j of stripe ParityStripes(m)[j].
      const std::vector<int> ps = lay.ParityStripes(m);
      ASSERT_EQ(static_cast<int>(ps.size()), k);
      for (int j = 0; j < k; ++j) EXPECT_EQ(lay.ParityIndex(ps[static_cast<size_t>(j)], m), j);
      // n-k data chunks; DataChunkIndex is a bijection from m's data stripes onto 0..n-k-1,
      // increasing with the stripe.
      std::vector<int> data_stripes;
      for (int s = 0; s < n; ++s)
        if (lay.ParityIndex(s, m) == -1) data_stripes.push_back(s);
      ASSERT_EQ(static_cast<int>(data_stripes.size()), n - k);
      EXPECT_EQ(lay.DataStripes(m), data_stripes);
      for (int c = 0; c < n - k; ++c) {
        const int s = data_stripes[static_cast<size_t>(c)];
        EXPECT_EQ(lay.DataChunkIndex(s, m), c);
        EXPECT_EQ(lay.DataStripe(m, c), s);
      }
      for (int s : ps) EXPECT_EQ(std::count(data_stripes.begin(), data_stripes.end(), s), 0);
    }
  }
}

TEST(StripeLayout, Recoverable) {
  for (auto [n, k] : kLayouts) {
    SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k));
    StripeLayout lay(n, k, 1000);
    auto lose = [&](const std::vector<int>& members, bool data, bool parity) {
      std::vector<bool> dl(static_cast<size_t>(n), false), pl(static_cast<size_t>(n), false);
      for (int m : members) {
        dl[static_cast<size_t>(m)] = data;
        pl[static_cast<size_t>(m)] = parity;
      }
      return lay.Recoverable(dl, pl);
    };
    EXPECT_TRUE(lose({}, true, true));
    // Exhaustive for n <= 8; for larger sets every subset of size k and k+1 (n = 16, k = 2:
    // 120 and 560 subsets) is still cheap.
    for (int size = 1; size <= k; ++size) {
      ForEachSubset(n, size, [&](const std::vector<int>& lost) {
        EXPECT_TRUE(lose(lost, true, true));
        EXPECT_TRUE(lose(lost, true, false));
        EXPECT_TRUE(lose(lost, false, true));
      });
    }
    int unrecoverable = 0;
    ForEachSubset(n, k + 1, [&](const std::vector<int>& lost) {
      if (!lose(lost, true, true)) ++unrecoverable;
    });
    EXPECT_GT(unrecoverable, 0);
    // Losing only every member's parity erases k shards per stripe: fine.
    std::vector<int> all(static_cast<size_t>(n));
    for (int m = 0; m < n; ++m) all[static_cast<size_t>(m)] = m;
    EXPECT_TRUE(lose(all, false, true));
    // Losing the data of k+1 members that are all data members of stripe 0 is not.
    if (n - k >= k + 1) {
      std::vector<int> dm = lay.DataMembers(0);
      dm.resize(static_cast<size_t>(k + 1));
      EXPECT_FALSE(lose(dm, true, false));
    }
  }
}

// ---------------------------------------------------------------- ErasureCodec

TEST(ErasureCodec, InvalidConstruction) {
  EXPECT_FALSE(ErasureCodec(Scheme::kXor, 4, 2).ok());
  EXPECT_FALSE(ErasureCodec(Scheme::kXor, 0, 1).ok());
  EXPECT_FALSE(ErasureCodec(Scheme::kXor, 256, 1).ok());
  EXPECT_TRUE(ErasureCodec(Scheme::kXor, 255, 1).ok());
  EXPECT_FALSE(ErasureCodec(Scheme::kRs, 0, 2).ok());
  EXPECT_FALSE(ErasureCodec(Scheme::kRs, 4, 0).ok());
  EXPECT_FALSE(ErasureCodec(Scheme::kRs, 250, 6).ok());
  EXPECT_TRUE(ErasureCodec(Scheme::kRs, 250, 5).ok());
  ErasureCodec bad(Scheme::kXor, 3, 2);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  uint8_t a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
  bad.Encode({a, a, a}, {b, b}, 4);  // a no-op, not a crash
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(bad.Decode({a, a, a, b, b}, {0}, 4).code(), Code::kInvalidArgument);
}

// Scalar reference of the RS parity: row p = sum_i C[p][i] * d_i with ISA-L's Cauchy matrix.
std::vector<std::vector<uint8_t>> ReferenceParity(Scheme scheme, int d, int p,
                                                  const std::vector<Buffer>& data) {
  const size_t len = data[0].size();
  std::vector<std::vector<uint8_t>> out(static_cast<size_t>(p), std::vector<uint8_t>(len, 0));
  std::vector<uint8_t> a(static_cast<size_t>((d + p) * d));
  if (scheme == Scheme::kRs) gf_gen_cauchy1_matrix(a.data(), d + p, d);
  for (int r = 0; r < p; ++r)
    for (int i = 0; i < d; ++i) {
      const uint8_t c = scheme == Scheme::kXor ? 1 : a[static_cast<size_t>((d + r) * d + i)];
      const uint8_t* src = data[static_cast<size_t>(i)].data();
      for (size_t b = 0; b < len; ++b) out[static_cast<size_t>(r)][b] ^= gf_mul(c, src[b]);
    }
  return out;
}

struct CodecCase {
  Scheme scheme;
  int d, p;
};

void RoundTrip(const CodecCase& c, size_t len, bool misaligned, uint64_t seed) {
  SCOPED_TRACE(std::string(SchemeName(c.scheme)) + "(" + std::to_string(c.d) + "+" +
               std::to_string(c.p) + ") len=" + std::to_string(len) +
               (misaligned ? " misaligned" : " aligned"));
  ErasureCodec codec(c.scheme, c.d, c.p);
  ASSERT_TRUE(codec.ok()) << codec.status().ToString();
  const int total = c.d + c.p;
  std::mt19937_64 rng(seed);
  std::vector<Buffer> shards, orig;
  for (int i = 0; i < total; ++i) {
    const size_t off = misaligned ? static_cast<size_t>(1 + 3 * i) : 0;
    shards.emplace_back(len, off);
    orig.emplace_back(len, 0);
  }
  for (int i = 0; i < c.d; ++i) shards[static_cast<size_t>(i)].Random(&rng);
  std::vector<const uint8_t*> data;
  std::vector<uint8_t*> parity, ptrs;
  for (int i = 0; i < total; ++i) {
    (i < c.d ? data.push_back(shards[static_cast<size_t>(i)].data())
             : parity.push_back(shards[static_cast<size_t>(i)].data()));
    ptrs.push_back(shards[static_cast<size_t>(i)].data());
  }
  codec.Encode(data, parity, len);
  const auto ref = ReferenceParity(c.scheme, c.d, c.p, shards);
  for (int r = 0; r < c.p; ++r)
    ASSERT_EQ(0,
              std::memcmp(parity[static_cast<size_t>(r)], ref[static_cast<size_t>(r)].data(), len))
        << "parity row " << r;
  for (int i = 0; i < total; ++i)
    std::memcpy(orig[static_cast<size_t>(i)].data(), shards[static_cast<size_t>(i)].data(), len);

  int checked = 0;
  for (int e = 1; e <= c.p; ++e) {
    ForEachSubset(total, e, [&](const std::vector<int>& erased) {
      for (int x : erased) shards[static_cast<size_t>(x)].Fill(0xA5);
      Status st = codec.Decode(ptrs, erased, len);
      ASSERT_TRUE(st.ok()) << st.ToString();
      for (int i = 0; i < total; ++i)
        ASSERT_TRUE(shards[static_cast<size_t>(i)].Equals(orig[static_cast<size_t>(i)]))
            << "shard " << i << " after erasing " << ::testing::PrintToString(erased);
      ++checked;
    });
  }
  EXPECT_GT(checked, 0);
}

TEST(ErasureCodec, XorRoundTrip) {
  for (int d : {1, 2, 3, 7, 15}) {
    for (size_t len : kLengths) {
      RoundTrip({Scheme::kXor, d, 1}, len, false, 100 + static_cast<uint64_t>(d) + len);
      RoundTrip({Scheme::kXor, d, 1}, len, true, 200 + static_cast<uint64_t>(d) + len);
    }
  }
}

TEST(ErasureCodec, RsRoundTrip) {
  // Every combination of <= p erasures: at most C(14, <=4) = 1471 decodes per length.
  for (int p = 1; p <= 4; ++p) {
    for (int d : {1, 2, 6, 10}) {
      for (size_t len : kLengths) {
        RoundTrip({Scheme::kRs, d, p}, len, false, 300 + static_cast<uint64_t>(d * 10 + p) + len);
        if (len <= 4096) RoundTrip({Scheme::kRs, d, p}, len, true, 400 + len);
      }
    }
  }
}

TEST(ErasureCodec, RsLargeStripes) {
  // The largest RS stripe (255 shards) and a wide one, with a few random erasure sets.
  for (auto [d, p] : std::vector<std::pair<int, int>>{{250, 5}, {128, 16}, {1, 254}}) {
    SCOPED_TRACE(std::to_string(d) + "+" + std::to_string(p));
    ErasureCodec codec(Scheme::kRs, d, p);
    ASSERT_TRUE(codec.ok());
    const size_t len = 333;
    const int total = d + p;
    std::mt19937_64 rng(static_cast<uint64_t>(d * 1000 + p));
    std::vector<Buffer> shards, orig;
    std::vector<uint8_t*> ptrs;
    for (int i = 0; i < total; ++i) {
      shards.emplace_back(len, 0);
      orig.emplace_back(len, 0);
    }
    std::vector<const uint8_t*> data;
    std::vector<uint8_t*> parity;
    for (int i = 0; i < total; ++i) {
      if (i < d) shards[static_cast<size_t>(i)].Random(&rng);
      (i < d ? data.push_back(shards[static_cast<size_t>(i)].data())
             : parity.push_back(shards[static_cast<size_t>(i)].data()));
      ptrs.push_back(shards[static_cast<size_t>(i)].data());
    }
    codec.Encode(data, parity, len);
    for (int i = 0; i < total; ++i)
      std::memcpy(orig[static_cast<size_t>(i)].data(), shards[static_cast<size_t>(i)].data(), len);
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<int> idx(static_cast<size_t>(total));
      for (int i = 0; i < total; ++i) idx[static_cast<size_t>(i)] = i;
      std::shuffle(idx.begin(), idx.end(), rng);
      idx.resize(static_cast<size_t>(p));
      for (int x : idx) shards[static_cast<size_t>(x)].Fill(0x5A);
      ASSERT_TRUE(codec.Decode(ptrs, idx, len).ok());
      for (int i = 0; i < total; ++i)
        ASSERT_TRUE(shards[static_cast<size_t>(i)].Equals(orig[static_cast<size_t>(i)]));
    }
  }
}

TEST(ErasureCodec, DecodeErrors) {
  for (const CodecCase& c : {CodecCase{Scheme::kXor, 3, 1}, CodecCase{Scheme::kRs, 4, 2}}) {
    ErasureCodec codec(c.scheme, c.d, c.p);
    const int total = c.d + c.p;
    std::vector<Buffer> bufs;
    std::vector<uint8_t*> ptrs;
    for (int i = 0; i < total; ++i) bufs.emplace_back(64, 0);
    for (auto& b : bufs) ptrs.push_back(b.data());
    std::vector<int> too_many;
    for (int i = 0; i <= c.p; ++i) too_many.push_back(i);
    EXPECT_EQ(codec.Decode(ptrs, too_many, 64).code(), Code::kInvalidArgument);
    EXPECT_EQ(codec.Decode(ptrs, {total}, 64).code(), Code::kInvalidArgument);
    EXPECT_EQ(codec.Decode(ptrs, {-1}, 64).code(), Code::kInvalidArgument);
    if (c.p >= 2) {
      EXPECT_EQ(codec.Decode(ptrs, {1, 1}, 64).code(), Code::kInvalidArgument);
    }
    std::vector<uint8_t*> short_ptrs(ptrs.begin(), ptrs.end() - 1);
    EXPECT_EQ(codec.Decode(short_ptrs, {0}, 64).code(), Code::kInvalidArgument);
    std::vector<uint8_t*> null_ptrs = ptrs;
    null_ptrs[1] = nullptr;
    EXPECT_EQ(codec.Decode(null_ptrs, {0}, 64).code(), Code::kInvalidArgument);
    EXPECT_TRUE(codec.Decode(ptrs, {}, 64).ok());
    EXPECT_TRUE(codec.Decode(ptrs, {0}, 0).ok());
  }
}

// ---------------------------------------------------------------- end to end

// n members with different data sizes: encode every stripe into per-member parity, lose any
// k members (data and parity), rebuild both from the survivors and compare.
void EndToEnd(Scheme scheme, int n, int k, uint64_t seed) {
  SCOPED_TRACE(std::string(SchemeName(scheme)) + " n=" + std::to_string(n) +
               " k=" + std::to_string(k));
  std::mt19937_64 rng(seed);
  std::vector<size_t> sizes(static_cast<size_t>(n));
  for (auto& s : sizes) s = rng() % 20000;
  sizes[1] = 0;  // one member without data
  const size_t len = *std::max_element(sizes.begin(), sizes.end());
  StripeLayout lay(n, k, len);
  ASSERT_TRUE(lay.ok());
  ErasureCodec codec(scheme, n - k, k);
  ASSERT_TRUE(codec.ok());
  const size_t chunk = lay.chunk();

  // Each member's data zero-padded to padded_len(); parity: k chunks.
  std::vector<std::vector<uint8_t>> data(static_cast<size_t>(n)), parity(static_cast<size_t>(n));
  for (int m = 0; m < n; ++m) {
    auto& d = data[static_cast<size_t>(m)];
    d.assign(lay.padded_len(), 0);
    for (size_t i = 0; i < sizes[static_cast<size_t>(m)]; ++i) d[i] = static_cast<uint8_t>(rng());
    parity[static_cast<size_t>(m)].assign(lay.parity_len(), 0);
  }
  // Member m's chunk in stripe s: a parity chunk or one of its data chunks.
  auto chunk_ptr = [&](int s, int m) -> uint8_t* {
    const int j = lay.ParityIndex(s, m);
    if (j >= 0) return parity[static_cast<size_t>(m)].data() + static_cast<size_t>(j) * chunk;
    return data[static_cast<size_t>(m)].data() +
           static_cast<size_t>(lay.DataChunkIndex(s, m)) * chunk;
  };
  for (int s = 0; s < n; ++s) {
    std::vector<const uint8_t*> d;
    for (int m : lay.DataMembers(s)) d.push_back(chunk_ptr(s, m));
    std::vector<uint8_t*> p;
    for (int j = 0; j < k; ++j) p.push_back(chunk_ptr(s, lay.ParityHolder(s, j)));
    codec.Encode(d, p, chunk);
  }
  const auto data0 = data;
  const auto parity0 = parity;

  int cases = 0;
  ForEachSubset(n, k, [&](const std::vector<int>& lost) {
    std::vector<bool> lost_mask(static_cast<size_t>(n), false);
    for (int m : lost) {
      lost_mask[static_cast<size_t>(m)] = true;
      std::fill(data[static_cast<size_t>(m)].begin(), data[static_cast<size_t>(m)].end(), 0xEE);
      std::fill(parity[static_cast<size_t>(m)].begin(), parity[static_cast<size_t>(m)].end(), 0xEE);
    }
    ASSERT_TRUE(lay.Recoverable(lost_mask, lost_mask));
    for (int s = 0; s < n; ++s) {
      std::vector<uint8_t*> shards(static_cast<size_t>(n));
      std::vector<int> erased;
      for (int sh = 0; sh < n; ++sh) {
        const int m = lay.ShardMember(s, sh);
        shards[static_cast<size_t>(sh)] = chunk_ptr(s, m);
        if (lost_mask[static_cast<size_t>(m)]) erased.push_back(sh);
      }
      Status st = codec.Decode(shards, erased, chunk);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    for (int m = 0; m < n; ++m) {
      ASSERT_EQ(data[static_cast<size_t>(m)], data0[static_cast<size_t>(m)]) << "member " << m;
      ASSERT_EQ(parity[static_cast<size_t>(m)], parity0[static_cast<size_t>(m)]) << "member " << m;
    }
    ++cases;
  });
  EXPECT_GT(cases, 0);
}

TEST(ErasureCodec, EndToEndXor) {
  EndToEnd(Scheme::kXor, 2, 1, 11);
  EndToEnd(Scheme::kXor, 4, 1, 12);
  EndToEnd(Scheme::kXor, 8, 1, 13);
}

TEST(ErasureCodec, EndToEndRs) {
  EndToEnd(Scheme::kRs, 4, 1, 21);
  EndToEnd(Scheme::kRs, 8, 2, 22);
  EndToEnd(Scheme::kRs, 8, 3, 23);
  EndToEnd(Scheme::kRs, 16, 2, 24);
  EndToEnd(Scheme::kRs, 5, 4, 25);
}

}  // namespace
}  // namespace cairn::redundancy
