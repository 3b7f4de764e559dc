#include "transparent/preload/written_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/log.h"

namespace cairn::preload::written {

namespace {

// The PAGEMAP_SCAN ABI (include/uapi/linux/fs.h, Linux 6.7); this system's headers may be
// older than the kernel it runs on.
struct PageRegion {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};
struct PmScanArg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kPageIsWritten = 1u << 1;
constexpr uint64_t kScanWpMatching = 1u << 0;
constexpr uint64_t kScanCheckWpAsync = 1u << 1;
constexpr uint64_t kFeatureWpAsync = 1ull << 15;  // UFFD_FEATURE_WP_ASYNC
constexpr int kUserModeOnly = 1;                  // UFFD_USER_MODE_ONLY

int g_uffd = -1;
bool g_tried = false;
char g_why[256];  // fixed: the private heap does not survive a restart

// One scan of [start, end) for written pages, protecting them again. -1 (errno) when the
// range is not (wholly) tracked.
int Scan(int pagemap, uint64_t start, uint64_t end, transparent::RangeSet* out) {
  PageRegion vec[256];
  uint64_t at = start;
  while (at < end) {
    PmScanArg a{};
    a.size = sizeof a;
    a.flags = kScanWpMatching | kScanCheckWpAsync;
    a.start = at;
    a.end = end;
    a.vec = reinterpret_cast<uint64_t>(vec);
    a.vec_len = sizeof vec / sizeof vec[0];
    a.category_mask = kPageIsWritten;
    a.return_mask = kPageIsWritten;
    const long n = ::ioctl(pagemap, kPagemapScan, &a);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    for (long i = 0; i < n; ++i) out->push_back({vec[i].start, vec[i].end});
    if (a.walk_end <= at) return -1;  // no progress: never loop forever
    at = a.walk_end;
  }
  return 0;
}

bool Register(int pagemap, uint64_t start, uint64_t end) {
  uffdio_register reg{};
  reg.range.start = start;
  reg.range.len = end - start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(g_uffd, UFFDIO_REGISTER, &reg) != 0) return false;
  transparent::RangeSet ignored;  // protect every page now: later writes are what counts
  return Scan(pagemap, start, end, &ignored) == 0;
}

}  // namespace

bool Available() {
  if (g_uffd >= 0) return true;
  if (g_tried) return false;
  g_tried = true;
  const int fd =
      static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | kUserModeOnly));
  if (fd < 0) {
    std::snprintf(g_why, sizeof g_why, "userfaultfd: %s", std::strerror(errno));
    return false;
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kFeatureWpAsync;
  if (::ioctl(fd, UFFDIO_API, &api) != 0) {
    std::snprintf(g_why, sizeof g_why,
                  "userfaultfd without asynchronous write protection (Linux < 6.7?): %s",
                  std::strerror(errno));
    ::close(fd);
    return false;
  }
  g_uffd = fd;
  return true;
}

const char* why() { return g_why; }

int Fd() { return g_uffd; }

Snapshot Take(const std::vector<transparent::MapRegion>& maps) {
  Snapshot snap;
  if (!Available()) return snap;
  const int pagemap = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) return snap;
  for (const transparent::MapRegion& m : maps) {
    transparent::RangeSet pages;
    if (Scan(pagemap, m.start, m.end, &pages) == 0) {
      snap.regions[m.start] = {m.end, transparent::NormalRanges(std::move(pages))};
    } else if (!Register(pagemap, m.start, m.end)) {
      log::Debug("preload: cannot track writes to ", m.ToString(), ": ", std::strerror(errno));
    }
  }
  ::close(pagemap);
  return snap;
}

void Forget(bool close_descriptor) {
  if (close_descriptor && g_uffd >= 0) ::close(g_uffd);
  g_uffd = -1;
  g_tried = false;
}

}  // namespace cairn::preload::written
