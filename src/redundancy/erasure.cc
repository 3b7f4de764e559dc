#include "redundancy/erasure.h"

#include <isa-l/erasure_code.h>
#include <isa-l/raid.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace cairn::redundancy {

const char* SchemeName(Scheme s) {
  switch (s) {
    case Scheme::kXor:
      return "xor";
    case Scheme::kRs:
      return "rs";
  }
  return "unknown";
}

// ---------------------------------------------------------------- StripeLayout

Status StripeLayout::Check(int n, int k) {
  if (n < 2 || n > kMaxSetSize)
    return Status::InvalidArgument("redundancy set size " + std::to_string(n) + " not in 2.." +
                                   std::to_string(kMaxSetSize));
  if (k < 1 || k > n - 1)
    return Status::InvalidArgument("parity count " + std::to_string(k) + " not in 1.." +
                                   std::to_string(n - 1) + " for a set of " + std::to_string(n));
  return Status::Ok();
}

StripeLayout::StripeLayout(int n, int k, uint64_t len) : status_(Check(n, k)) {
  if (!status_.ok()) return;
  n_ = n;
  k_ = k;
  len_ = len;
  const uint64_t d = static_cast<uint64_t>(n - k);
  chunk_ = len / d + (len % d != 0 ? 1 : 0);
}

int StripeLayout::ParityHolder(int s, int j) const {
  if (!ValidStripe(s) || j < 0 || j >= k_) return -1;
  return (s + j) % n_;
}

int StripeLayout::ParityIndex(int s, int m) const {
  if (!ValidStripe(s) || !ValidMember(m)) return -1;
  const int j = (m - s + n_) % n_;
  return j < k_ ? j : -1;
}

// Member m holds parity of the cyclic stripe interval [m-k+1, m]; its data stripes are the
// others, in increasing order. Without wrap-around (m >= k-1) they are 0..m-k and m+1..n-1;
// with it, m+1..m+n-k.
int StripeLayout::DataChunkIndex(int s, int m) const {
  if (ParityIndex(s, m) != -1 || !ValidStripe(s) || !ValidMember(m)) return -1;
  if (m >= k_ - 1) return s <= m - k_ ? s : s - k_;
  return s - (m + 1);
}

int StripeLayout::DataStripe(int m, int c) const {
  if (!ValidMember(m) || c < 0 || c >= n_ - k_) return -1;
  if (m >= k_ - 1) return c <= m - k_ ? c : c + k_;
  return m + 1 + c;
}

std::vector<int> StripeLayout::DataMembers(int s) const {
  std::vector<int> v;
  if (!ValidStripe(s)) return v;
  v.reserve(static_cast<size_t>(n_ - k_));
  for (int m = 0; m < n_; ++m)
    if (ParityIndex(s, m) == -1) v.push_back(m);
  return v;
}

std::vector<int> StripeLayout::DataStripes(int m) const {
  std::vector<int> v;
  if (!ValidMember(m)) return v;
  v.reserve(static_cast<size_t>(n_ - k_));
  for (int c = 0; c < n_ - k_; ++c) v.push_back(DataStripe(m, c));
  return v;
}

std::vector<int> StripeLayout::ParityStripes(int m) const {
  std::vector<int> v;
  if (!ValidMember(m)) return v;
  v.reserve(static_cast<size_t>(k_));
  for (int j = 0; j < k_; ++j) v.push_back((m - j + n_) % n_);
  return v;
}

// Stripe s's parity holders are the cyclic member interval [s, s+k-1]; its data members
// are 0..s-1 and s+k..n-1 without wrap-around (s+k <= n), else s+k-n..s-1.
int StripeLayout::ShardIndex(int s, int m) const {
  const int j = ParityIndex(s, m);
  if (!ValidStripe(s) || !ValidMember(m)) return -1;
  if (j >= 0) return n_ - k_ + j;
  if (s + k_ <= n_) return m < s ? m : m - k_;
  return m - (s + k_ - n_);
}

int StripeLayout::ShardMember(int s, int shard) const {
  if (!ValidStripe(s) || shard < 0 || shard >= n_) return -1;
  if (shard >= n_ - k_) return (s + shard - (n_ - k_)) % n_;
  if (s + k_ <= n_) return shard < s ? shard : shard + k_;
  return shard + (s + k_ - n_);
}

bool StripeLayout::Recoverable(const std::vector<bool>& data_lost,
                               const std::vector<bool>& parity_lost) const {
  if (!ok()) return false;
  const size_t n = static_cast<size_t>(n_);
  if (data_lost.size() != n || parity_lost.size() != n) return false;
  for (int s = 0; s < n_; ++s) {
    int erased = 0;
    for (int m = 0; m < n_; ++m) {
      const bool lost = ParityIndex(s, m) >= 0 ? parity_lost[static_cast<size_t>(m)]
                                               : data_lost[static_cast<size_t>(m)];
      if (lost) ++erased;
    }
    if (erased > k_) return false;
  }
  return true;
}

// ---------------------------------------------------------------- kernels

namespace {

// ISA-L takes int lengths: larger buffers are processed in blocks of this many bytes (a
// multiple of 128, so block starts keep the buffers' alignment).
constexpr size_t kMaxBlock = size_t{1} << 30;
// xor_gen (AVX version) needs 32-byte aligned pointers; its fast path handles multiples of
// 128 bytes. The rest (< 128 bytes) is done here.
constexpr size_t kXorAlign = 32;
constexpr size_t kXorBulk = 128;
constexpr int kMaxShards = 256;

bool Aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kXorAlign == 0; }

// dst[i] = src[0][i] ^ ... ^ src[nsrc-1][i] for i in [from, len); unaligned loads/stores.
void XorPortable(const uint8_t* const* src, int nsrc, uint8_t* dst, size_t from, size_t len) {
  size_t i = from;
#if defined(__SSE2__)
  for (; i + 64 <= len; i += 64) {
    auto load = [&](int s, size_t o) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[s] + i + o));
    };
    __m128i a0 = load(0, 0), a1 = load(0, 16), a2 = load(0, 32), a3 = load(0, 48);
    for (int s = 1; s < nsrc; ++s) {
      a0 = _mm_xor_si128(a0, load(s, 0));
      a1 = _mm_xor_si128(a1, load(s, 16));
      a2 = _mm_xor_si128(a2, load(s, 32));
      a3 = _mm_xor_si128(a3, load(s, 48));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), a0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 16), a1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 32), a2);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 48), a3);
  }
#endif
  for (; i + 8 <= len; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, src[0] + i, 8);
    for (int s = 1; s < nsrc; ++s) {
      std::memcpy(&b, src[s] + i, 8);
      a ^= b;
    }
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < len; ++i) {
    uint8_t a = src[0][i];
    for (int s = 1; s < nsrc; ++s) a ^= src[s][i];
    dst[i] = a;
  }
}

// dst = XOR of the nsrc (1..kMaxShards-1) sources, len bytes; dst overlaps no source.
void XorBuffers(const uint8_t* const* src, int nsrc, uint8_t* dst, size_t len) {
  if (len == 0) return;
  if (nsrc == 1) {
    std::memcpy(dst, src[0], len);
    return;
  }
  bool aligned = Aligned(dst);
  for (int s = 0; s < nsrc && aligned; ++s) aligned = Aligned(src[s]);
  if (!aligned) {
    XorPortable(src, nsrc, dst, 0, len);
    return;
  }
  // xor_gen: sources first, the destination last; at least 2 sources.
  std::array<void*, kMaxShards> array;
  const size_t bulk = len - len % kXorBulk;
  for (size_t off = 0; off < bulk; off += kMaxBlock) {
    const size_t n = std::min(kMaxBlock, bulk - off);
    for (int s = 0; s < nsrc; ++s)
      array[static_cast<size_t>(s)] = const_cast<uint8_t*>(src[s] + off);
    array[static_cast<size_t>(nsrc)] = dst + off;
    if (xor_gen(nsrc + 1, static_cast<int>(n), array.data()) != 0) {
      XorPortable(src, nsrc, dst, off, off + n);  // not expected; stay correct regardless
    }
  }
#if defined(__SSE2__)
  _mm_sfence();  // xor_gen may use non-temporal stores: order them before later stores
#endif
  XorPortable(src, nsrc, dst, bulk, len);
}

// out[r] = sum over sources i of coefficient[r][i] * in[i] (GF(2^8)) for `rows` outputs,
// with tables from ec_init_tables(nin, rows, coefficients).
void EcEncode(const uint8_t* tables, int nin, int rows, const uint8_t* const* in,
              uint8_t* const* out, size_t len) {
  std::array<unsigned char*, kMaxShards> src;
  std::array<unsigned char*, kMaxShards> dst;
  for (size_t off = 0; off < len; off += kMaxBlock) {
    const size_t n = std::min(kMaxBlock, len - off);
    for (int i = 0; i < nin; ++i) src[static_cast<size_t>(i)] = const_cast<uint8_t*>(in[i] + off);
    for (int r = 0; r < rows; ++r) dst[static_cast<size_t>(r)] = out[r] + off;
    ec_encode_data(static_cast<int>(n), nin, rows, const_cast<uint8_t*>(tables), src.data(),
                   dst.data());
  }
}

}  // namespace

// ---------------------------------------------------------------- ErasureCodec

ErasureCodec::ErasureCodec(Scheme s, int data_shards, int parity_shards)
    : scheme_(s), data_(data_shards), parity_(parity_shards) {
  const std::string what = std::string(SchemeName(s)) + " codec with " +
                           std::to_string(data_shards) + " data and " +
                           std::to_string(parity_shards) + " parity shards";
  if (s == Scheme::kXor) {
    if (parity_shards != 1 || data_shards < 1 || data_shards > kMaxXorShards - 1)
      status_ = Status::InvalidArgument(what + ": XOR needs exactly 1 parity and 1.." +
                                        std::to_string(kMaxXorShards - 1) + " data shards");
    return;
  }
  if (s != Scheme::kRs) {
    status_ = Status::InvalidArgument(what + ": unknown scheme");
    return;
  }
  if (data_shards < 1 || parity_shards < 1 || data_shards > kMaxRsShards - parity_shards) {
    status_ = Status::InvalidArgument(what + ": RS needs >= 1 data, >= 1 parity and at most " +
                                      std::to_string(kMaxRsShards) + " shards in all");
    return;
  }
  const int m = data_shards + parity_shards;
  matrix_.resize(static_cast<size_t>(m) * static_cast<size_t>(data_shards));
  gf_gen_cauchy1_matrix(matrix_.data(), m, data_shards);
  encode_tables_.resize(32 * static_cast<size_t>(data_shards) * static_cast<size_t>(parity_shards));
  ec_init_tables(
      data_shards, parity_shards,
      matrix_.data() + static_cast<size_t>(data_shards) * static_cast<size_t>(data_shards),
      encode_tables_.data());
}

void ErasureCodec::Encode(const std::vector<const uint8_t*>& data,
                          const std::vector<uint8_t*>& parity, size_t len) const {
  if (!ok() || data.size() != static_cast<size_t>(data_) ||
      parity.size() != static_cast<size_t>(parity_) || len == 0)
    return;
  for (const uint8_t* p : data)
    if (p == nullptr) return;
  for (const uint8_t* p : parity)
    if (p == nullptr) return;
  if (scheme_ == Scheme::kXor) {
    XorBuffers(data.data(), data_, parity[0], len);
  } else {
    EcEncode(encode_tables_.data(), data_, parity_, data.data(), parity.data(), len);
  }
}

Status ErasureCodec::Decode(const std::vector<uint8_t*>& shards, const std::vector<int>& erased,
                            size_t len) const {
  if (!ok()) return status_;
  const int total = data_ + parity_;
  const std::string what = std::string(SchemeName(scheme_)) + "(" + std::to_string(data_) + "+" +
                           std::to_string(parity_) + ") decode";
  if (shards.size() != static_cast<size_t>(total))
    return Status::InvalidArgument(what + ": " + std::to_string(shards.size()) +
                                   " shards given, expected " + std::to_string(total));
  if (erased.size() > static_cast<size_t>(parity_))
    return Status::InvalidArgument(what + ": " + std::to_string(erased.size()) +
                                   " erased shards, at most " + std::to_string(parity_) +
                                   " can be rebuilt");
  std::vector<bool> is_erased(static_cast<size_t>(total), false);
  for (int e : erased) {
    if (e < 0 || e >= total)
      return Status::InvalidArgument(what + ": erased shard index " + std::to_string(e) +
                                     " out of range");
    if (is_erased[static_cast<size_t>(e)])
      return Status::InvalidArgument(what + ": erased shard " + std::to_string(e) +
                                     " listed twice");
    is_erased[static_cast<size_t>(e)] = true;
  }
  for (int i = 0; i < total; ++i)
    if (shards[static_cast<size_t>(i)] == nullptr)
      return Status::InvalidArgument(what + ": shard " + std::to_string(i) + " is null");
  if (erased.empty() || len == 0) return Status::Ok();

  if (scheme_ == Scheme::kXor) {
    // The erased shard is the XOR of all the others.
    std::array<const uint8_t*, kMaxShards> src;
    int nsrc = 0;
    for (int i = 0; i < total; ++i)
      if (!is_erased[static_cast<size_t>(i)])
        src[static_cast<size_t>(nsrc++)] = shards[static_cast<size_t>(i)];
    XorBuffers(src.data(), nsrc, shards[static_cast<size_t>(erased[0])], len);
    return Status::Ok();
  }

  // RS. Erased data shards E (e of them) are solved from e surviving parity rows P:
  //   sum_{i in E} C[p][i] d_i = par_p + sum_{i not in E} C[p][i] d_i   (p in P)
  // so with M = C[P][E] (square Cauchy submatrix, invertible) and Minv = M^-1:
  //   d_E = Minv * par_P + (Minv * C[P][notE]) * d_notE.
  // This gives the same rows as inverting the full matrix of d surviving rows, at O(e^3)
  // instead of O(d^3). Erased parity is then re-encoded from the (now complete) data.
  const size_t d = static_cast<size_t>(data_);
  auto coef = [&](int p, int i) {  // C[p][i]: parity row p, data column i
    return matrix_[(d + static_cast<size_t>(p)) * d + static_cast<size_t>(i)];
  };
  std::vector<int> lost_data, kept_data, lost_parity, kept_parity;
  for (int i = 0; i < data_; ++i)
    (is_erased[static_cast<size_t>(i)] ? lost_data : kept_data).push_back(i);
  for (int p = 0; p < parity_; ++p)
    (is_erased[d + static_cast<size_t>(p)] ? lost_parity : kept_parity).push_back(p);

  if (!lost_data.empty()) {
    const size_t e = lost_data.size();  // <= kept_parity.size() since |erased| <= parity
    std::vector<uint8_t> sub(e * e), inv(e * e);
    for (size_t r = 0; r < e; ++r)
      for (size_t c = 0; c < e; ++c) sub[r * e + c] = coef(kept_parity[r], lost_data[c]);
    if (gf_invert_matrix(sub.data(), inv.data(), static_cast<int>(e)) != 0)
      return Status::Internal(what + ": singular decode matrix");
    // Sources: the kept data shards, then parity rows P; one output row per lost shard.
    std::vector<uint8_t> dec(e * d, 0);
    std::array<const uint8_t*, kMaxShards> src;
    std::array<uint8_t*, kMaxShards> dst;
    size_t nsrc = 0;
    for (int i : kept_data) {
      for (size_t r = 0; r < e; ++r) {
        uint8_t v = 0;
        for (size_t t = 0; t < e; ++t) v ^= gf_mul(inv[r * e + t], coef(kept_parity[t], i));
        dec[r * d + nsrc] = v;
      }
      src[nsrc++] = shards[static_cast<size_t>(i)];
    }
    for (size_t t = 0; t < e; ++t) {
      for (size_t r = 0; r < e; ++r) dec[r * d + nsrc] = inv[r * e + t];
      src[nsrc++] = shards[d + static_cast<size_t>(kept_parity[t])];
    }
    for (size_t r = 0; r < e; ++r) dst[r] = shards[static_cast<size_t>(lost_data[r])];
    std::vector<uint8_t> tables(32 * d * e);
    ec_init_tables(data_, static_cast<int>(e), dec.data(), tables.data());
    EcEncode(tables.data(), data_, static_cast<int>(e), src.data(), dst.data(), len);
  }
  if (!lost_parity.empty()) {
    const size_t f = lost_parity.size();
    std::vector<uint8_t> rows(f * d);
    std::array<uint8_t*, kMaxShards> dst;
    for (size_t r = 0; r < f; ++r) {
      std::memcpy(&rows[r * d], &matrix_[(d + static_cast<size_t>(lost_parity[r])) * d], d);
      dst[r] = shards[d + static_cast<size_t>(lost_parity[r])];
    }
    std::vector<uint8_t> tables(32 * d * f);
    ec_init_tables(data_, static_cast<int>(f), rows.data(), tables.data());
    EcEncode(tables.data(), data_, static_cast<int>(f), shards.data(), dst.data(), len);
  }
  return Status::Ok();
}

}  // namespace cairn::redundancy
