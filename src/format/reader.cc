#include "format/reader.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "format/codec.h"
#include "format/writer.h"

namespace cairn::format {
namespace {
constexpr uint64_t kChunk = 256u << 10;  // read + hash while in L2
// ReadHashed of this many bytes or more overlaps: this thread reads piece k+1 while a helper
// hashes piece k (in order: the hash is one stream).
constexpr uint64_t kPiece = 1u << 20;
constexpr uint64_t kOverlapFrom = 4 * kPiece;

// Reads then hashes, piece by piece (each piece hashed while it is still in cache).
Status ReadHashedInTurn(const RandomAccessFile& file, uint64_t offset, char* p, uint64_t n,
                        Hasher& h) {
  for (uint64_t at = 0; at < n; at += kChunk) {
    const size_t len = static_cast<size_t>(std::min(kChunk, n - at));
    CAIRN_RETURN_IF_ERROR(file.ReadAt(offset + at, p + at, len));
    h.Update(p + at, len);
  }
  return Status::Ok();
}

// Reads n bytes at `offset` of `file` into `p`; *digest = their hash.
Status ReadHashed(const RandomAccessFile& file, uint64_t offset, char* p, uint64_t n,
                  uint64_t* digest) {
  Hasher h;
  const uint64_t pieces = (n + kPiece - 1) / kPiece;
  constexpr uint64_t kStop = ~uint64_t{0};
  std::atomic<uint64_t> ready{0};  // pieces read so far, or kStop
  std::thread hasher;
  if (n >= kOverlapFrom) {
    try {
      hasher = std::thread([&] {
        for (uint64_t k = 0; k < pieces; ++k) {
          uint64_t r = ready.load(std::memory_order_acquire);
          while (r <= k) {
            ready.wait(r, std::memory_order_acquire);
            r = ready.load(std::memory_order_acquire);
          }
          if (r == kStop) return;
          const uint64_t at = k * kPiece;
          h.Update(p + at, std::min(kPiece, n - at));
        }
      });
    } catch (const std::system_error&) {
      // No thread to be had: in turn below.
    }
  }
  if (!hasher.joinable()) {
    CAIRN_RETURN_IF_ERROR(ReadHashedInTurn(file, offset, p, n, h));
    *digest = h.Digest();
    return Status::Ok();
  }
  Status st;
  for (uint64_t k = 0; k < pieces && st.ok(); ++k) {
    const uint64_t at = k * kPiece;
    st = file.ReadAt(offset + at, p + at, static_cast<size_t>(std::min(kPiece, n - at)));
    ready.store(st.ok() ? k + 1 : kStop, std::memory_order_release);
    ready.notify_one();
  }
  hasher.join();
  if (st.ok()) *digest = h.Digest();
  return st;
}
}  // namespace

Result<std::unique_ptr<CheckpointFileReader>> CheckpointFileReader::Open(Env* env,
                                                                         const std::string& path) {
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  std::unique_ptr<CheckpointFileReader> r(
      new CheckpointFileReader(env, path, std::move(f.value())));
  const RandomAccessFile& file = *r->file_;
  uint64_t size = file.size();
  if (size < kHeaderSize + kFooterSize) {
    return Status::Corruption("'" + path + "' is truncated (" + std::to_string(size) +
                              " bytes; a cairn checkpoint has at least " +
                              std::to_string(kHeaderSize + kFooterSize) + ")");
  }
  char hbuf[kHeaderSize];
  CAIRN_RETURN_IF_ERROR(file.ReadAt(0, hbuf, sizeof(hbuf)));
  auto h = DecodeHeader(hbuf, sizeof(hbuf), "'" + path + "'");
  if (!h.ok()) return h.status();
  Manifest& m = r->m_;
  m.header = h.value();
  if (m.header.file_size != size) {
    return Status::Corruption("'" + path + "' has " + std::to_string(size) +
                              " bytes but its header says " + std::to_string(m.header.file_size) +
                              " (truncated or extended)");
  }
  char fbuf[kFooterSize];
  CAIRN_RETURN_IF_ERROR(file.ReadAt(size - kFooterSize, fbuf, sizeof(fbuf)));
  auto foot = DecodeFooter(fbuf, sizeof(fbuf), "'" + path + "'");
  if (!foot.ok()) return foot.status();
  m.footer = foot.value();
  if (m.footer.file_size != size) {
    return Status::Corruption("'" + path + "': footer size does not match the file");
  }
  std::string table(m.header.table_size, '\0');
  CAIRN_RETURN_IF_ERROR(file.ReadAt(m.header.table_offset, table.data(), table.size()));
  if (Hash64(table.data(), table.size()) != m.footer.table_hash) {
    return Status::Corruption("'" + path + "': table checksum mismatch");
  }
  if (FileHash(m.header.header_hash, m.footer.table_hash) != m.footer.file_hash) {
    return Status::Corruption("'" + path + "': file checksum mismatch");
  }
  CAIRN_RETURN_IF_ERROR(
      DecodeTable(table.data(), table.size(), "'" + path + "'", &m.name, &m.entries));
  if (m.entries.size() != m.header.entry_count) {
    return Status::Corruption("'" + path + "': entry count does not match the table");
  }
  for (const Entry& e : m.entries) {
    if (e.kind == EntryKind::kFile) continue;
    if (e.offset < m.header.data_offset || e.offset + e.stored_size > m.header.table_offset ||
        e.offset + e.stored_size < e.offset) {
      return Status::Corruption("'" + path + "': region " + std::to_string(e.id) +
                                " lies outside the data section");
    }
  }
  return r;
}

const Entry* CheckpointFileReader::FindRegion(int32_t id) const {
  for (const Entry& e : m_.entries) {
    if (e.kind != EntryKind::kFile && e.id == id) return &e;
  }
  return nullptr;
}

const Entry* CheckpointFileReader::FindFile(const std::string& original) const {
  for (const Entry& e : m_.entries) {
    if (e.kind == EntryKind::kFile && e.name == original) return &e;
  }
  return nullptr;
}

std::string CheckpointFileReader::StoredPath(const Entry& e) const {
  return JoinPath(DirName(path_), e.stored);
}

Status CheckpointFileReader::VerifyStoredFiles() const {
  for (const Entry& e : m_.entries) {
    if (e.kind != EntryKind::kFile) continue;
    auto d = DigestFile(env_, StoredPath(e));
    if (!d.ok()) return d.status().Annotate("file entry '" + e.name + "' of '" + path_ + "'");
    if (d.value().size != e.size || (checksums() && d.value().hash != e.hash)) {
      return Status::Corruption("stored file '" + StoredPath(e) + "' (for '" + e.name +
                                "') does not match its checksum");
    }
  }
  return Status::Ok();
}

Status CheckpointFileReader::VerifyData() const {
  CAIRN_RETURN_IF_ERROR(VerifyStoredFiles());
  std::vector<char> buf;
  for (const Entry& e : m_.entries) {
    if (e.kind == EntryKind::kFile || !checksums()) continue;
    if (buf.empty()) buf.resize(kChunk);
    Hasher h;
    for (uint64_t off = 0; off < e.stored_size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, e.stored_size - off));
      CAIRN_RETURN_IF_ERROR(file_->ReadAt(e.offset + off, buf.data(), n));
      h.Update(buf.data(), n);
      off += n;
    }
    if (h.Digest() != e.hash) {
      return Status::Corruption("'" + path_ + "': region " + std::to_string(e.id) +
                                " checksum mismatch");
    }
  }
  return Status::Ok();
}

Status CheckpointFileReader::ReadEntry(const Entry& e, void* buf, bool verify) const {
  char* p = static_cast<char*>(buf);
  verify = verify && checksums();
  if (e.codec != Codec::kNone || e.filter != Filter::kNone) {
    std::string stored(e.stored_size, '\0');
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(e.offset, stored.data(), stored.size()));
    if (verify && Hash64(stored.data(), stored.size()) != e.hash) {
      return Status::Corruption("'" + path_ + "': region " + std::to_string(e.id) +
                                " checksum mismatch while reading");
    }
    return Decode(e.codec, e.filter, stored.data(), stored.size(), p, e.size, 2)
        .Annotate("'" + path_ + "': region " + std::to_string(e.id));
  }
  if (!verify) return file_->ReadAt(e.offset, p, e.size);
  uint64_t digest = 0;
  CAIRN_RETURN_IF_ERROR(ReadHashed(*file_, e.offset, p, e.size, &digest));
  if (digest != e.hash) {
    return Status::Corruption("'" + path_ + "': region " + std::to_string(e.id) +
                              " checksum mismatch while reading");
  }
  return Status::Ok();
}

}  // namespace cairn::format
