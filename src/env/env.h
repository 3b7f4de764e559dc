// Env: cairn's only door to the file system (after LevelDB's Env). Everything that
// creates, reads, renames or removes checkpoint files goes through it, so the
// durability rules live in one place:
//   - files are created 0600 and directories 0700 (checkpoints are private);
//   - WritableFile::Sync() is fdatasync, Env::SyncDir() fsyncs a directory so a
//     rename or unlink in it is durable;
//   - every error is a Status naming the path and the errno text; ENOSPC/EDQUOT/EFBIG
//     map to kNoSpace.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn {

// A file written front to back (Append) or at explicit offsets (WriteAt).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(const void* data, size_t n) = 0;
  // Safe from several threads at once for disjoint ranges.
  virtual Status WriteAt(uint64_t offset, const void* data, size_t n) = 0;
  virtual Status Sync() = 0;
  // Starts writing [offset, offset + n) back to the device without waiting (a hint, so that
  // a later Sync() has less left to do). The default does nothing.
  virtual void StartWriteback(uint64_t /*offset*/, uint64_t /*n*/) {}
  virtual Status Close() = 0;
  virtual const std::string& path() const = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads exactly n bytes at offset, or fails (a short file is kCorruption).
  virtual Status ReadAt(uint64_t offset, void* buf, size_t n) const = 0;
  virtual uint64_t size() const = 0;
  virtual const std::string& path() const = 0;
};

struct FileInfo {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;  // st_dev
  uint32_t mode = 0;
  bool is_dir = false;
};

class Env {
 public:
  virtual ~Env() = default;
  static Env* Default();  // POSIX; never destroyed

  // Creates or truncates `path` with mode 0600.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  // mkdir -p; components it creates get mode 0700. An existing path that is not a
  // directory is an error.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Checks that `path` is a directory this process can write to (creates it first).
  virtual Status EnsureWritableDir(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;  // missing is OK
  virtual Status RemoveDir(const std::string& path) = 0;   // rmdir; missing is OK
  virtual Status RemoveTree(const std::string& path) = 0;  // rm -r; missing is OK
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  // fdatasync of an existing file (e.g. one the application wrote itself).
  virtual Status SyncFile(const std::string& path) = 0;
};

// Writes `text` to `path` atomically: `path`.tmp (0600), fdatasync when `sync`, rename (and
// fsync of the directory when `sync`). A reader sees the old file or the whole new one.
Status WriteFileAtomic(Env* env, const std::string& path, const std::string& text,
                       bool sync = true);
// The whole content of a file (at most max_bytes, 64 MiB by default: a larger one is
// kInvalidArgument).
Result<std::string> ReadFileToString(Env* env, const std::string& path,
                                     uint64_t max_bytes = uint64_t{64} << 20);

// Path helpers (no I/O).
std::string JoinPath(const std::string& a, const std::string& b);
std::string BaseName(const std::string& path);
std::string DirName(const std::string& path);

}  // namespace cairn
