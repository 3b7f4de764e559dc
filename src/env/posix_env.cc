#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "env/env.h"

namespace cairn {
namespace {

Status Errno(const std::string& what, const std::string& path, int err) {
  if (err == EFBIG) return Status::NoSpace(what + " '" + path + "': " + std::strerror(err));
  return Status::FromErrno(what + " '" + path + "'", err);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(const void* data, size_t n) override {
    CAIRN_RETURN_IF_ERROR(WriteAt(pos_.load(), data, n));
    return Status::Ok();
  }
  Status WriteAt(uint64_t offset, const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    uint64_t off = offset;
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot write", path_, errno);
      }
      if (w == 0) return Status::NoSpace("cannot write '" + path_ + "': no progress");
      p += w;
      off += static_cast<uint64_t>(w);
      n -= static_cast<size_t>(w);
    }
    // Several threads may write disjoint ranges at once (the image writer's page writers):
    // Append's position only ever grows to the furthest end written.
    for (uint64_t cur = pos_.load(std::memory_order_relaxed);
         off > cur && !pos_.compare_exchange_weak(cur, off, std::memory_order_relaxed);) {
    }
    return Status::Ok();
  }
  void StartWriteback(uint64_t offset, uint64_t n) override {
    (void)::sync_file_range(fd_, static_cast<off64_t>(offset), static_cast<off64_t>(n),
                            SYNC_FILE_RANGE_WRITE);
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno("cannot sync", path_, errno);
    return Status::Ok();
  }
  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return Errno("cannot close", path_, errno);
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
  std::atomic<uint64_t> pos_{0};
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  Status ReadAt(uint64_t offset, void* buf, size_t n) const override {
    char* p = static_cast<char*>(buf);
    uint64_t off = offset;
    while (n > 0) {
      ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(off));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot read", path_, errno);
      }
      if (r == 0) {
        return Status::Corruption("'" + path_ + "' is truncated: wanted " + std::to_string(n) +
                                  " more bytes at offset " + std::to_string(off));
      }
      p += r;
      off += static_cast<uint64_t>(r);
      n -= static_cast<size_t>(r);
    }
    return Status::Ok();
  }
  uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("cannot create", path, errno);
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return Errno("cannot stat", path, e);
    }
    return std::unique_ptr<RandomAccessFile>(
        std::make_unique<PosixRandomAccessFile>(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("empty directory path");
    std::string cur;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      cur = path.substr(0, j);
      i = j + 1;
      if (cur.empty()) continue;
      if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) {
        return Errno("cannot create directory", cur, errno);
      }
    }
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Errno("cannot stat", path, errno);
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("'" + path + "' exists and is not a directory");
    }
    return Status::Ok();
  }

  Status EnsureWritableDir(const std::string& path) override {
    CAIRN_RETURN_IF_ERROR(CreateDirs(path));
    if (::access(path.c_str(), W_OK | X_OK) != 0) {
      return Errno("directory is not writable", path, errno);
    }
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return Errno("cannot list", path, errno);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      out.emplace_back(e->d_name);
    }
    ::closedir(d);
    return out;
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Errno("cannot stat", path, errno);
    FileInfo fi;
    fi.size = static_cast<uint64_t>(st.st_size);
    fi.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    fi.inode = st.st_ino;
    fi.device = st.st_dev;
    fi.mode = st.st_mode & 07777;
    fi.is_dir = S_ISDIR(st.st_mode);
    return fi;
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", path, errno);
    return Status::Ok();
  }

  Status RemoveDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
      return Errno("cannot remove directory", path, errno);
    }
    return Status::Ok();
  }

  Status RemoveTree(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return Errno("cannot stat", path, errno);
    }
    if (!S_ISDIR(st.st_mode)) return RemoveFile(path);
    auto names = ListDir(path);
    if (!names.ok()) return names.status();
    for (const auto& n : names.value()) CAIRN_RETURN_IF_ERROR(RemoveTree(JoinPath(path, n)));
    return RemoveDir(path);
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Errno("cannot rename to '" + to + "':", from, errno);
    }
    return Status::Ok();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open directory", path, errno);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0 && e != EINVAL) return Errno("cannot sync directory", path, e);
    return Status::Ok();
  }

  Status SyncFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path, errno);
    int rc = ::fdatasync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return Errno("cannot sync", path, e);
    return Status::Ok();
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();
  return env;
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

std::string BaseName(const std::string& path) {
  size_t p = path.find_last_of('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

std::string DirName(const std::string& path) {
  size_t p = path.find_last_of('/');
  if (p == std::string::npos) return ".";
  if (p == 0) return "/";
  return path.substr(0, p);
}

}  // namespace cairn
