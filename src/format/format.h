// The cairn checkpoint file: one file per rank and version. Specified in
// docs/format.md; this header is the code's copy of that schema.
//
//   offset 0            Header      128 bytes, fixed layout, ends in its own hash
//   offset 128          Data        each entry's bytes, every entry 64-byte aligned
//   table_offset        Table       checkpoint name + one record per entry
//   file_size - 32      Footer      table hash, file hash, file size, "CAIRNEND"
//
// All integers are little-endian (the header's byte-order mark says so; a reader on
// a host of the other order refuses the file). Hashes are XXH3-64.
// Integrity: every entry has its own hash; the table hash covers the table (and so
// every entry hash); the file hash = XXH3(header_hash || table_hash) ties them; the
// footer repeats the file size so truncation is detected without reading the data.
// Entries of kind kFile are not stored in this file: they name a file stored beside
// it in the same version directory, with its size and hash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn::format {

inline constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'C', 'K', 'P'};
inline constexpr char kFooterMagic[8] = {'C', 'A', 'I', 'R', 'N', 'E', 'N', 'D'};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint16_t kByteOrderMark = 0x0102;
inline constexpr size_t kHeaderSize = 128;
inline constexpr size_t kFooterSize = 32;
inline constexpr uint64_t kDataAlign = 64;
inline constexpr uint32_t kFlagChecksums = 1u << 0;  // entry hashes are meaningful

enum class EntryKind : uint32_t { kMemory = 1, kSerialized = 2, kFile = 3 };
const char* EntryKindName(EntryKind k);

struct Header {
  uint16_t format_version = kFormatVersion;
  uint32_t flags = kFlagChecksums;
  int32_t rank = 0;
  int32_t nranks = 1;  // 0: independent mode (VELOC_Init_single), rank is an id
  uint32_t entry_count = 0;
  int64_t version = 0;
  uint64_t created_ns = 0;  // wall clock, ns since the epoch
  uint64_t data_offset = kHeaderSize;
  uint64_t table_offset = 0;
  uint64_t table_size = 0;
  uint64_t file_size = 0;
  uint64_t header_hash = 0;  // filled by EncodeHeader / checked by DecodeHeader
};

// How an entry's bytes are stored (codec/codec.h implements them).
enum class Codec : uint16_t { kNone = 0, kZstd = 1, kLz4 = 2 };
enum class Filter : uint16_t { kNone = 0, kShuffle8 = 1 };  // byte shuffle, 8-byte elements
const char* CodecName(Codec c);

struct Entry {
  EntryKind kind = EntryKind::kMemory;
  int32_t id = -1;       // region id (-1 for files)
  uint64_t offset = 0;   // in this file (0 for files)
  uint64_t size = 0;     // bytes the application gets back
  uint64_t hash = 0;     // XXH3-64 of the stored bytes
  Codec codec = Codec::kNone;
  Filter filter = Filter::kNone;
  uint64_t stored_size = 0;  // bytes in the file (== size when codec is kNone)
  std::string name;      // kFile: the original path the application routed
  std::string stored;    // kFile: file name inside the version directory
};

struct Footer {
  uint64_t table_hash = 0;
  uint64_t file_hash = 0;
  uint64_t file_size = 0;
};

// A decoded, integrity-checked header + table + footer.
struct Manifest {
  Header header;
  std::string name;  // checkpoint name
  std::vector<Entry> entries;
  Footer footer;
};

uint64_t AlignUp(uint64_t v);
uint64_t FileHash(uint64_t header_hash, uint64_t table_hash);

// Encoders return exactly the bytes to write; EncodeHeader sets h->header_hash.
std::string EncodeHeader(Header* h);
std::string EncodeTable(const std::string& name, const std::vector<Entry>& entries);
std::string EncodeFooter(const Footer& f);

// Decoders check magic, format version, byte order, bounds and hashes; `what` names
// the file in messages. Errors are kCorruption (or kInvalidArgument for a newer
// format version).
Result<Header> DecodeHeader(const void* buf, size_t n, const std::string& what);
Status DecodeTable(const void* buf, size_t n, const std::string& what, std::string* name,
                   std::vector<Entry>* entries);
Result<Footer> DecodeFooter(const void* buf, size_t n, const std::string& what);

}  // namespace cairn::format
