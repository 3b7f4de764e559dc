// Writing the process image (transparent/image.h, docs/image-format.md) while the user
// threads are parked.
//
// Contract:
//   - Called by the checkpoint thread only, with the gate held as writer and every user
//     thread in `parked` stopped in its handler; the calling thread is recorded as the
//     checkpoint thread.
//   - Sections: header (CaptureProcessHeader), REGIONS (every mapping but [vsyscall]; vDSO and
//     vvar are described, not saved), PAGES (anonymous / heap / stack / other memory: present
//     pages minus all-zero ones; readable private file mappings: the whole range up to the
//     file's end; shared or deleted or unreadable file mappings: present pages). Memory is
//     copied through a private bounce buffer from /proc/self/mem, which also reads pages
//     without PROT_READ (protections are never changed: an mprotect/restore by the maps read
//     earlier raced with the checkpoint thread's own allocator) and turns pages that vanished
//     meanwhile into skipped pages instead of SIGSEGV. THREADS, FILES
//     (/proc/self/fd minus `skip_fds`), SIGNALS, TIMERS, MISC; then Commit (atomic rename).
//   - Image path: <dir>/<exe-basename>-<pid>.v<N>.cimg with the pid of the launched process
//     (a restored process keeps the name and goes on counting N), or <exe>-<pid>-<k>.v<N> if
//     an older process with the same pid left images there; after the commit only the newest
//     `keep` images of this lineage are kept, with every image their chains need.
//   - Never exits or aborts; a failure leaves no partial image (the writer removes its .tmp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "format/format.h"
#include "transparent/preload/registry.h"

namespace cairn::preload {

struct CaptureOptions {
  std::string dir;  // absolute
  format::Codec codec = format::Codec::kNone;
  int codec_threads = 2;
  int keep = 2;
  std::vector<int> skip_fds;  // the library's own descriptors
  // A round over a process tree (control.h): the bytes in flight are saved for exactly the
  // pipes listed here (by inode; the round gives each pipe of the job to one reader), through
  // this process's read end, and written back through its write end or, when it has none, a
  // write end opened on /proc/self/fd/N. Other pipes are left alone: another process of the
  // job saves them. Unset (a single process): pipes with both ends here are saved.
  // Set, the image is not fdatasync'd here: the round syncs the file system before the job
  // manifest commits the images.
  bool tree = false;
  std::vector<uint64_t> drain_pipes;
  // Incremental images (image.h ParentRef, written_pages.h): a full image, then images of
  // the pages written since the one before, a full one every `full_every` checkpoints. 0 or
  // 1: every image is full. A full image is also written after a restart, a failed
  // checkpoint, when the previous image is gone, or when the kernel cannot track writes
  // (said once in the log).
  int full_every = 0;
  // Threads that write the image's pages (ImageWriter::AddMemoryRuns). 0: $CAIRN_WRITERS,
  // else the cores of the process's affinity (at most 4). A tree or MPI round sets 1: its
  // processes write at the same time already, and more threads than cores only contend.
  int writers = 0;
};

struct CaptureResult {
  std::string path;
  uint64_t bytes = 0;
  uint64_t page_bytes = 0;
  uint32_t depth = 0;  // 0: a full image; else its place in its chain (ParentRef::depth)
};

// At start: remembers the executable and argv, which /proc/self/exe and /proc/self/cmdline no
// longer show once the process was restored (the image name and header keep them).
void RememberIdentity();
// In a fork child of a followed process tree: its images get a lineage of their own (named
// with its pid), not its parent's.
void ForgetLineageInChild();
// After a restart: descriptors this module held belong to the old process (never closed); the
// process takes back its name (comm) from the restorer.
void ForgetDescriptorsAfterRestart();

// Without `resume`: writes the image here; the caller resumes the threads afterwards.
// With `resume` (--fork): collects what is not memory here (pipes drained and refilled, timers,
// signals, files), then clone()s a child without exit signal (the application's wait() never
// sees it) that saves the shared regions first, so that the parent calls `resume` as soon as
// those are copied (private memory is the child's copy-on-write snapshot), and then writes
// the rest and commits. Returns when the child is done; its result is the checkpoint's.
// A compressed image is always written by such a child (compression threads may only be
// started there); without `resume` the threads simply stay stopped until it is done.
Result<CaptureResult> WriteImage(const CaptureOptions& options,
                                 const std::vector<ThreadSlot*>& parked,
                                 const std::function<void()>& resume = nullptr);

}  // namespace cairn::preload
