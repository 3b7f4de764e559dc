#include "format/format.h"

#include <bit>
#include <cstring>

#include "common/hash.h"

namespace cairn::format {

static_assert(std::endian::native == std::endian::little,
              "cairn's on-disk format is little-endian; big-endian hosts are not supported");

namespace {

template <class T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

template <class T>
void PutAt(char* base, size_t off, T v) {
  std::memcpy(base + off, &v, sizeof(T));
}

template <class T>
T GetAt(const char* base, size_t off) {
  T v;
  std::memcpy(&v, base + off, sizeof(T));
  return v;
}

// Bounds-checked sequential reader over the table bytes.
class Cursor {
 public:
  Cursor(const char* p, size_t n) : p_(p), n_(n) {}
  template <class T>
  bool Get(T* v) {
    if (n_ - off_ < sizeof(T)) return false;
    std::memcpy(v, p_ + off_, sizeof(T));
    off_ += sizeof(T);
    return true;
  }
  bool GetString(std::string* s) {
    uint16_t len = 0;
    if (!Get(&len) || n_ - off_ < len) return false;
    s->assign(p_ + off_, len);
    off_ += len;
    return true;
  }
  bool done() const { return off_ == n_; }

 private:
  const char* p_;
  size_t n_;
  size_t off_ = 0;
};

// Header field offsets (see docs/format.md).
constexpr size_t kOffMagic = 0, kOffVersion = 8, kOffBom = 10, kOffHdrSize = 12, kOffFlags = 16,
                 kOffRank = 20, kOffNranks = 24, kOffCount = 28, kOffCkptVersion = 32,
                 kOffCreated = 40, kOffDataOff = 48, kOffTableOff = 56, kOffTableSize = 64,
                 kOffFileSize = 72, kOffHash = 120;

}  // namespace

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::kNone: return "none";
    case Codec::kZstd: return "zstd";
    case Codec::kLz4: return "lz4";
  }
  return "unknown";
}

const char* EntryKindName(EntryKind k) {
  switch (k) {
    case EntryKind::kMemory: return "memory";
    case EntryKind::kSerialized: return "serialized";
    case EntryKind::kFile: return "file";
  }
  return "unknown";
}

uint64_t AlignUp(uint64_t v) { return (v + kDataAlign - 1) / kDataAlign * kDataAlign; }

uint64_t FileHash(uint64_t header_hash, uint64_t table_hash) {
  uint64_t both[2] = {header_hash, table_hash};
  return Hash64(both, sizeof(both));
}

std::string EncodeHeader(Header* h) {
  std::string out(kHeaderSize, '\0');
  char* b = out.data();
  std::memcpy(b + kOffMagic, kMagic, sizeof(kMagic));
  PutAt<uint16_t>(b, kOffVersion, h->format_version);
  PutAt<uint16_t>(b, kOffBom, kByteOrderMark);
  PutAt<uint32_t>(b, kOffHdrSize, static_cast<uint32_t>(kHeaderSize));
  PutAt<uint32_t>(b, kOffFlags, h->flags);
  PutAt<int32_t>(b, kOffRank, h->rank);
  PutAt<int32_t>(b, kOffNranks, h->nranks);
  PutAt<uint32_t>(b, kOffCount, h->entry_count);
  PutAt<int64_t>(b, kOffCkptVersion, h->version);
  PutAt<uint64_t>(b, kOffCreated, h->created_ns);
  PutAt<uint64_t>(b, kOffDataOff, h->data_offset);
  PutAt<uint64_t>(b, kOffTableOff, h->table_offset);
  PutAt<uint64_t>(b, kOffTableSize, h->table_size);
  PutAt<uint64_t>(b, kOffFileSize, h->file_size);
  h->header_hash = Hash64(b, kOffHash);
  PutAt<uint64_t>(b, kOffHash, h->header_hash);
  return out;
}

Result<Header> DecodeHeader(const void* buf, size_t n, const std::string& what) {
  const char* b = static_cast<const char*>(buf);
  if (n < kHeaderSize) return Status::Corruption(what + ": too short for a cairn header");
  if (std::memcmp(b + kOffMagic, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption(what + ": not a cairn checkpoint file (bad magic)");
  }
  uint16_t bom = GetAt<uint16_t>(b, kOffBom);
  if (bom != kByteOrderMark) {
    return Status::Corruption(what + ": written with the other byte order (mark " +
                              std::to_string(bom) + ")");
  }
  Header h;
  h.format_version = GetAt<uint16_t>(b, kOffVersion);
  if (h.format_version != kFormatVersion) {
    return Status::InvalidArgument(what + ": format version " + std::to_string(h.format_version) +
                                   " is not supported (this cairn reads version " +
                                   std::to_string(kFormatVersion) + ")");
  }
  uint64_t stored = GetAt<uint64_t>(b, kOffHash);
  h.header_hash = Hash64(b, kOffHash);
  if (stored != h.header_hash) return Status::Corruption(what + ": header checksum mismatch");
  if (GetAt<uint32_t>(b, kOffHdrSize) != kHeaderSize) {
    return Status::Corruption(what + ": unexpected header size");
  }
  h.flags = GetAt<uint32_t>(b, kOffFlags);
  h.rank = GetAt<int32_t>(b, kOffRank);
  h.nranks = GetAt<int32_t>(b, kOffNranks);
  h.entry_count = GetAt<uint32_t>(b, kOffCount);
  h.version = GetAt<int64_t>(b, kOffCkptVersion);
  h.created_ns = GetAt<uint64_t>(b, kOffCreated);
  h.data_offset = GetAt<uint64_t>(b, kOffDataOff);
  h.table_offset = GetAt<uint64_t>(b, kOffTableOff);
  h.table_size = GetAt<uint64_t>(b, kOffTableSize);
  h.file_size = GetAt<uint64_t>(b, kOffFileSize);
  if (h.rank < 0 || h.nranks < 0 || (h.nranks > 0 && h.rank >= h.nranks) || h.version < 0 ||
      h.data_offset != kHeaderSize || h.table_offset < h.data_offset ||
      h.table_offset + h.table_size + kFooterSize != h.file_size) {
    return Status::Corruption(what + ": inconsistent header fields");
  }
  return h;
}

std::string EncodeTable(const std::string& name, const std::vector<Entry>& entries) {
  std::string out;
  Put<uint16_t>(&out, static_cast<uint16_t>(name.size()));
  out += name;
  Put<uint32_t>(&out, static_cast<uint32_t>(entries.size()));
  for (const Entry& e : entries) {
    Put<uint32_t>(&out, static_cast<uint32_t>(e.kind));
    Put<int32_t>(&out, e.id);
    Put<uint64_t>(&out, e.offset);
    Put<uint64_t>(&out, e.size);
    Put<uint64_t>(&out, e.hash);
    Put<uint16_t>(&out, static_cast<uint16_t>(e.codec));
    Put<uint16_t>(&out, static_cast<uint16_t>(e.filter));
    Put<uint64_t>(&out, e.stored_size);
    Put<uint16_t>(&out, static_cast<uint16_t>(e.name.size()));
    out += e.name;
    Put<uint16_t>(&out, static_cast<uint16_t>(e.stored.size()));
    out += e.stored;
  }
  return out;
}

Status DecodeTable(const void* buf, size_t n, const std::string& what, std::string* name,
                   std::vector<Entry>* entries) {
  Cursor c(static_cast<const char*>(buf), n);
  uint32_t count = 0;
  if (!c.GetString(name) || !c.Get(&count)) return Status::Corruption(what + ": bad table");
  entries->clear();
  for (uint32_t i = 0; i < count; ++i) {
    Entry e;
    uint32_t kind = 0;
    uint16_t codec = 0, filter = 0;
    if (!c.Get(&kind) || !c.Get(&e.id) || !c.Get(&e.offset) || !c.Get(&e.size) ||
        !c.Get(&e.hash) || !c.Get(&codec) || !c.Get(&filter) || !c.Get(&e.stored_size) ||
        !c.GetString(&e.name) || !c.GetString(&e.stored)) {
      return Status::Corruption(what + ": table entry " + std::to_string(i) + " is truncated");
    }
    if (kind < 1 || kind > 3) {
      return Status::Corruption(what + ": table entry " + std::to_string(i) + " has bad kind");
    }
    e.kind = static_cast<EntryKind>(kind);
    if (codec > 2 || filter > 1) {
      return Status::Corruption(what + ": table entry " + std::to_string(i) +
                                " has an unknown codec or filter");
    }
    e.codec = static_cast<Codec>(codec);
    e.filter = static_cast<Filter>(filter);
    if (e.codec == Codec::kNone && e.stored_size != e.size) {
      return Status::Corruption(what + ": table entry " + std::to_string(i) +
                                " has inconsistent sizes");
    }
    if (e.kind == EntryKind::kFile &&
        (e.stored.empty() || e.stored.find('/') != std::string::npos || e.stored[0] == '.')) {
      return Status::Corruption(what + ": file entry " + std::to_string(i) +
                                " has an unsafe stored name");
    }
    entries->push_back(std::move(e));
  }
  if (!c.done()) return Status::Corruption(what + ": trailing bytes in table");
  return Status::Ok();
}

std::string EncodeFooter(const Footer& f) {
  std::string out;
  Put<uint64_t>(&out, f.table_hash);
  Put<uint64_t>(&out, f.file_hash);
  Put<uint64_t>(&out, f.file_size);
  out.append(kFooterMagic, sizeof(kFooterMagic));
  return out;
}

Result<Footer> DecodeFooter(const void* buf, size_t n, const std::string& what) {
  const char* b = static_cast<const char*>(buf);
  if (n != kFooterSize || std::memcmp(b + 24, kFooterMagic, sizeof(kFooterMagic)) != 0) {
    return Status::Corruption(what + ": bad footer (file truncated or not a cairn checkpoint)");
  }
  Footer f;
  f.table_hash = GetAt<uint64_t>(b, 0);
  f.file_hash = GetAt<uint64_t>(b, 8);
  f.file_size = GetAt<uint64_t>(b, 16);
  return f;
}

}  // namespace cairn::format
