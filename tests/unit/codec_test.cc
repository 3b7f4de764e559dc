#include "format/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace cairn::format {
namespace {

constexpr size_t kBlock = size_t{1} << 20;  // the default block size

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// A smooth float64 field (compressible after a shuffle), as bytes; n need not be a
// multiple of 8.
std::vector<uint8_t> SmoothBytes(size_t n) {
  std::vector<double> f(n / 8 + 1);
  for (size_t i = 0; i < f.size(); ++i) {
    double x = static_cast<double>(i % 1024) / 1024.0, y = static_cast<double>(i / 1024) / 512.0;
    f[i] = 300.0 + 20.0 * std::sin(3.0 * x) * std::cos(2.0 * y) + 5.0 * std::exp(-4.0 * x * y);
  }
  std::vector<uint8_t> v(n);
  if (n > 0) std::memcpy(v.data(), f.data(), n);
  return v;
}

std::vector<uint8_t> ReferenceShuffle(const std::vector<uint8_t>& a) {
  const size_t n = a.size(), m = n / 8;
  std::vector<uint8_t> r(n);
  for (size_t i = 0; i < m; ++i)
    for (size_t k = 0; k < 8; ++k) r[k * m + i] = a[8 * i + k];
  for (size_t j = 8 * m; j < n; ++j) r[j] = a[j];
  return r;
}

struct Block {
  size_t offset;  // of the header in the encoded bytes
  uint32_t raw, stored;
};

// Parses the block headers of a (valid) encoded string.
std::vector<Block> Blocks(const std::string& enc) {
  std::vector<Block> out;
  for (size_t r = 0; r + 8 <= enc.size();) {
    Block b{r, 0, 0};
    std::memcpy(&b.raw, enc.data() + r, 4);
    std::memcpy(&b.stored, enc.data() + r + 4, 4);
    out.push_back(b);
    r += 8 + b.stored;
  }
  return out;
}

Status DecodeInto(const EncodeOptions& o, const std::string& enc, size_t raw_size,
                  std::vector<uint8_t>* dst, int threads = 1) {
  dst->assign(raw_size, 0xcd);
  return Decode(o.codec, o.filter, enc.data(), enc.size(), dst->data(), raw_size, threads);
}

// ---------------------------------------------------------------- shuffle

TEST(ShuffleTest, MatchesReferenceAndRoundTripsForEveryTail) {
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 300; ++n) sizes.push_back(n);  // every n % 8, around 16-element steps
  for (size_t r = 0; r < 8; ++r) sizes.push_back(kBlock + r);
  for (size_t r = 0; r < 8; ++r) sizes.push_back(12345 * 8 + r);
  for (size_t n : sizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    auto a = RandomBytes(n, n);
    std::vector<uint8_t> s(n, 0xaa), u(n, 0x55);
    Shuffle8(a.data(), s.data(), n);
    ASSERT_EQ(s, ReferenceShuffle(a));
    Unshuffle8(s.data(), u.data(), n);
    ASSERT_EQ(u, a);
  }
}

TEST(ShuffleTest, UnalignedPointers) {
  const size_t n = 4099;
  auto a = RandomBytes(n + 3, 7);
  std::vector<uint8_t> s(n + 5), u(n + 1);
  Shuffle8(a.data() + 3, s.data() + 5, n);
  Unshuffle8(s.data() + 5, u.data() + 1, n);
  EXPECT_EQ(0, std::memcmp(u.data() + 1, a.data() + 3, n));
}

TEST(ShuffleTest, GroupsBytesOfEachElement) {
  std::vector<uint64_t> v = {0x0706050403020100ull, 0x1716151413121110ull};
  uint8_t out[16];
  Shuffle8(v.data(), out, sizeof(out));
  const uint8_t want[16] = {0x00, 0x10, 0x01, 0x11, 0x02, 0x12, 0x03, 0x13,
                            0x04, 0x14, 0x05, 0x15, 0x06, 0x16, 0x07, 0x17};
  EXPECT_EQ(0, std::memcmp(out, want, 16));
}

// ---------------------------------------------------------------- round trips

using RoundTripParam = std::tuple<Codec, Filter, int>;

class CodecRoundTripTest : public ::testing::TestWithParam<RoundTripParam> {};

TEST_P(CodecRoundTripTest, AllSizes) {
  EncodeOptions o;
  std::tie(o.codec, o.filter, o.threads) = GetParam();
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, kBlock - 1, kBlock, kBlock * 7 / 2}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    for (int kind = 0; kind < 2; ++kind) {
      SCOPED_TRACE(kind == 0 ? "smooth" : "random");
      auto a = kind == 0 ? SmoothBytes(n) : RandomBytes(n, 42 + n);
      std::string enc = "stale";
      ASSERT_TRUE(Encode(o, a.data(), n, &enc).ok());
      EXPECT_LE(enc.size(), MaxEncodedSize(o, n));
      if (o.codec == Codec::kNone && o.filter == Filter::kNone) {
        EXPECT_EQ(enc, std::string(a.begin(), a.end()));
      } else {
        size_t blocks = 0;
        for (const Block& b : Blocks(enc)) {
          EXPECT_EQ(b.raw, std::min(kBlock, n - blocks * kBlock));
          ++blocks;
        }
        EXPECT_EQ(blocks, (n + kBlock - 1) / kBlock);
      }
      for (int dthreads : {1, 2}) {
        std::vector<uint8_t> back;
        Status st = DecodeInto(o, enc, n, &back, dthreads);
        ASSERT_TRUE(st.ok()) << st.ToString();
        ASSERT_EQ(back, a);
      }
    }
  }
}

TEST_P(CodecRoundTripTest, OddBlockSizeAndMoreThreadsThanBlocks) {
  EncodeOptions o;
  std::tie(o.codec, o.filter, o.threads) = GetParam();
  o.block_size = 1001;  // not a multiple of 8: every block has a shuffle tail
  o.threads *= 4;
  for (size_t n : {size_t{1000}, size_t{1001}, size_t{1002}, size_t{5 * 1001 + 3}, size_t{65536}}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    auto a = SmoothBytes(n);
    std::string enc;
    ASSERT_TRUE(Encode(o, a.data(), n, &enc).ok());
    std::vector<uint8_t> back;
    ASSERT_TRUE(DecodeInto(o, enc, n, &back, 3).ok());
    EXPECT_EQ(back, a);
  }
}

std::string ParamName(const ::testing::TestParamInfo<RoundTripParam>& p) {
  auto [c, f, t] = p.param;
  return std::string(CodecName(c)) + (f == Filter::kShuffle8 ? "_shuffle" : "_plain") + "_t" +
         std::to_string(t);
}

INSTANTIATE_TEST_SUITE_P(Codec, CodecRoundTripTest,
                         ::testing::Combine(::testing::Values(Codec::kNone, Codec::kZstd,
                                                              Codec::kLz4),
                                            ::testing::Values(Filter::kNone, Filter::kShuffle8),
                                            ::testing::Values(1, 2)),
                         ParamName);

// ---------------------------------------------------------------- sizes

TEST(CodecTest, IncompressibleDataIsStoredRaw) {
  const size_t n = kBlock * 7 / 2;
  auto a = RandomBytes(n, 3);
  for (Codec c : {Codec::kNone, Codec::kZstd, Codec::kLz4}) {
    for (Filter f : {Filter::kNone, Filter::kShuffle8}) {
      if (c == Codec::kNone && f == Filter::kNone) continue;
      for (int threads : {1, 2}) {
        SCOPED_TRACE(std::string(CodecName(c)) + " filter " + std::to_string(static_cast<int>(f)) +
                     " threads " + std::to_string(threads));
        EncodeOptions o{c, f, 1, threads};
        std::string enc;
        ASSERT_TRUE(Encode(o, a.data(), n, &enc).ok());
        EXPECT_EQ(enc.size(), n + 8 * 4);  // 4 blocks, each stored raw
        EXPECT_EQ(enc.size(), MaxEncodedSize(o, n));
        for (const Block& b : Blocks(enc)) EXPECT_EQ(b.stored, b.raw);
        // Payload = the filtered bytes.
        std::vector<uint8_t> first(enc.begin() + 8, enc.begin() + 8 + kBlock);
        std::vector<uint8_t> block0(a.begin(), a.begin() + kBlock);
        EXPECT_EQ(first, f == Filter::kShuffle8 ? ReferenceShuffle(block0) : block0);
      }
    }
  }
}

TEST(CodecTest, CompressibleDataShrinks) {
  const size_t n = kBlock * 4;
  auto smooth = SmoothBytes(n);
  std::vector<uint8_t> zeros(n, 0);
  for (Codec c : {Codec::kZstd, Codec::kLz4}) {
    SCOPED_TRACE(CodecName(c));
    std::string plain, shuffled, z;
    ASSERT_TRUE(Encode({c, Filter::kNone}, smooth.data(), n, &plain).ok());
    ASSERT_TRUE(Encode({c, Filter::kShuffle8}, smooth.data(), n, &shuffled).ok());
    ASSERT_TRUE(Encode({c, Filter::kNone}, zeros.data(), n, &z).ok());
    EXPECT_LT(shuffled.size(), n * 3 / 4);
    EXPECT_LT(shuffled.size(), plain.size());  // the point of the filter
    EXPECT_LT(z.size(), n / 100);
    for (const Block& b : Blocks(shuffled)) EXPECT_LT(b.stored, b.raw);
  }
  // Levels: zstd 19 (clamped from 99) is no larger than zstd 1; levels outside the range
  // are clamped, not rejected.
  std::string l1, l99, l0;
  ASSERT_TRUE(Encode({Codec::kZstd, Filter::kShuffle8, 1}, smooth.data(), n, &l1).ok());
  ASSERT_TRUE(Encode({Codec::kZstd, Filter::kShuffle8, 99}, smooth.data(), n, &l99).ok());
  ASSERT_TRUE(Encode({Codec::kZstd, Filter::kShuffle8, -5}, smooth.data(), n, &l0).ok());
  EXPECT_LE(l99.size(), l1.size());
  EXPECT_EQ(l0, l1);
}

TEST(CodecTest, ParallelEncodingMatchesSerial) {
  const size_t n = kBlock * 7 / 2;
  auto a = SmoothBytes(n);
  for (Codec c : {Codec::kZstd, Codec::kLz4}) {
    std::string one, two;
    ASSERT_TRUE(Encode({c, Filter::kShuffle8, 1, 1}, a.data(), n, &one).ok());
    ASSERT_TRUE(Encode({c, Filter::kShuffle8, 1, 2}, a.data(), n, &two).ok());
    EXPECT_EQ(one, two) << CodecName(c);
  }
}

TEST(CodecTest, InvalidOptions) {
  uint8_t buf[16] = {};
  std::string out;
  EncodeOptions o{Codec::kZstd};
  o.threads = 0;
  EXPECT_EQ(Encode(o, buf, sizeof(buf), &out).code(), Code::kInvalidArgument);
  o = {Codec::kZstd};
  o.block_size = 0;
  EXPECT_EQ(Encode(o, buf, sizeof(buf), &out).code(), Code::kInvalidArgument);
  o.block_size = kMaxCodecBlockSize + 1;
  EXPECT_EQ(Encode(o, buf, sizeof(buf), &out).code(), Code::kInvalidArgument);
  o = {static_cast<Codec>(9)};
  EXPECT_EQ(Encode(o, buf, sizeof(buf), &out).code(), Code::kInvalidArgument);
  o = {Codec::kLz4, static_cast<Filter>(9)};
  EXPECT_EQ(Encode(o, buf, sizeof(buf), &out).code(), Code::kInvalidArgument);
  uint8_t dst[16];
  EXPECT_EQ(Decode(static_cast<Codec>(9), Filter::kNone, buf, 16, dst, 16).code(),
            Code::kCorruption);
  EXPECT_EQ(Decode(Codec::kZstd, static_cast<Filter>(9), buf, 16, dst, 16).code(),
            Code::kCorruption);
}

// ---------------------------------------------------------------- corruption

TEST(CodecTest, RawSizeMismatchIsCorruption) {
  const size_t n = 3 * 4096 + 100;
  auto a = SmoothBytes(n);
  for (Codec c : {Codec::kNone, Codec::kZstd, Codec::kLz4}) {
    for (Filter f : {Filter::kNone, Filter::kShuffle8}) {
      EncodeOptions o{c, f};
      o.block_size = 4096;
      std::string enc;
      ASSERT_TRUE(Encode(o, a.data(), n, &enc).ok());
      std::vector<uint8_t> back;
      for (size_t raw : {size_t{0}, n - 1, n + 1, n + 4096}) {
        Status st = DecodeInto(o, enc, raw, &back);
        EXPECT_EQ(st.code(), Code::kCorruption) << CodecName(c) << " raw " << raw;
      }
    }
  }
}

// Every Decode of damaged input either fails with kCorruption or (when a payload byte of a
// codec without a checksum changed) succeeds with other bytes: the entry hash catches those.
void ExpectCorruptionOrOk(const Status& st) {
  EXPECT_TRUE(st.ok() || st.code() == Code::kCorruption) << st.ToString();
}

class CodecCorruptionTest : public ::testing::TestWithParam<std::tuple<Codec, Filter>> {
 protected:
  void SetUp() override {
    std::tie(o_.codec, o_.filter) = GetParam();
    o_.block_size = 4096;
    // Mixed blocks: smooth (compressed) and random (stored raw).
    a_ = SmoothBytes(n_);
    auto r = RandomBytes(4096, 9);
    std::memcpy(a_.data() + 2 * 4096, r.data(), 4096);
    ASSERT_TRUE(Encode(o_, a_.data(), n_, &enc_).ok());
    blocks_ = Blocks(enc_);
    ASSERT_EQ(blocks_.size(), 6u);
  }

  const size_t n_ = 5 * 4096 + 1000;
  EncodeOptions o_;
  std::vector<uint8_t> a_;
  std::string enc_;
  std::vector<Block> blocks_;
};

TEST_P(CodecCorruptionTest, TruncationIsCorruption) {
  std::vector<uint8_t> back;
  // At every byte (covers every header boundary and every point inside headers and payloads).
  for (size_t len = 0; len < enc_.size(); ++len) {
    Status st = DecodeInto(o_, enc_.substr(0, len), n_, &back);
    ASSERT_EQ(st.code(), Code::kCorruption) << "length " << len;
  }
  // Trailing garbage too.
  for (size_t extra : {1, 7, 8, 100}) {
    Status st = DecodeInto(o_, enc_ + std::string(extra, '\x01'), n_, &back);
    EXPECT_EQ(st.code(), Code::kCorruption) << "extra " << extra;
  }
}

TEST_P(CodecCorruptionTest, HeaderDamageIsCorruption) {
  std::vector<uint8_t> back;
  for (const Block& b : blocks_) {
    for (size_t i = 0; i < 8; ++i) {
      for (uint8_t x : {0x01, 0x80, 0xff}) {
        std::string bad = enc_;
        bad[b.offset + i] = static_cast<char>(bad[b.offset + i] ^ x);
        Status st = DecodeInto(o_, bad, n_, &back);
        EXPECT_EQ(st.code(), Code::kCorruption)
            << "block at " << b.offset << " byte " << i << " xor " << int{x};
      }
    }
  }
}

TEST_P(CodecCorruptionTest, PayloadDamageNeverCrashes) {
  std::vector<uint8_t> back;
  std::mt19937_64 rng(11);
  for (const Block& b : blocks_) {
    // Every payload byte of small blocks, else a sample.
    for (size_t i = 0; i < b.stored; i += b.stored < 512 ? 1 : 1 + rng() % 37) {
      std::string bad = enc_;
      bad[b.offset + 8 + i] = static_cast<char>(bad[b.offset + 8 + i] ^ 0xff);
      ExpectCorruptionOrOk(DecodeInto(o_, bad, n_, &back, 1 + static_cast<int>(i % 2)));
    }
  }
}

TEST_P(CodecCorruptionTest, RandomMutationsNeverCrash) {
  std::vector<uint8_t> back;
  std::mt19937_64 rng(static_cast<uint64_t>(o_.codec) * 10 + static_cast<uint64_t>(o_.filter));
  for (int iter = 0; iter < 1500; ++iter) {
    std::string bad = enc_;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bad.resize(rng() % bad.size());
    ExpectCorruptionOrOk(DecodeInto(o_, bad, n_, &back, 1 + iter % 2));
  }
  // Pure garbage, including headers that claim huge sizes.
  for (int iter = 0; iter < 500; ++iter) {
    auto g = RandomBytes(rng() % 300, rng());
    std::string bad(g.begin(), g.end());
    EXPECT_EQ(DecodeInto(o_, bad, n_, &back).code(), Code::kCorruption);
  }
  const uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(Decode(o_.codec, o_.filter, huge, 8, back.data(), back.size()).code(),
            Code::kCorruption);
}

std::string CorruptionParamName(const ::testing::TestParamInfo<std::tuple<Codec, Filter>>& p) {
  auto [c, f] = p.param;
  return std::string(CodecName(c)) + (f == Filter::kShuffle8 ? "_shuffle" : "_plain");
}

INSTANTIATE_TEST_SUITE_P(
    Codec, CodecCorruptionTest,
    // kNone + kNone is the identity (no blocks): RawSizeMismatchIsCorruption covers it.
    ::testing::Values(std::tuple(Codec::kNone, Filter::kShuffle8),
                      std::tuple(Codec::kZstd, Filter::kNone),
                      std::tuple(Codec::kZstd, Filter::kShuffle8),
                      std::tuple(Codec::kLz4, Filter::kNone),
                      std::tuple(Codec::kLz4, Filter::kShuffle8)),
    CorruptionParamName);

}  // namespace
}  // namespace cairn::format
