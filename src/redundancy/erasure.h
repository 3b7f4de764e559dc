// Erasure coding for cairn's L2 (node-loss) redundancy level: pure computation, no MPI and
// no file I/O. A redundancy *set* is n members (ranks on distinct nodes), each with up to
// `len` bytes of checkpoint data; the set survives the loss of any k members.
//
//   Scheme::kXor  k = 1, parity = XOR of the data (ISA-L xor_gen)
//   Scheme::kRs   k >= 1, systematic Reed-Solomon over GF(2^8) with a Cauchy encoding
//                 matrix (ISA-L gf_gen_cauchy1_matrix, ec_init_tables, ec_encode_data); any
//                 square submatrix of a Cauchy matrix is invertible, so every set of k
//                 erasures is decodable
//
// StripeLayout says which bytes of which member go into which stripe and where each stripe's
// parity lives (rotating, like RAID-5/6, so every member stores the same amount of
// redundancy data: k chunks). ErasureCodec encodes and decodes one stripe: n-k data shards
// plus k parity shards, all of the same length.
//
// Example (encode a set; members' data buffers hold padded_len() bytes, zero after their
// real size; parity[m] holds k * chunk() bytes):
//
//   StripeLayout lay(n, k, max_len);
//   ErasureCodec codec(scheme, n - k, k);
//   for (int s = 0; s < n; ++s) {
//     std::vector<const uint8_t*> d;
//     for (int m : lay.DataMembers(s)) d.push_back(data[m] + lay.DataChunkIndex(s, m) * chunk);
//     std::vector<uint8_t*> p;
//     for (int j = 0; j < k; ++j) {
//       int h = lay.ParityHolder(s, j);          // member h's parity chunk j is stripe s's row j
//       p.push_back(parity[h] + j * chunk);
//     }
//     codec.Encode(d, p, chunk);
//   }
//
// Nothing here throws, exits or aborts. Invalid construction arguments give an object whose
// status() is an error (every query then returns -1 / empty / false, Encode does nothing and
// Decode returns that error). All const methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace cairn::redundancy {

enum class Scheme { kXor, kRs };

// "xor" or "rs".
const char* SchemeName(Scheme s);

inline constexpr int kMaxSetSize = 256;    // members of a set (StripeLayout n)
inline constexpr int kMaxRsShards = 255;   // data + parity shards of one RS stripe
inline constexpr int kMaxXorShards = 256;  // data + parity shards of one XOR stripe

// The rotating stripe layout of a set of n members with k parity chunks per stripe.
//
// Each member's data, zero-padded to padded_len() = (n-k) * chunk() bytes, is cut into n-k
// chunks of chunk() = ceil(len / (n-k)) bytes. There are n stripes. Stripe s's k parity
// chunks are held by members ParityHolder(s, j) = (s + j) % n, j = 0..k-1 (parity row j of
// the codec); its data chunks come from the other n-k members, DataMembers(s) in increasing
// member order (data shard i of the codec is DataMembers(s)[i]). Member m's n-k data chunks
// go, in order, to the n-k stripes in which m holds no parity, in increasing stripe order.
// Member m's redundancy data is k chunks: chunk j is parity row j of stripe
// ParityStripes(m)[j] = (m - j) mod n, i.e. ParityIndex(ParityStripes(m)[j], m) == j.
//
// A stripe has exactly one shard per member (a data chunk or a parity chunk), so losing
// any <= k members erases <= k shards of every stripe: always recoverable.
class StripeLayout {
 public:
  // n: 2..kMaxSetSize members; k: 1..n-1 parity chunks per stripe; len: the largest
  // member's data size in bytes (0 is valid: chunk() is then 0).
  StripeLayout(int n, int k, uint64_t len);

  // InvalidArgument unless 2 <= n <= kMaxSetSize and 1 <= k <= n-1.
  static Status Check(int n, int k);

  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

  int n() const { return n_; }
  int k() const { return k_; }
  int data_per_stripe() const { return n_ - k_; }
  uint64_t len() const { return len_; }
  // Bytes of one chunk: ceil(len / (n-k)).
  uint64_t chunk() const { return chunk_; }
  // (n-k) * chunk(): a member's data buffer size including the zero padding.
  uint64_t padded_len() const { return chunk_ * static_cast<uint64_t>(n_ - k_); }
  // k * chunk(): a member's redundancy (parity) data size.
  uint64_t parity_len() const { return chunk_ * static_cast<uint64_t>(k_); }

  // The member holding parity row j (0..k-1) of stripe s: (s + j) % n; -1 if out of range.
  int ParityHolder(int s, int j) const;
  // j if member m holds parity row j of stripe s, else -1.
  int ParityIndex(int s, int m) const;
  // Which of member m's n-k data chunks belongs to stripe s; -1 if m is a parity holder of
  // s (or an argument is out of range).
  int DataChunkIndex(int s, int m) const;
  // The stripe of member m's data chunk c (0..n-k-1): the inverse of DataChunkIndex; -1 if
  // out of range.
  int DataStripe(int m, int c) const;
  // The n-k data members of stripe s, in increasing member order (the codec's data shards).
  std::vector<int> DataMembers(int s) const;
  // The n-k stripes that member m's data chunks 0..n-k-1 belong to (increasing order).
  std::vector<int> DataStripes(int m) const;
  // The k stripes whose parity member m holds, in the order of m's parity chunks.
  std::vector<int> ParityStripes(int m) const;
  // Member m's shard index in stripe s's codec array (data shards first, then parity):
  // its position in DataMembers(s), or (n-k) + ParityIndex(s, m). -1 if out of range.
  int ShardIndex(int s, int m) const;
  // The member behind shard `shard` (0..n-1) of stripe s: the inverse of ShardIndex.
  int ShardMember(int s, int shard) const;

  // True when every stripe has at most k erased shards, where a data chunk of member m is
  // erased if data_lost[m] and a parity chunk of m if parity_lost[m]. Both vectors must have
  // n entries (else false).
  bool Recoverable(const std::vector<bool>& data_lost, const std::vector<bool>& parity_lost) const;

 private:
  bool ValidStripe(int s) const { return ok() && s >= 0 && s < n_; }
  bool ValidMember(int m) const { return ok() && m >= 0 && m < n_; }

  int n_ = 0;
  int k_ = 0;
  uint64_t len_ = 0;
  uint64_t chunk_ = 0;
  Status status_;
};

// Encodes and decodes one stripe of data_shards data and parity_shards parity buffers.
class ErasureCodec {
 public:
  // kXor: parity_shards must be 1 and data_shards 1..kMaxXorShards-1.
  // kRs: data_shards >= 1, parity_shards >= 1, data_shards + parity_shards <= kMaxRsShards.
  // Otherwise status() is InvalidArgument.
  ErasureCodec(Scheme s, int data_shards, int parity_shards);

  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  Scheme scheme() const { return scheme_; }
  int data_shards() const { return data_; }
  int parity_shards() const { return parity_; }

  // Computes the parity_shards parity buffers (len bytes each) from the data_shards data
  // buffers (len bytes each). Parity buffers must not overlap the data. Any length and
  // alignment is accepted (32-byte aligned buffers take ISA-L's xor_gen for XOR). Does
  // nothing when !ok() or when the vector sizes do not match the codec (a programming
  // error) or a pointer is null.
  void Encode(const std::vector<const uint8_t*>& data, const std::vector<uint8_t*>& parity,
              size_t len) const;

  // Reconstructs the erased shards. `shards` holds data_shards + parity_shards pointers to
  // len-byte buffers, data first, then parity; `erased` lists the indices of the erased
  // shards (their buffers are outputs, the others inputs). Every erased shard, data or
  // parity, is rewritten. InvalidArgument when more than parity_shards shards are erased,
  // an index is out of range or repeated, the shard count is wrong or a pointer is null.
  Status Decode(const std::vector<uint8_t*>& shards, const std::vector<int>& erased,
                size_t len) const;

 private:
  Scheme scheme_;
  int data_ = 0;
  int parity_ = 0;
  Status status_;
  // RS: the (data+parity) x data systematic encoding matrix (top data rows = identity) and
  // ec_init_tables' expansion of its parity rows (32 * data * parity bytes).
  std::vector<uint8_t> matrix_;
  std::vector<uint8_t> encode_tables_;
};

}  // namespace cairn::redundancy
