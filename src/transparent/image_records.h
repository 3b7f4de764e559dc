// The record layer of process images (image.h, docs/image-format.md), shared by the writer
// (image_writer.cc), the reader (image_reader.cc) and the public helpers (image.cc): section
// and batch sizes, little-endian encoding, the validation of every record, the encodings of
// the metadata sections, the section hash chain and the page batch headers. Internal: not
// installed, not part of the API.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "common/hash.h"
#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::records {

// Output buffer: small pieces are gathered here; pieces of kDirectMin bytes or more are
// written straight from the caller's memory in kChunk pieces, each hashed just before its
// write (still in cache when the kernel copies it).
inline constexpr size_t kBufSize = 4u << 20;
inline constexpr size_t kDirectMin = 256u << 10;
inline constexpr size_t kChunk = 1u << 20;
// Uncompressed page runs of this size or more bypass the staging buffer.
inline constexpr uint64_t kDirectRun = 256u << 10;
inline constexpr size_t kSectionHeaderSize = 12;  // u32 type, u64 length
inline constexpr size_t kSectionOverhead = kSectionHeaderSize + 8;
inline constexpr size_t kBatchHeaderSize =
    24;  // u32 runs, u16 codec, u16 filter, u64 raw, u64 stored
inline constexpr size_t kRunSize = 16;
inline constexpr size_t kReadChunk = 8u << 20;

inline constexpr uint32_t kThreadFlagCheckpoint = 1u << 0;
inline constexpr uint32_t kFileFlagContent = 1u << 0;

inline uint32_t Bit(SectionType t) { return 1u << static_cast<uint32_t>(t); }

inline std::string Hex(uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof(b), v, 16);
  return "0x" + std::string(b, r.ptr);
}
inline std::string Num(uint64_t v) { return std::to_string(v); }
inline std::string Range(uint64_t a, uint64_t b) { return "[" + Hex(a) + ", " + Hex(b) + ")"; }

// ---------------------------------------------------------------- little-endian codec

template <class T>
void StoreLE(char* p, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<char>((u >> (8 * i)) & 0xff);
}
template <class T>
T LoadLE(const char* p) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(U); ++i) {
    u = static_cast<U>(u | (static_cast<U>(static_cast<unsigned char>(p[i])) << (8 * i)));
  }
  return static_cast<T>(u);
}

class Enc {
 public:
  void U16(uint16_t v) { Put(v); }
  void U32(uint32_t v) { Put(v); }
  void U64(uint64_t v) { Put(v); }
  void I32(int32_t v) { Put(v); }
  void I64(int64_t v) { Put(v); }
  void Str(const std::string& v) {  // u32 length + bytes
    if (v.size() > std::numeric_limits<uint32_t>::max()) {
      too_long_ = true;
      return;
    }
    U32(static_cast<uint32_t>(v.size()));
    s_.append(v);
  }
  void Blob64(const std::string& v) {  // u64 length + bytes
    U64(v.size());
    s_.append(v);
  }
  void Count(size_t n) {
    if (n > std::numeric_limits<uint32_t>::max()) too_long_ = true;
    U32(static_cast<uint32_t>(n));
  }
  size_t BeginRecord() {
    size_t at = s_.size();
    U32(0);
    return at;
  }
  void EndRecord(size_t at) {
    size_t n = s_.size() - at - 4;
    if (n > std::numeric_limits<uint32_t>::max()) too_long_ = true;
    StoreLE<uint32_t>(&s_[at], static_cast<uint32_t>(n));
  }
  bool too_long() const { return too_long_; }
  std::string& str() { return s_; }

 private:
  template <class T>
  void Put(T v) {
    char b[sizeof(T)];
    StoreLE(b, v);
    s_.append(b, sizeof(T));
  }
  std::string s_;
  bool too_long_ = false;
};

// Bounds-checked reader of untrusted bytes. Failures are sticky: a failed read returns 0 /
// empty and every later check of ok() is false.
class Dec {
 public:
  Dec(const char* p, size_t n) : p_(p), n_(n) {}
  uint16_t U16() { return Get<uint16_t>(); }
  uint32_t U32() { return Get<uint32_t>(); }
  uint64_t U64() { return Get<uint64_t>(); }
  int32_t I32() { return Get<int32_t>(); }
  int64_t I64() { return Get<int64_t>(); }
  std::string Str() { return Bytes(U32()); }
  std::string Blob64() { return Bytes(U64()); }
  // A record: u32 body length + body. The returned decoder reads the body; the parent skips
  // it whole (so unknown trailing fields of a newer writer are ignored).
  Dec Record() {
    uint32_t n = U32();
    if (!ok_ || n > n_ - pos_) {
      ok_ = false;
      return Dec(nullptr, 0, false);
    }
    Dec d(p_ + pos_, n);
    pos_ += n;
    return d;
  }
  // A u32 count of records, each at least 4 bytes: bounded by the bytes left.
  uint32_t Count() {
    uint32_t n = U32();
    if (ok_ && n > (n_ - pos_) / 4) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  size_t left() const { return ok_ ? n_ - pos_ : 0; }
  size_t pos() const { return pos_; }
  bool more() const { return ok_ && pos_ < n_; }  // trailing fields of a newer writer follow

 private:
  Dec(const char* p, size_t n, bool ok) : p_(p), n_(n), ok_(ok) {}
  template <class T>
  T Get() {
    if (!ok_ || n_ - pos_ < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    T v = LoadLE<T>(p_ + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string Bytes(uint64_t n) {
    if (!ok_ || n > n_ - pos_) {
      ok_ = false;
      return {};
    }
    std::string s(p_ + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  const char* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

struct BatchHeader {
  uint32_t runs = 0;
  uint16_t codec = 0;
  uint16_t filter = 0;
  uint64_t raw = 0;
  uint64_t stored = 0;
};

bool PowerOfTwo(uint64_t v);

std::string CheckPageSize(uint32_t ps);

std::string CheckRegions(const std::vector<Region>& regions, uint32_t ps);
// The PARENT section against the image's regions (sorted by start).
std::string CheckParent(const ParentRef& p, const std::vector<Region>& regions, uint32_t ps);

std::string CheckThreads(const std::vector<ThreadState>& threads);

bool IsPipeLike(FileKind k);

// `listed`: the descriptors listed so far, this one included.
std::string CheckEventObject(const FileState& f, const std::set<int32_t>& listed);

std::string CheckFiles(const std::vector<FileState>& files);

std::string CheckSignals(const SignalState& s);

std::string CheckTimers(const TimerState& t);

std::string CheckMisc(const MiscState& m);

void EncodeHeaderBody(const ImageHeader& h, Enc* e);

bool DecodeHeaderBody(Dec* d, ImageHeader* h);

std::string EncodeRegions(const std::vector<Region>& v, bool* too_long);

bool DecodeRegions(Dec* d, std::vector<Region>* v);
std::string EncodeParent(const ParentRef& p, bool* too_long);
bool DecodeParent(Dec* d, ParentRef* p);

std::string EncodeThreads(const std::vector<ThreadState>& v, bool* too_long);

bool DecodeThreads(Dec* d, std::vector<ThreadState>* v, std::string* err);

std::string EncodeFiles(const std::vector<FileState>& v, bool* too_long);

bool DecodeFiles(Dec* d, std::vector<FileState>* v, std::string* err);

std::string EncodeSignals(const SignalState& s, bool* too_long);

bool DecodeSignals(Dec* d, SignalState* s);

std::string EncodeTimers(const TimerState& t, bool* too_long);

bool DecodeTimers(Dec* d, TimerState* t);

std::string EncodeMisc(const MiscState& m, bool* too_long);

bool DecodeMisc(Dec* d, MiscState* m);

uint64_t ChainNext(uint64_t chain, uint32_t type, uint64_t length, uint64_t hash);

bool Encoded(format::Codec c, format::Filter f);

BatchHeader ParseBatchHeader(const char* p);

// Checks a batch header before its run table is read: `left` is the payload bytes after the
// 24-byte batch header.
std::string CheckBatchHeader(const BatchHeader& b, bool compressed_image, uint64_t left);

// Checks the run table (runs * 16 bytes at p) against the region and the previous runs.
std::string CheckRuns(const BatchHeader& b, const char* p, uint64_t region_start,
                      uint64_t region_end, uint32_t ps, uint64_t* next_addr);

uint64_t NowNs();

uint64_t RandomId();

uint32_t HostPageSize();

Result<std::string> ReadProcFile(const std::string& path);

}  // namespace cairn::transparent::records
