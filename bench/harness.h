// Shared pieces of the stand-alone benchmarks: fatal errors, the common command line
// (--size-mib N, --reps N, --json PATH, --help), a clock, the raw I/O loops the baselines
// use, and the file-system type of a directory. Header-only; each bench is one executable.
// Die() exits the process: a bench that must clean up registers it with std::atexit.
#pragma once

#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace cairn::bench {

// The program name used in messages; set by ParseCommonArgs.
inline const char*& ProgramName() {
  static const char* name = "cairn_bench";
  return name;
}

[[noreturn]] inline void Die(const std::string& msg) {
  std::fprintf(stderr, "%s: error: %s\n", ProgramName(), msg.c_str());
  std::exit(1);
}

[[noreturn]] inline void DieErrno(const std::string& what) {
  Die(what + ": " + std::strerror(errno));
}

// All n bytes at offset `off`, or Die naming `path`.
inline void PwriteAll(int fd, const char* p, size_t n, off_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      DieErrno("cannot write '" + path + "'");
    }
    if (w == 0) Die("cannot write '" + path + "': no progress");
    p += w;
    off += w;
    n -= static_cast<size_t>(w);
  }
}

inline void PreadAll(int fd, char* p, size_t n, off_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, off);
    if (r < 0) {
      if (errno == EINTR) continue;
      DieErrno("cannot read '" + path + "'");
    }
    if (r == 0) Die("'" + path + "' is shorter than expected");
    p += r;
    off += r;
    n -= static_cast<size_t>(r);
  }
}

struct FsInfo {
  std::string type;     // "ext4", "tmpfs", ... or the magic number in hex
  bool memory = false;  // tmpfs / ramfs: not a disk
};

inline FsInfo StatFs(const std::string& path) {
  struct statfs s;
  if (::statfs(path.c_str(), &s) != 0) DieErrno("cannot statfs '" + path + "'");
  static const std::map<uint64_t, const char*> kTypes = {
      {0x01021994, "tmpfs"},  {0x858458f6, "ramfs"}, {0xEF53, "ext4"},
      {0x58465342, "xfs"},    {0x9123683E, "btrfs"}, {0x794c7630, "overlayfs"},
      {0x6969, "nfs"},        {0x65735546, "fuse"},  {0x2FC12FC1, "zfs"},
      {0x0BD00BD0, "lustre"}, {0x47504653, "gpfs"},  {0xF2F52010, "f2fs"},
      {0x01161970, "gfs2"},   {0xFF534D42, "cifs"},  {0x73717368, "squashfs"},
  };
  FsInfo fi;
  const uint64_t t = static_cast<uint64_t>(s.f_type) & 0xffffffffu;
  if (auto it = kTypes.find(t); it != kTypes.end()) {
    fi.type = it->second;
  } else {
    char b[32];
    std::snprintf(b, sizeof(b), "0x%" PRIx64, t);
    fi.type = b;
  }
  fi.memory = t == 0x01021994 || t == 0x858458f6;
  return fi;
}

inline double GBps(size_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e9 / seconds : 0;
}

inline double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct CommonArgs {
  size_t size_mib = 64;
  int reps = 3;
  std::string json;
};

// Parses the common options; `max_mib` bounds --size-mib; `usage` is printed by --help.
// Anything else is a fatal usage error.
inline CommonArgs ParseCommonArgs(int argc, char** argv, const char* program, CommonArgs defaults,
                                  long max_mib, const char* usage) {
  ProgramName() = program;
  CommonArgs a = defaults;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + s);
      return argv[++i];
    };
    if (s == "--size-mib") {
      long v = std::strtol(value().c_str(), nullptr, 10);
      if (v < 1 || v > max_mib) Die("--size-mib must be 1.." + std::to_string(max_mib));
      a.size_mib = static_cast<size_t>(v);
    } else if (s == "--reps") {
      long v = std::strtol(value().c_str(), nullptr, 10);
      if (v < 1 || v > 100) Die("--reps must be 1..100");
      a.reps = static_cast<int>(v);
    } else if (s == "--json") {
      a.json = value();
    } else if (s == "-h" || s == "--help") {
      std::printf("usage: %s %s\n", program, usage);
      std::exit(0);
    } else {
      Die("unknown argument '" + s + "' (try --help)");
    }
  }
  return a;
}

}  // namespace cairn::bench
