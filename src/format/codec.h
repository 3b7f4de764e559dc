// Entry encoding: an optional byte-shuffle filter followed by an optional LZ codec
// (format::Codec, format::Filter; an entry records both, its raw size and stored size).
//
// Block format (every codec/filter combination except kNone + kNone):
//
//   for each block of the input (block_size bytes, the last one shorter):
//     u32 raw_size      little-endian, > 0
//     u32 stored_size   little-endian, <= raw_size
//     stored_size bytes payload
//
// Each block is filtered (Shuffle8) and then compressed independently of the others, so
// blocks can be encoded and decoded in parallel. A block whose compressed form would not
// be smaller than its raw form is stored raw: stored_size == raw_size and the payload is
// the filtered bytes. The encoded size is therefore at most n + 8 * blocks.
//
// kNone + kNone is the identity (no block headers); callers normally skip Encode then.
//
// Nothing here throws, exits or aborts; Decode treats its input as untrusted (a corrupt
// or truncated input returns kCorruption and never reads or writes out of bounds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "format/format.h"

namespace cairn::format {

// Byte transposition with 8-byte elements: for the m = n / 8 whole elements, byte k of
// element i goes to dst[k * m + i]; the n % 8 tail bytes are copied unchanged after them.
// src and dst must not overlap. Unshuffle8 is the inverse.
void Shuffle8(const void* src, void* dst, size_t n);
void Unshuffle8(const void* src, void* dst, size_t n);

inline constexpr size_t kMaxCodecBlockSize = size_t{1} << 30;  // fits u32 and LZ4's int
inline constexpr int kMaxCodecThreads = 64;  // larger thread counts are capped to this

struct EncodeOptions {
  Codec codec = Codec::kNone;
  Filter filter = Filter::kNone;
  int level = 1;                // zstd: clamped to 1..19; lz4: acceleration (>= 1)
  int threads = 1;              // blocks compressed in parallel (<= kMaxCodecThreads)
  size_t block_size = 1 << 20;  // 1 .. kMaxCodecBlockSize
};

// An upper bound on the size of Encode's output for n input bytes (n for kNone + kNone,
// else n + 8 * blocks).
size_t MaxEncodedSize(const EncodeOptions& o, size_t n);

// Encodes n bytes at src; *out is replaced (its capacity is reused, so callers that keep
// one string across calls avoid touching fresh memory). kInvalidArgument for bad options
// (unknown codec/filter, threads < 1, block_size out of range), kInternal when memory or
// a compression context cannot be allocated.
Status Encode(const EncodeOptions& o, const void* src, size_t n, std::string* out);

// Decodes the n encoded bytes at src, written with codec c and filter f, into dst, which
// holds raw_size bytes. Every block header is checked against the bounds of src and dst;
// the block sizes must add up to exactly n encoded and raw_size decoded bytes. Errors are
// kCorruption (including an unknown codec or filter value), or kInternal for allocation
// failures. With threads > 1 blocks are decoded in parallel. dst's contents are
// unspecified after an error.
Status Decode(Codec c, Filter f, const void* src, size_t n, void* dst, size_t raw_size,
              int threads = 1);

// How Encode/Decode run blocks on extra threads. By default std::thread. A process that must
// not start pthreads (the transparent checkpointer's forked image writer: pthread_create
// would change glibc state that is being saved) installs its own runner. The runner calls
// body(arg, i) for i in 1..threads-1 on other threads and body(arg, 0) on the caller's,
// concurrently, and returns when all are done. Not thread-safe to change while codecs run.
using ParallelRunner = void (*)(int threads, void (*body)(void* arg, int index), void* arg);
void SetParallelRunner(ParallelRunner runner);  // nullptr: back to std::thread
// Runs body(arg, i) for every i in 0..threads-1 on the installed runner (body(arg, 0) on the
// caller) and returns when all are done; the image writer's page writers use it too. A
// thread that cannot be started has its part run by the caller, after its own.
void RunOnThreads(int threads, void (*body)(void* arg, int index), void* arg);

}  // namespace cairn::format
