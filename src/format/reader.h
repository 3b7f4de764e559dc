// CheckpointFileReader: opens one cairn checkpoint file and gives checked access.
//
// Open() reads header, table and footer and checks magic, format version, byte
// order, sizes and the header/table/file hashes: cheap, constant in the data size.
// VerifyData() additionally hashes every entry (and every stored file beside it);
// VerifyStoredFiles() only the stored files (what a restart hands over by path);
// ReadEntry() reads one entry into memory, verifying its hash in the same pass (the
// hashing of one piece overlaps the read of the next on a second thread).
// A reader never modifies the file.
#pragma once

#include <memory>
#include <string>

#include "env/env.h"
#include "format/format.h"

namespace cairn::format {

class CheckpointFileReader {
 public:
  static Result<std::unique_ptr<CheckpointFileReader>> Open(Env* env, const std::string& path);

  const Manifest& manifest() const { return m_; }
  const std::string& path() const { return path_; }
  bool checksums() const { return (m_.header.flags & kFlagChecksums) != 0; }
  // The entry with this region id, or nullptr.
  const Entry* FindRegion(int32_t id) const;
  // The file entry for this original path, or nullptr.
  const Entry* FindFile(const std::string& original) const;
  // Path of a stored file entry (beside the checkpoint file).
  std::string StoredPath(const Entry& e) const;

  // Hashes every entry's data and stored file. kCorruption names the first bad one.
  Status VerifyData() const;
  // Hashes the stored files (file entries) only.
  Status VerifyStoredFiles() const;
  // Reads entry `e` (memory/serialized) into buf[0..e.size), verifying its hash unless
  // `verify` is false (the caller has verified this unchanged file already).
  Status ReadEntry(const Entry& e, void* buf, bool verify = true) const;

 private:
  CheckpointFileReader(Env* env, std::string path, std::unique_ptr<RandomAccessFile> f)
      : env_(env), path_(std::move(path)), file_(std::move(f)) {}
  Env* env_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  Manifest m_;
};

}  // namespace cairn::format
