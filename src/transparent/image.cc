// Public helpers of image.h: the host (architecture, vDSO/vvar), the process header, the
// restorability check. The writer and reader are image_writer.cc and image_reader.cc.
#include "transparent/image.h"

extern char** environ;
#include <fcntl.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>

#include "transparent/image_records.h"

namespace cairn::transparent {

using namespace records;  // NOLINT(google-build-using-namespace): this file's own layer

const char* HostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
  return "ppc64le";
#else
  return "unknown";
#endif
}

std::string SectionTypeName(uint32_t type) {
  switch (type) {
    case 1:
      return "REGIONS";
    case 2:
      return "PAGES";
    case 3:
      return "THREADS";
    case 4:
      return "FILES";
    case 5:
      return "SIGNALS";
    case 6:
      return "TIMERS";
    case 7:
      return "MISC";
    case 8:
      return "END";
    case 9:
      return "PARENT";
    default:
      break;
  }
  if ((type & kOptionalSectionBit) != 0) return "OPTIONAL(" + Hex(type) + ")";
  return "UNKNOWN(" + Num(type) + ")";
}

bool IsEventObject(FileKind k) {
  return k == FileKind::kEventfd || k == FileKind::kTimerfd || k == FileKind::kSignalfd ||
         k == FileKind::kEpoll || k == FileKind::kInotify;
}

const char* FileKindName(FileKind k) {
  switch (k) {
    case FileKind::kRegular:
      return "regular";
    case FileKind::kDirectory:
      return "directory";
    case FileKind::kPipe:
      return "pipe";
    case FileKind::kFifo:
      return "fifo";
    case FileKind::kSocket:
      return "socket";
    case FileKind::kTty:
      return "tty";
    case FileKind::kOther:
      return "other";
    case FileKind::kEventfd:
      return "eventfd";
    case FileKind::kTimerfd:
      return "timerfd";
    case FileKind::kSignalfd:
      return "signalfd";
    case FileKind::kEpoll:
      return "epoll";
    case FileKind::kInotify:
      return "inotify";
  }
  return "unknown";
}

Result<KernelAreas> ReadKernelAreas() {
  auto text = ReadProcFile("/proc/self/maps");
  if (!text.ok()) return text.status();
  KernelAreas a;
  std::string_view s = text.value();
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
    bool vdso = line.ends_with(" [vdso]");
    bool vvar = line.ends_with(" [vvar]") || line.ends_with(" [vvar_vclock]");
    if (!vdso && !vvar) continue;
    uint64_t start = 0, end = 0;
    size_t dash = line.find('-');
    size_t sp = line.find(' ');
    if (dash == std::string_view::npos || sp == std::string_view::npos || sp < dash) {
      return Status::Corruption("/proc/self/maps: unexpected line '" + std::string(line) + "'");
    }
    auto r1 = std::from_chars(line.data(), line.data() + dash, start, 16);
    auto r2 = std::from_chars(line.data() + dash + 1, line.data() + sp, end, 16);
    if (r1.ec != std::errc() || r2.ec != std::errc() || end < start) {
      return Status::Corruption("/proc/self/maps: unexpected line '" + std::string(line) + "'");
    }
    if (vdso) {
      a.vdso_addr = start;
      a.vdso_size = end - start;
    } else {
      if (a.vvar_size == 0 || start < a.vvar_addr) a.vvar_addr = start;
      a.vvar_size += end - start;
    }
  }
  return a;
}

Result<ImageHeader> CaptureProcessHeader() {
  ImageHeader h;
  h.image_id = RandomId();
  h.created_ns = NowNs();
  h.pid = static_cast<int32_t>(::getpid());
  h.uid = static_cast<uint32_t>(::getuid());
  h.gid = static_cast<uint32_t>(::getgid());
  h.page_size = HostPageSize();
  struct utsname u;
  if (::uname(&u) != 0) return Status::FromErrno("uname", errno);
  h.hostname = u.nodename;
  h.kernel_release = u.release;
  h.arch = HostArch();
  std::string exe(4096, '\0');
  ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size());
  if (n < 0) return Status::FromErrno("cannot read /proc/self/exe", errno);
  exe.resize(static_cast<size_t>(n));
  h.exe_path = exe;
  std::string cwd(4096, '\0');
  if (::getcwd(cwd.data(), cwd.size()) == nullptr) return Status::FromErrno("getcwd", errno);
  cwd.resize(std::strlen(cwd.c_str()));
  h.cwd = cwd;
  auto cmdline = ReadProcFile("/proc/self/cmdline");
  if (!cmdline.ok()) return cmdline.status();
  std::string_view c = cmdline.value();
  while (!c.empty()) {
    size_t z = c.find('\0');
    h.argv.emplace_back(c.substr(0, z));
    c.remove_prefix(z == std::string_view::npos ? c.size() : z + 1);
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) h.env.emplace_back(*e);
  auto areas = ReadKernelAreas();
  if (!areas.ok()) return areas.status();
  h.vdso_addr = areas->vdso_addr;
  h.vdso_size = areas->vdso_size;
  h.vvar_addr = areas->vvar_addr;
  h.vvar_size = areas->vvar_size;
  return h;
}

Status CheckRestorable(const ImageHeader& h, const KernelAreas& running) {
  if (h.arch != HostArch()) {
    return Status::FailedPrecondition("image is for architecture '" + h.arch + "', this host is '" +
                                      HostArch() + "'");
  }
  if (h.page_size != HostPageSize()) {
    return Status::FailedPrecondition("image page size " + Num(h.page_size) +
                                      " differs from this host's " + Num(HostPageSize()));
  }
  if (h.vdso_size != running.vdso_size) {
    return Status::FailedPrecondition("vDSO size " + Num(running.vdso_size) +
                                      " of the running kernel differs from the image's " +
                                      Num(h.vdso_size) + " (kernel " + h.kernel_release + ")");
  }
  if (h.vvar_size != running.vvar_size) {
    return Status::FailedPrecondition("vvar size " + Num(running.vvar_size) +
                                      " of the running kernel differs from the image's " +
                                      Num(h.vvar_size) + " (kernel " + h.kernel_release + ")");
  }
  return Status::Ok();
}

}  // namespace cairn::transparent
