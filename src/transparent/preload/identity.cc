// See identity.h.
#include "transparent/preload/identity.h"

#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "transparent/procfs.h"

namespace cairn::preload::identity {
namespace {

// /proc/self/stat fields (1-based): 26 startcode, 27 endcode, 28 startstack, 45 start_data,
// 46 end_data, 47 start_brk, 48 arg_start, 49 arg_end, 50 env_start, 51 env_end.
struct Layout {
  bool ok = false;
  uint64_t start_code, end_code, start_stack, start_data, end_data, start_brk;
  uint64_t arg_start, arg_end, env_start, env_end;
  unsigned char auxv[2048];
  size_t auxv_size = 0;
  char exe[4096];
};
Layout g_layout;  // plain memory: restored with the process

}  // namespace

void Remember() {
  const std::vector<std::string> fields =
      transparent::StatFields(transparent::ReadProcText("/proc/self/stat"));
  if (fields.size() <= 51) return;
  uint64_t f[52] = {0};
  for (int i = 3; i <= 51; ++i) f[i] = std::strtoull(fields[i].c_str(), nullptr, 10);
  Layout& l = g_layout;
  l.start_code = f[26];
  l.end_code = f[27];
  l.start_stack = f[28];
  l.start_data = f[45];
  l.end_data = f[46];
  l.start_brk = f[47];
  l.arg_start = f[48];
  l.arg_end = f[49];
  l.env_start = f[50];
  l.env_end = f[51];
  const std::string auxv = transparent::ReadProcText("/proc/self/auxv");
  l.auxv_size = auxv.size() <= sizeof l.auxv ? auxv.size() : 0;
  std::memcpy(l.auxv, auxv.data(), l.auxv_size);
  ssize_t e = ::readlink("/proc/self/exe", l.exe, sizeof l.exe - 1);
  l.exe[e > 0 ? e : 0] = '\0';
  l.ok = l.arg_end > l.arg_start;
}

void Restore() {
  const Layout& l = g_layout;
  if (!l.ok) return;
  prctl_mm_map m;
  std::memset(&m, 0, sizeof m);
  m.start_code = l.start_code;
  m.end_code = l.end_code;
  m.start_data = l.start_data;
  m.end_data = l.end_data;
  m.start_brk = l.start_brk;
  m.brk = static_cast<uint64_t>(::syscall(SYS_brk, 0));
  m.start_stack = l.start_stack;
  m.arg_start = l.arg_start;
  m.arg_end = l.arg_end;
  m.env_start = l.env_start;
  m.env_end = l.env_end;
  m.auxv = l.auxv_size > 0 ? reinterpret_cast<__u64*>(const_cast<unsigned char*>(l.auxv)) : nullptr;
  m.auxv_size = static_cast<uint32_t>(l.auxv_size);
  if (m.brk < m.start_brk) m.start_brk = m.brk;
  int exe_fd = l.exe[0] != '\0' ? ::open(l.exe, O_RDONLY | O_CLOEXEC) : -1;
  m.exe_fd = static_cast<uint32_t>(exe_fd);
  int rc = ::prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof m, 0);
  if (rc != 0 && exe_fd >= 0) {  // no right to change /proc/self/exe: the rest still helps
    m.exe_fd = static_cast<uint32_t>(-1);
    rc = ::prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof m, 0);
  }
  const int err = errno;
  if (exe_fd >= 0) ::close(exe_fd);
  if (rc != 0) {
    log::Info("preload: restart: /proc/self/cmdline stays the restorer's: prctl(PR_SET_MM_MAP): ",
              std::strerror(err));
  }
}

}  // namespace cairn::preload::identity
