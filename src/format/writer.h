// CheckpointFileWriter: writes one cairn checkpoint file (format.h) incrementally.
//
//   AddBuffer(...)*  -> each call writes one entry's data now, hashing it in the same
//                       pass (chunks of 256 KiB, hashed while in cache, then written)
//   AddFile(...)*    -> records a file stored beside the checkpoint (size + hash given)
//   Finish()         -> writes table, footer and finally the header; fsyncs if asked
//
// An optional mirror file (the persistent level's copy) receives the same bytes from a
// second thread, straight from the caller's memory, while the primary is written; a
// mirror failure is recorded (mirror_status()) and never fails the primary.
//
// The writer never renames: callers write to a temporary name and publish with an
// atomic rename (storage/). On any error the file is left for the caller to remove.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/pacer.h"
#include "env/env.h"
#include "format/codec.h"
#include "format/format.h"

namespace cairn::format {

class CheckpointFileWriter {
 public:
  CheckpointFileWriter(std::unique_ptr<WritableFile> file, std::unique_ptr<WritableFile> mirror,
                       std::string name, int rank, int nranks, int64_t version, bool checksums);
  Status AddBuffer(EntryKind kind, int32_t id, const void* data, uint64_t size);
  // Writes one entry encoded (format/codec.h: shuffle + zstd/lz4 blocks), 64 MiB of
  // input at a time; the entry's hash covers the stored (encoded) bytes. With
  // o.codec == kNone and o.filter == kNone this is AddBuffer.
  Status AddEncoded(EntryKind kind, int32_t id, const void* data, uint64_t size,
                    const EncodeOptions& o);
  // The same, for data whose XXH3-64 the caller computed already (no second pass).
  Status AddBufferHashed(EntryKind kind, int32_t id, const void* data, uint64_t size,
                         uint64_t hash);
  void AddFile(const std::string& original, const std::string& stored, uint64_t size,
               uint64_t hash);
  // Completes the file (and the mirror). `sync`: fdatasync the primary before close;
  // `mirror_sync`: the same for the mirror. Both syncs run in parallel.
  Status Finish(bool sync, bool mirror_sync);
  bool has_mirror() const { return mirror_ != nullptr; }
  // OK when there is no mirror or it was written completely.
  const Status& mirror_status() const { return mirror_status_; }
  // Advanced by the bytes of each chunk as it is written (for progress reports).
  void SetProgress(std::atomic<uint64_t>* p) { progress_ = p; }
  // Paces the data writes (bandwidth limit); nullptr: unlimited.
  void SetPacer(Pacer* p) { pacer_ = p; }
  const Manifest& manifest() const { return m_; }
  uint64_t bytes_written() const { return next_offset_; }

 private:
  std::unique_ptr<WritableFile> file_;
  std::unique_ptr<WritableFile> mirror_;
  Status mirror_status_;
  Manifest m_;
  bool checksums_;
  uint64_t next_offset_ = kHeaderSize;
  std::atomic<uint64_t>* progress_ = nullptr;
  Pacer* pacer_ = nullptr;
  Status Add(EntryKind kind, int32_t id, const void* data, uint64_t size, const uint64_t* hash);
};

// Hashes a whole file (for routed files), returning its size and XXH3-64.
struct FileDigest {
  uint64_t size = 0;
  uint64_t hash = 0;
};
Result<FileDigest> DigestFile(Env* env, const std::string& path);

}  // namespace cairn::format
