#include "format/writer.h"

#include <chrono>
#include <thread>
#include <vector>

#include "common/hash.h"

namespace cairn::format {
namespace {
// Small enough that a chunk is still in L2 when it is written after being hashed.
constexpr uint64_t kChunk = 256u << 10;
const char kZeros[kDataAlign] = {};

Status WriteAll(WritableFile* f, uint64_t offset, const char* p, uint64_t size) {
  for (uint64_t done = 0; done < size;) {
    uint64_t n = std::min<uint64_t>(64u << 20, size - done);
    CAIRN_RETURN_IF_ERROR(f->WriteAt(offset + done, p + done, n));
    done += n;
  }
  return Status::Ok();
}
}  // namespace

CheckpointFileWriter::CheckpointFileWriter(std::unique_ptr<WritableFile> file,
                                           std::unique_ptr<WritableFile> mirror, std::string name,
                                           int rank, int nranks, int64_t version, bool checksums)
    : file_(std::move(file)), mirror_(std::move(mirror)), checksums_(checksums) {
  m_.name = std::move(name);
  m_.header.rank = rank;
  m_.header.nranks = nranks;
  m_.header.version = version;
  m_.header.flags = checksums ? kFlagChecksums : 0;
  m_.header.created_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

Status CheckpointFileWriter::AddBuffer(EntryKind kind, int32_t id, const void* data,
                                       uint64_t size) {
  return Add(kind, id, data, size, nullptr);
}

Status CheckpointFileWriter::AddBufferHashed(EntryKind kind, int32_t id, const void* data,
                                             uint64_t size, uint64_t hash) {
  return Add(kind, id, data, size, &hash);
}

Status CheckpointFileWriter::Add(EntryKind kind, int32_t id, const void* data, uint64_t size,
                                 const uint64_t* known_hash) {
  Entry e;
  e.kind = kind;
  e.id = id;
  e.offset = next_offset_;
  e.size = size;
  e.stored_size = size;
  const char* p = static_cast<const char*>(data);
  uint64_t end = e.offset + size;
  uint64_t aligned = AlignUp(end);
  std::thread mirror_thread;
  Status mirror_st;
  if (mirror_ != nullptr && mirror_status_.ok()) {
    mirror_thread = std::thread([&] {
      mirror_st = WriteAll(mirror_.get(), e.offset, p, size);
      if (mirror_st.ok() && aligned > end) {
        mirror_st = mirror_->WriteAt(end, kZeros, aligned - end);
      }
    });
  }
  Hasher h;
  Status st;
  for (uint64_t done = 0; done < size && st.ok();) {
    uint64_t n = std::min(kChunk, size - done);
    if (checksums_ && known_hash == nullptr) h.Update(p + done, n);
    st = file_->WriteAt(e.offset + done, p + done, n);
    done += n;
    if (progress_ != nullptr) *progress_ += n;
    if (pacer_ != nullptr) pacer_->Pace(n);
  }
  if (st.ok() && aligned > end) st = file_->WriteAt(end, kZeros, aligned - end);
  if (mirror_thread.joinable()) mirror_thread.join();
  if (!mirror_st.ok()) mirror_status_ = mirror_st;
  CAIRN_RETURN_IF_ERROR(st);
  e.hash = !checksums_ ? 0 : known_hash != nullptr ? *known_hash : h.Digest();
  next_offset_ = aligned;
  m_.entries.push_back(std::move(e));
  return Status::Ok();
}

Status CheckpointFileWriter::AddEncoded(EntryKind kind, int32_t id, const void* data,
                                        uint64_t size, const EncodeOptions& o) {
  if (o.codec == Codec::kNone && o.filter == Filter::kNone) return AddBuffer(kind, id, data, size);
  Entry e;
  e.kind = kind;
  e.id = id;
  e.offset = next_offset_;
  e.size = size;
  e.codec = o.codec;
  e.filter = o.filter;
  // Whole blocks per slice, so that the concatenated slices form one block stream.
  const uint64_t slice = std::max<uint64_t>(o.block_size, (64u << 20) / o.block_size * o.block_size);
  const char* p = static_cast<const char*>(data);
  Hasher h;
  std::string out;
  uint64_t stored = 0;
  for (uint64_t done = 0; done < size;) {
    uint64_t n = std::min(slice, size - done);
    CAIRN_RETURN_IF_ERROR(Encode(o, p + done, n, &out));
    if (checksums_) h.Update(out.data(), out.size());
    CAIRN_RETURN_IF_ERROR(file_->WriteAt(e.offset + stored, out.data(), out.size()));
    stored += out.size();
    done += n;
    if (progress_ != nullptr) *progress_ += n;
    if (pacer_ != nullptr) pacer_->Pace(out.size());
  }
  e.stored_size = stored;
  e.hash = checksums_ ? h.Digest() : 0;
  uint64_t end = e.offset + stored;
  uint64_t aligned = AlignUp(end);
  if (aligned > end) CAIRN_RETURN_IF_ERROR(file_->WriteAt(end, kZeros, aligned - end));
  next_offset_ = aligned;
  m_.entries.push_back(std::move(e));
  return Status::Ok();
}

void CheckpointFileWriter::AddFile(const std::string& original, const std::string& stored,
                                   uint64_t size, uint64_t hash) {
  Entry e;
  e.kind = EntryKind::kFile;
  e.id = -1;
  e.size = size;
  e.stored_size = size;
  e.hash = hash;
  e.name = original;
  e.stored = stored;
  m_.entries.push_back(std::move(e));
}

Status CheckpointFileWriter::Finish(bool sync, bool mirror_sync) {
  std::string table = EncodeTable(m_.name, m_.entries);
  Header& h = m_.header;
  h.entry_count = static_cast<uint32_t>(m_.entries.size());
  h.table_offset = next_offset_;
  h.table_size = table.size();
  h.file_size = h.table_offset + h.table_size + kFooterSize;
  std::string header = EncodeHeader(&h);
  m_.footer.table_hash = Hash64(table.data(), table.size());
  m_.footer.file_hash = FileHash(h.header_hash, m_.footer.table_hash);
  m_.footer.file_size = h.file_size;
  std::string tail = table + EncodeFooter(m_.footer);
  auto complete = [&](WritableFile* f, bool do_sync) {
    CAIRN_RETURN_IF_ERROR(f->WriteAt(h.table_offset, tail.data(), tail.size()));
    CAIRN_RETURN_IF_ERROR(f->WriteAt(0, header.data(), header.size()));
    if (do_sync) CAIRN_RETURN_IF_ERROR(f->Sync());
    return f->Close();
  };
  std::thread mirror_thread;
  if (mirror_ != nullptr && mirror_status_.ok()) {
    mirror_thread = std::thread([&] { mirror_status_ = complete(mirror_.get(), mirror_sync); });
  }
  Status st = complete(file_.get(), sync);
  if (mirror_thread.joinable()) mirror_thread.join();
  return st;
}

Result<FileDigest> DigestFile(Env* env, const std::string& path) {
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  FileDigest d;
  d.size = f.value()->size();
  std::vector<char> buf(std::min<uint64_t>(kChunk, std::max<uint64_t>(d.size, 1)));
  Hasher h;
  for (uint64_t off = 0; off < d.size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), d.size - off));
    CAIRN_RETURN_IF_ERROR(f.value()->ReadAt(off, buf.data(), n));
    h.Update(buf.data(), n);
    off += n;
  }
  d.hash = h.Digest();
  return d;
}

}  // namespace cairn::format
