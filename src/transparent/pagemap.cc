#include "transparent/pagemap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace cairn::transparent {
namespace {

constexpr size_t kBatchEntries = 512;

std::string HexAddr(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

// Appends [start, start + len) to `runs`, extending the last run if it ends at `start`.
void Append(std::vector<PageRun>* runs, uint64_t start, uint64_t len) {
  if (!runs->empty() && runs->back().end == start) {
    runs->back().end += len;
  } else {
    runs->push_back({start, start + len});
  }
}

// True if the n bytes at p (n a multiple of 64) are all zero. Eight 8-byte words per step,
// OR-ed together; compilers vectorise this.
bool AllZero(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i += 64) {
    uint64_t acc = 0;
    for (size_t k = 0; k < 64; k += 8) {
      uint64_t w;
      std::memcpy(&w, p + i + k, sizeof w);
      acc |= w;
    }
    if (acc != 0) return false;
  }
  return true;
}

void NoteBlind(const PagemapReader& reader) {
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true)) {
    log::Info("cannot open ", reader.path(), " (", std::strerror(reader.open_errno()),
              "): saving every page of each region, touched or not");
  }
}

}  // namespace

size_t PageSize() {
  static const size_t size = [] {
    long ps = ::sysconf(_SC_PAGESIZE);
    return ps > 0 ? static_cast<size_t>(ps) : size_t{4096};
  }();
  return size;
}

std::vector<PageRun> MergeRuns(std::vector<PageRun> runs) {
  std::erase_if(runs, [](const PageRun& r) { return r.end <= r.start; });
  std::sort(runs.begin(), runs.end(),
            [](const PageRun& a, const PageRun& b) { return a.start < b.start; });
  std::vector<PageRun> out;
  out.reserve(runs.size());
  for (const PageRun& r : runs) {
    if (!out.empty() && r.start <= out.back().end) {
      out.back().end = std::max(out.back().end, r.end);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

PagemapReader::PagemapReader(const std::string& path) : path_(path) {
  do {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) open_errno_ = errno;
}

PagemapReader::~PagemapReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status PagemapReader::Scan(uint64_t start, uint64_t end, std::vector<PageRun>* present,
                           std::vector<PageRun>* swapped, PageScanStats* stats, bool private_only) {
  present->clear();
  swapped->clear();
  const uint64_t ps = PageSize();
  if (start % ps != 0 || end % ps != 0 || end < start) {
    return Status::InvalidArgument("pagemap scan of [" + HexAddr(start) + ", " + HexAddr(end) +
                                   "): not a page-aligned range");
  }
  const uint64_t pages = (end - start) / ps;
  if (stats != nullptr) stats->pages += pages;
  if (pages == 0) return Status::Ok();

  if (!available()) {
    NoteBlind(*this);
    present->push_back({start, end});
    if (stats != nullptr) {
      stats->pagemap_available = false;
      stats->present += pages;
    }
    return Status::Ok();
  }

  uint64_t entries[kBatchEntries];
  uint64_t n_present = 0;
  uint64_t n_swapped = 0;
  uint64_t page = start / ps;  // index of the next page to classify
  const uint64_t last = end / ps;
  while (page < last) {
    const uint64_t want = std::min<uint64_t>(kBatchEntries, last - page);
    const size_t want_bytes = static_cast<size_t>(want) * sizeof(uint64_t);
    size_t got_bytes = 0;
    while (got_bytes < want_bytes) {
      ssize_t n = ::pread(fd_, reinterpret_cast<char*>(entries) + got_bytes, want_bytes - got_bytes,
                          static_cast<off_t>(page * sizeof(uint64_t) + got_bytes));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("read " + path_ + " at page " + HexAddr(page * ps), errno);
      }
      if (n == 0) break;  // past the end of the address space the file describes
      got_bytes += static_cast<size_t>(n);
    }
    const uint64_t got = got_bytes / sizeof(uint64_t);
    for (uint64_t i = 0; i < got; ++i) {
      const uint64_t addr = (page + i) * ps;
      if ((entries[i] & kPagemapPresent) && private_only && (entries[i] & kPagemapFile)) {
        continue;  // the file's own page (or shared): not a private copy
      }
      if (entries[i] & kPagemapPresent) {
        Append(present, addr, ps);
        ++n_present;
      } else if (entries[i] & kPagemapSwapped) {
        Append(swapped, addr, ps);
        ++n_swapped;
      }
    }
    if (got < want) {
      // No entries for the rest: we cannot tell, so keep it (conservative).
      Append(present, (page + got) * ps, (last - page - got) * ps);
      n_present += last - page - got;
      break;
    }
    page += got;
  }
  if (stats != nullptr) {
    stats->present += n_present;
    stats->swapped += n_swapped;
  }
  return Status::Ok();
}

std::vector<PageRun> ScanZeroPages(const std::vector<PageRun>& runs, PageScanStats* stats) {
  const uint64_t ps = PageSize();
  std::vector<PageRun> out;
  uint64_t zero = 0;
  for (const PageRun& r : runs) {
    for (uint64_t addr = r.start; addr < r.end; addr += ps) {
      const auto* p = reinterpret_cast<const unsigned char*>(static_cast<uintptr_t>(addr));
      const size_t len = static_cast<size_t>(std::min<uint64_t>(ps, r.end - addr));
      // Whole pages are a multiple of 64 bytes; a ragged tail (not produced by Scan) is
      // checked bytewise.
      const size_t whole = len & ~size_t{63};
      bool is_zero = AllZero(p, whole);
      for (size_t i = whole; is_zero && i < len; ++i) is_zero = p[i] == 0;
      if (is_zero) {
        ++zero;
      } else {
        Append(&out, addr, len);
      }
    }
  }
  if (stats != nullptr) stats->zero += zero;
  return MergeRuns(std::move(out));
}

Result<std::vector<PageRun>> DataRuns(PagemapReader& reader, uint64_t start, uint64_t end,
                                      bool check_zero, PageScanStats* stats) {
  std::vector<PageRun> present;
  std::vector<PageRun> swapped;
  CAIRN_RETURN_IF_ERROR(reader.Scan(start, end, &present, &swapped, stats));
  if (check_zero) present = ScanZeroPages(present, stats);
  present.insert(present.end(), swapped.begin(), swapped.end());
  std::vector<PageRun> runs = MergeRuns(std::move(present));
  if (stats != nullptr) {
    const uint64_t ps = PageSize();
    for (const PageRun& r : runs) stats->data += r.size() / ps;
  }
  return runs;
}

Result<std::vector<PageRun>> DataRuns(uint64_t start, uint64_t end, bool check_zero,
                                      PageScanStats* stats) {
  PagemapReader reader;
  return DataRuns(reader, start, end, check_zero, stats);
}

}  // namespace cairn::transparent

namespace cairn::transparent {

Result<std::vector<PageRun>> PrivateCopyRuns(PagemapReader& reader, uint64_t start, uint64_t end) {
  std::vector<PageRun> present, swapped;
  CAIRN_RETURN_IF_ERROR(reader.Scan(start, end, &present, &swapped, nullptr, true));
  present.insert(present.end(), swapped.begin(), swapped.end());
  return MergeRuns(std::move(present));
}

std::vector<PageRun> ResidentRuns(uint64_t start, uint64_t end) {
  std::vector<PageRun> out;
  const uint64_t page = PageSize();
  std::vector<unsigned char> vec(4096);
  for (uint64_t at = start; at < end;) {
    const uint64_t n = std::min<uint64_t>((end - at) / page, vec.size());
    if (::mincore(reinterpret_cast<void*>(at), n * page, vec.data()) != 0) return {};
    for (uint64_t i = 0; i < n; ++i) {
      if ((vec[i] & 1) == 0) continue;
      const uint64_t p = at + i * page;
      if (!out.empty() && out.back().end == p) {
        out.back().end = p + page;
      } else {
        out.push_back({p, p + page});
      }
    }
    at += n * page;
  }
  return out;
}

}  // namespace cairn::transparent
