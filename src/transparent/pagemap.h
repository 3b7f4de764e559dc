// Which pages of a virtual range hold data worth saving.
//
// /proc/self/pagemap has one 8-byte entry per virtual page (Documentation/admin-guide/mm/
// pagemap.rst): bit 63 "present in RAM", bit 62 "swapped"; neither means the page was never
// touched (or was discarded) and reads as zeros (anonymous memory) or as the file (file
// mappings). Since Linux 4.2 unprivileged readers see the flags but a zero PFN, which is all we
// need. A page that was only ever read maps the shared zero page and looks present too, so
// present runs can be scanned for all-zero content (ScanZeroPages).
//
// Caveats for callers:
//   - File-backed mappings: a page that is not present still has content (the file's). A
//     checkpoint that saves file mappings by content must save the whole range, not DataRuns.
//   - Transparent huge pages: one write can make a whole huge page present; check_zero drops
//     the untouched zero parts again.
//   - The pagemap file is opened per reader; after fork() the child must open its own (a file
//     opened before the fork describes the parent's memory). Hence no process-wide cached fd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "transparent/ranges.h"

namespace cairn::transparent {

inline constexpr uint64_t kPagemapPresent = 1ULL << 63;
inline constexpr uint64_t kPagemapSwapped = 1ULL << 62;
inline constexpr uint64_t kPagemapFile = 1ULL << 61;  // a file page or shared anonymous

// The system page size (sysconf(_SC_PAGESIZE)).
size_t PageSize();

// A half-open range [start, end) of page-aligned virtual addresses.
using PageRun = AddressRange;

// Sorts runs by address and merges overlapping or adjacent ones; drops empty runs.
std::vector<PageRun> MergeRuns(std::vector<PageRun> runs);

// Counters, in pages. Functions taking a PageScanStats* add to it (so one instance can sum a
// whole process) and may be given nullptr.
struct PageScanStats {
  // False once any scan found the pagemap file unreadable and counted pages as data blindly.
  bool pagemap_available = true;
  uint64_t pages = 0;    // pages in the ranges asked about
  uint64_t present = 0;  // present in RAM (includes zero-page mappings; all pages if blind)
  uint64_t swapped = 0;  // swapped out
  uint64_t zero = 0;     // present pages dropped because their content was all zeros
  uint64_t data = 0;     // pages in the runs returned as data
};

// A reader of a pagemap file, opened once; reads entries with pread in batches of 512.
// Reuse one for many ranges of the same process (one checkpoint pass). Not thread-safe.
class PagemapReader {
 public:
  // Opens `path` (tests may name another file). If it cannot be opened, the reader is not
  // available() and Scan() reports every page as present: conservative, never loses data.
  explicit PagemapReader(const std::string& path = "/proc/self/pagemap");
  ~PagemapReader();
  PagemapReader(const PagemapReader&) = delete;
  PagemapReader& operator=(const PagemapReader&) = delete;

  bool available() const { return fd_ >= 0; }
  int open_errno() const { return open_errno_; }
  const std::string& path() const { return path_; }

  // Splits the page-aligned range [start, end) into runs of present pages and of swapped pages
  // (each in address order, adjacent pages merged; the vectors are overwritten). Pages that
  // are neither are left out. kInvalidArgument for unaligned or inverted ranges, kIOError if a
  // read fails. Entries the file does not have (past the end of the address space) count as
  // present.
  // With private_only, present pages that are the file's own or shared (bit 61) are left out.
  Status Scan(uint64_t start, uint64_t end, std::vector<PageRun>* present,
              std::vector<PageRun>* swapped, PageScanStats* stats = nullptr,
              bool private_only = false);

 private:
  std::string path_;
  int fd_ = -1;
  int open_errno_ = 0;
};

// Of the pages in `runs` (which must be mapped and readable in this process), keeps those with
// a non-zero byte; returns them as merged runs. Reading a swapped-out page would swap it in,
// so callers pass present runs only.
std::vector<PageRun> ScanZeroPages(const std::vector<PageRun>& runs,
                                   PageScanStats* stats = nullptr);

// The pages of [start, end) in this process that hold data: present or swapped, minus (if
// check_zero) present pages whose content is all zeros. Merged runs in address order.
// With check_zero the range must be readable. If the pagemap cannot be opened, every page is
// taken as present (logged once at info level and flagged in stats).
Result<std::vector<PageRun>> DataRuns(uint64_t start, uint64_t end, bool check_zero,
                                      PageScanStats* stats = nullptr);
// The same with a reader the caller keeps across ranges.
Result<std::vector<PageRun>> DataRuns(PagemapReader& reader, uint64_t start, uint64_t end,
                                      bool check_zero, PageScanStats* stats = nullptr);

// The pages of a shared mapping [start, end) that its object (a shared memory segment, a
// file's page cache) holds in memory, whether or not this process has touched them (mincore):
// what a process that never touched a page of memory it shares would miss from DataRuns.
// Empty if mincore fails.
std::vector<PageRun> ResidentRuns(uint64_t start, uint64_t end);

// The pages of a private file mapping [start, end) that are the process's own copies
// (written: present without bit 61, or swapped): what differs from the file.
Result<std::vector<PageRun>> PrivateCopyRuns(PagemapReader& reader, uint64_t start, uint64_t end);

}  // namespace cairn::transparent
