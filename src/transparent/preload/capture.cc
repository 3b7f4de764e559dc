// See capture.h.
#include "transparent/preload/capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include "common/log.h"
#include "env/env.h"
#include "env/fd_io.h"
#include "format/codec.h"
#include "transparent/image.h"
#include "transparent/image_chain.h"
#include "transparent/maps.h"
#include "transparent/naming.h"
#include "transparent/objects/event_objects.h"
#include "transparent/objects/file_lock.h"
#include "transparent/objects/socket.h"
#include "transparent/objects/tty.h"
#include "transparent/pagemap.h"
#include "transparent/preload/identity.h"
#include "transparent/preload/inotify_paths.h"
#include "transparent/preload/kernel_state.h"
#include "transparent/preload/lower_half.h"
#include "transparent/preload/private_heap.h"
#include "transparent/preload/quiesce.h"
#include "transparent/preload/raw_threads.h"
#include "transparent/preload/real.h"
#include "transparent/preload/restart.h"
#include "transparent/preload/written_pages.h"
#include "transparent/procfs.h"

// glibc >= 2.35: where each thread's rseq area lies relative to its thread pointer.
extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace cairn::preload {
namespace {

namespace tr = cairn::transparent;
namespace objects = cairn::transparent::objects;

constexpr uint64_t kMaxIncludedFileContent = 64u << 20;

// The value after "<key>:" in a /proc status-style text, or "".

uint64_t ParseU64(const std::string& s, int base) {
  if (s.empty()) return 0;
  return std::strtoull(s.c_str(), nullptr, base);
}

void FillRseq(tr::ThreadState* t) {
  if (&__rseq_size == nullptr || &__rseq_offset == nullptr || __rseq_size == 0) return;
#if defined(__x86_64__)
  t->rseq_area = t->fs_base + static_cast<uint64_t>(__rseq_offset);
  t->rseq_sig = 0x53053053;
#elif defined(__aarch64__)
  t->rseq_area = t->fs_base + static_cast<uint64_t>(__rseq_offset);
  t->rseq_sig = 0xd428bc00;
#else
  return;
#endif
  t->rseq_len = 32;  // glibc registers its 32-byte struct rseq_area (__rseq_size is the ABI part)
}

std::string Affinity(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(tid, sizeof set, &set) != 0) return "";
  return std::string(reinterpret_cast<const char*>(&set), sizeof set);
}

std::vector<tr::ThreadState> CollectThreads(const std::vector<ThreadSlot*>& parked) {
  std::vector<tr::ThreadState> out;
  for (ThreadSlot* s : parked) {
    tr::ThreadState t;
    t.tid = s->tid;
    t.context.assign(reinterpret_cast<const char*>(&s->context), sizeof(ucontext_t));
    t.fs_base = s->fs_base;
    t.sigmask = s->sigmask;
    t.altstack_sp = reinterpret_cast<uint64_t>(s->altstack.ss_sp);
    t.altstack_size = s->altstack.ss_size;
    t.altstack_flags = static_cast<uint32_t>(s->altstack.ss_flags);
    if (s->affinity_ok) {
      t.affinity.assign(reinterpret_cast<const char*>(&s->affinity), sizeof s->affinity);
    }
    FillRseq(&t);
    out.push_back(std::move(t));
  }
  // The checkpoint thread itself.
  tr::ThreadState self;
  self.tid = ::gettid();
  self.checkpoint_thread = true;
  ucontext_t uc;
  ::getcontext(&uc);
  self.context.assign(reinterpret_cast<const char*>(&uc), sizeof uc);
  self.fs_base = ReadFsBase();
  sigset_t mask;
  sigemptyset(&mask);
  if (auto fn = real::pthread_sigmask(); fn != nullptr) fn(SIG_BLOCK, nullptr, &mask);
  std::memcpy(&self.sigmask, &mask, sizeof self.sigmask);
  stack_t ss;
  if (::sigaltstack(nullptr, &ss) == 0) {
    self.altstack_sp = reinterpret_cast<uint64_t>(ss.ss_sp);
    self.altstack_size = ss.ss_size;
    self.altstack_flags = static_cast<uint32_t>(ss.ss_flags);
  }
  self.affinity = Affinity(self.tid);
  FillRseq(&self);
  out.push_back(std::move(self));
  std::sort(out.begin(), out.end(),
            [](const tr::ThreadState& a, const tr::ThreadState& b) { return a.tid < b.tid; });
  return out;
}

// Pipes and FIFOs with both ends in the process: the bytes in flight are read out of the read end,
// recorded on it and written straight back through the write end (the pipe was just emptied,
// so the write cannot block), leaving the running process as it was.
// Reads the bytes in flight out of read end `r`, records them on it and writes them back
// through `wfd`, leaving the pipe as it was.
void DrainAndRefill(tr::FileState* r, int wfd) {
  int avail = 0;
  if (::ioctl(r->fd, FIONREAD, &avail) != 0 || avail <= 0) return;
  r->pipe_data.resize(static_cast<size_t>(avail));
  size_t got = 0;
  while (got < r->pipe_data.size()) {
    ssize_t n = ::read(r->fd, r->pipe_data.data() + got, r->pipe_data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  r->pipe_data.resize(got);
  size_t put = 0;
  while (put < got) {
    ssize_t n = ::write(wfd, r->pipe_data.data() + put, got - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log::Error("preload: cannot refill pipe fd ", r->fd, ": ", std::strerror(errno), "; ",
                 got - put, " bytes are only in the image");
      break;
    }
    put += static_cast<size_t>(n);
  }
}

// Pipes and FIFOs: the bytes in flight are read out of a read end, recorded on it and written
// straight back (the pipe was just emptied, so the write cannot block), leaving the running
// process as it was. A single process saves those with both ends here; in a tree round the
// round names the pipes this process saves (CaptureOptions).
void SavePipeData(std::vector<tr::FileState>* files, const CaptureOptions& o) {
  auto pipe_like = [](const tr::FileState& f) {
    return f.kind == tr::FileKind::kPipe || f.kind == tr::FileKind::kFifo;
  };
  for (auto& r : *files) {  // a FIFO's O_RDWR end is both a reader and a writer
    if (!pipe_like(r) || (r.open_flags & O_ACCMODE) == O_WRONLY) continue;
    const tr::FileState* w = nullptr;
    bool drained = false;
    for (const auto& f : *files) {
      if (!pipe_like(f) || f.kind != r.kind || f.pipe_id != r.pipe_id) continue;
      if (w == nullptr && (f.open_flags & O_ACCMODE) != O_RDONLY) w = &f;
      if (&f != &r && !f.pipe_data.empty()) drained = true;
    }
    if (drained) continue;
    if (!o.tree) {
      if (w != nullptr) DrainAndRefill(&r, w->fd);
      continue;
    }
    if (std::find(o.drain_pipes.begin(), o.drain_pipes.end(), r.pipe_id) == o.drain_pipes.end()) {
      continue;
    }
    if (w != nullptr) {
      DrainAndRefill(&r, w->fd);
      continue;
    }
    const std::string self = "/proc/self/fd/" + std::to_string(r.fd);
    int wfd = ::open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (wfd < 0) {
      log::Error("preload: cannot open a write end of pipe fd ", r.fd, ": ", std::strerror(errno),
                 "; its bytes in flight are not saved");
      continue;
    }
    DrainAndRefill(&r, wfd);
    ::close(wfd);
  }
}

// An eventfd, timerfd, signalfd, epoll or inotify (objects/event_objects.h): a duplicate of one
// listed before it (`listed`) refers to it, else its state is captured. A failure is logged and the
// descriptor kept as kind "other" (restored as a closed connection, never silently).
void CaptureEventObject(int fd, const std::string& fdinfo, const std::vector<tr::FileState>& listed,
                        tr::FileState* f) {
  for (const tr::FileState& earlier : listed) {
    if (earlier.kind == f->kind && objects::SameOpenFile(earlier.fd, fd)) {
      f->object.same_as = earlier.object.same_as >= 0 ? earlier.object.same_as : earlier.fd;
      return;
    }
  }
  Status st = objects::Capture(fd, fdinfo, f);
  for (tr::InotifyWatch& w : f->object.watches) {  // the kernel keeps no path
    std::string path = inotify_paths::Find(fd, w.wd);
    if (objects::WatchPathMatches(w, path)) {
      w.path = std::move(path);
    } else {
      log::Warn("preload: fd ", fd, " (inotify): the path of watch ", w.wd,
                path.empty() ? std::string(" is unknown") : " ('" + path + "') leads elsewhere now",
                "; it will not be restored");
    }
  }
  if (!st.ok()) {
    log::Warn("preload: ", st.ToString(), "; it will not be restored");
    f->kind = tr::FileKind::kOther;
    f->object = tr::EventObjectState{};
  }
}

std::vector<tr::FileState> CollectFiles(const std::vector<int>& skip, const CaptureOptions& o) {
  std::vector<tr::FileState> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) {
    log::Warn("preload: cannot list /proc/self/fd: ", std::strerror(errno));
    return out;
  }
  const int dfd = ::dirfd(d);
  std::vector<int> fds;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd == dfd || std::find(skip.begin(), skip.end(), fd) != skip.end()) continue;
    if (lower::IsLowerFd(fd)) continue;  // a lower half's (lower_half.h): never restored
    fds.push_back(fd);
  }
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) {
    tr::FileState f;
    f.fd = fd;
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    char buf[4096];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0) continue;  // closed meanwhile
    f.path.assign(buf, static_cast<size_t>(n));
    bool deleted = false;
    static const std::string kDeleted = " (deleted)";
    if (f.path.size() > kDeleted.size() && f.path.ends_with(kDeleted)) {
      f.path.resize(f.path.size() - kDeleted.size());
      deleted = true;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) continue;
    // A file of this process's own /proc directory: named through /proc/self, which is this
    // process again after a restart, whatever its pid is then.
    if (const std::string own = "/proc/" + std::to_string(::getpid()) + "/";
        f.path.starts_with(own)) {
      f.path = "/proc/self/" + f.path.substr(own.size());
    }
    f.mode = st.st_mode;
    const std::string info = tr::ReadProcText("/proc/self/fdinfo/" + std::to_string(fd));
    f.open_flags = static_cast<uint32_t>(ParseU64(tr::ProcField(info, "flags"), 8));
    int fdf = ::fcntl(fd, F_GETFD);
    f.fd_flags = fdf < 0 ? 0 : static_cast<uint32_t>(fdf);
    const int64_t pos = static_cast<int64_t>(ParseU64(tr::ProcField(info, "pos"), 10));
    f.offset = -1;
    if (tr::FileKind k = objects::KindOfLink(f.path); k != tr::FileKind::kOther) {
      f.kind = k;
      CaptureEventObject(fd, info, out, &f);
    } else if (S_ISREG(st.st_mode)) {
      f.kind = tr::FileKind::kRegular;
      f.offset = pos;
      f.size = static_cast<uint64_t>(st.st_size);
      f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      if (deleted || st.st_nlink == 0) {
        if (f.size <= kMaxIncludedFileContent) {
          f.content.resize(f.size);
          uint64_t done = 0;
          while (done < f.size) {
            ssize_t r =
                ::pread(fd, f.content.data() + done, f.size - done, static_cast<off_t>(done));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            done += static_cast<uint64_t>(r);
          }
          if (done == f.size) {
            f.content_included = true;
          } else {
            f.content.clear();
            log::Warn("preload: cannot read deleted file fd ", fd, " ('", f.path,
                      "'); its content is not in the image");
          }
        } else {
          log::Warn("preload: deleted file fd ", fd, " ('", f.path, "') is larger than ",
                    kMaxIncludedFileContent >> 20, " MiB; its content is not in the image");
        }
      }
    } else if (S_ISDIR(st.st_mode)) {
      f.kind = tr::FileKind::kDirectory;
      f.offset = pos;
    } else if (S_ISFIFO(st.st_mode)) {
      f.kind = f.path.starts_with("pipe:") ? tr::FileKind::kPipe : tr::FileKind::kFifo;
      f.pipe_id = st.st_ino;
    } else if (S_ISSOCK(st.st_mode)) {
      f.kind = tr::FileKind::kSocket;
      if (Status sst = objects::CaptureSocket(fd, &f); !sst.ok()) {
        log::Warn("preload: socket fd ", fd, ": ", sst.ToString(), "; it will not be restored");
        f.socket = tr::SocketState{};
      }
    } else if (S_ISCHR(st.st_mode) && ::isatty(fd)) {
      f.kind = tr::FileKind::kTty;
      if (Status tst = objects::CaptureTty(fd, f.path, &f); !tst.ok()) {
        log::Warn("preload: terminal fd ", fd, ": ", tst.ToString());
      }
    } else {
      f.kind = tr::FileKind::kOther;
      if (S_ISBLK(st.st_mode)) f.offset = pos;
    }
    if (f.kind == tr::FileKind::kRegular || f.kind == tr::FileKind::kDirectory) {
      f.locks = objects::CaptureLocks(fd, info);
    }
    out.push_back(std::move(f));
  }
  SavePipeData(&out, o);
  objects::SaveSocketQueues(&out, o.tree);
  return out;
}

// Signal actions now; the pending sets as kernel_state.h saved them.
tr::SignalState CollectSignals() {
  tr::SignalState s = kstate::PendingSignals();
  s.actions.clear();
  auto real_sa = real::sigaction();
  for (int sig = 1; sig <= 64 && real_sa != nullptr; ++sig) {
    struct sigaction sa;
    if (real_sa(sig, nullptr, &sa) != 0) continue;
    tr::SignalAction a;
    a.signo = static_cast<uint32_t>(sig);
    a.action.assign(reinterpret_cast<const char*>(&sa), sizeof sa);
    s.actions.push_back(std::move(a));
  }
  return s;
}

tr::MiscState CollectMisc() {
  tr::MiscState m;
  const std::vector<std::string> f = tr::StatFields(tr::ReadProcText("/proc/self/stat"));
  if (f.size() > 47) m.brk_start = ParseU64(f[47], 10);  // start_brk
  m.brk_current = reinterpret_cast<uint64_t>(::sbrk(0));
  if (m.brk_current < m.brk_start) m.brk_current = m.brk_start;
  m.personality = static_cast<uint32_t>(::personality(0xffffffff));
  m.umask = static_cast<uint32_t>(
                ParseU64(tr::ProcField(tr::ReadProcText("/proc/self/status"), "Umask"), 8)) &
            0777;
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    struct rlimit rl;
    if (::getrlimit(static_cast<__rlimit_resource>(r), &rl) != 0) continue;
    m.rlimits.push_back({static_cast<uint32_t>(r), static_cast<uint64_t>(rl.rlim_cur),
                         static_cast<uint64_t>(rl.rlim_max)});
  }
  return m;
}

// A private, read-only mapping of a file that is still there as it was mapped (same inode,
// long enough): saved as a reference plus its private copies (kRegionFromFile).
bool FromFile(const tr::MapRegion& m) {
  if (m.kind != tr::MapRegion::kFile || m.shared || m.deleted || m.write || !m.read ||
      m.path.empty() || m.path[0] != '/') {
    return false;
  }
  struct stat st;
  if (::stat(m.path.c_str(), &st) != 0 || st.st_ino != m.inode) return false;
  const uint64_t page = tr::PageSize();
  return static_cast<uint64_t>(st.st_size) + page > m.offset + (m.end - m.start);
}

tr::Region ToRegion(const tr::MapRegion& m) {
  tr::Region r;
  r.start = m.start;
  r.end = m.end;
  r.prot =
      (m.read ? tr::kProtRead : 0) | (m.write ? tr::kProtWrite : 0) | (m.exec ? tr::kProtExec : 0);
  r.flags = (m.shared ? tr::kRegionShared : tr::kRegionPrivate) |
            (m.kind == tr::MapRegion::kFile ? tr::kRegionFileBacked : tr::kRegionAnonymous);
  if (m.kind == tr::MapRegion::kStack) r.flags |= tr::kRegionStack;
  if (m.kind == tr::MapRegion::kHeap) r.flags |= tr::kRegionHeap;
  if (m.kind == tr::MapRegion::kVdso) r.flags |= tr::kRegionVdso;
  if (m.kind == tr::MapRegion::kVvar) r.flags |= tr::kRegionVvar;
  if (m.deleted) r.flags |= tr::kRegionDeleted;
  if (FromFile(m)) r.flags |= tr::kRegionFromFile;
  r.file_offset = m.offset;
  r.dev_major = m.dev_major;
  r.dev_minor = m.dev_minor;
  r.inode = m.inode;
  r.path = m.path;
  return r;
}

// The runs of region `m` to save (see capture.h), from the pagemap only (no memory is read
// here: the zero check happens on the copy). `skip_zero` says whether all-zero pages of the
// copy can be dropped (anonymous memory reads as zeros where nothing is saved).
Result<std::vector<tr::PageRun>> RunsToSave(tr::PagemapReader& pagemap, const tr::MapRegion& m,
                                            bool* skip_zero) {
  *skip_zero = false;
  if (m.kind != tr::MapRegion::kFile) {
    *skip_zero = true;
    return tr::DataRuns(pagemap, m.start, m.end, false);
  }
  if (m.shared && m.read && (m.write || m.deleted)) {
    // Shared memory: what its object holds, also pages this process never touched (another
    // process of a tree wrote them). (Read-only shared file mappings show the file.)
    auto touched = tr::DataRuns(pagemap, m.start, m.end, false);
    if (!touched.ok()) return touched.status();
    std::vector<tr::PageRun> runs = tr::ResidentRuns(m.start, m.end);
    runs.insert(runs.end(), touched.value().begin(), touched.value().end());
    return tr::MergeRuns(std::move(runs));
  }
  if (m.shared || m.deleted || !m.read) return tr::DataRuns(pagemap, m.start, m.end, false);
  if (FromFile(m)) return tr::PrivateCopyRuns(pagemap, m.start, m.end);
  // Readable private file mapping: all of it, but never past the file's end (SIGBUS).
  struct stat st;
  if (::stat(m.path.c_str(), &st) != 0 || st.st_ino != m.inode) {
    return tr::DataRuns(pagemap, m.start, m.end, false);
  }
  const uint64_t page = tr::PageSize();
  const uint64_t fsize = static_cast<uint64_t>(st.st_size);
  if (fsize <= m.offset) return tr::DataRuns(pagemap, m.start, m.end, false);
  uint64_t avail = (fsize - m.offset + page - 1) / page * page;
  uint64_t end = std::min(m.end, m.start + avail);
  std::vector<tr::PageRun> runs{{m.start, end}};
  if (end < m.end) {
    // Pages past the file's end can only be present as private copies (written).
    auto tail = tr::DataRuns(pagemap, end, m.end, false);
    if (!tail.ok()) return tail.status();
    runs.insert(runs.end(), tail.value().begin(), tail.value().end());
  }
  return runs;
}

// Copies page runs out of this process's memory through a private bounce buffer with
// process_vm_readv, so that memory that vanished since the maps were read (the checkpoint
// thread's own allocator may trim its heap meanwhile) is an EFAULT to skip, never a SIGSEGV.
// The bounce buffer is mmap()ed once and never freed; its own pages are never saved.
class PageCopier {
 public:
  static constexpr size_t kBufSize = 4u << 20;

  Status Init() {
    if (buf_ == nullptr) {
      void* p =
          ::mmap(nullptr, kBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return Status::FromErrno("mmap of the checkpoint bounce buffer", errno);
      buf_ = static_cast<char*>(p);
    }
    if (mem_fd_ < 0 || mem_pid_ != ::getpid()) {
      if (mem_fd_ >= 0) ::close(mem_fd_);
      mem_fd_ = ::open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
      mem_pid_ = ::getpid();
      if (mem_fd_ < 0) {
        log::Warn("preload: cannot open /proc/self/mem (", std::strerror(errno),
                  "); regions without PROT_READ are not saved");
      }
    }
    return Status::Ok();
  }
  int mem_fd() const { return mem_fd_; }
  void Forget() {
    mem_fd_ = -1;
    mem_pid_ = 0;
  }

  // Saves `runs` of region [start, end) as one PAGES section (none if nothing is left).
  // `direct`: the region is private anonymous memory the program's parked threads cannot
  // change or unmap, readable in place, so an uncompressed image takes its pages straight
  // from memory on the writer threads (ImageWriter::AddMemoryRuns), without this copy.
  Status Save(tr::ImageWriter* w, uint64_t start, uint64_t end,
              const std::vector<tr::PageRun>& runs, bool skip_zero, bool direct) {
    w_ = w;
    region_start_ = start;
    region_end_ = end;
    begun_ = false;
    skip_zero_ = skip_zero;
    // Never the bounce buffer or the private heap (the library's own memory).
    const uint64_t ex[2][2] = {
        {reinterpret_cast<uint64_t>(buf_), reinterpret_cast<uint64_t>(buf_) + kBufSize},
        {heap::Base(), heap::Base() + heap::Size()}};
    std::vector<tr::PageRun> in_place;
    direct = direct && !w->compressed();
    for (const auto& r : runs) {
      std::vector<tr::PageRun> parts{r};
      for (const auto& e : ex) {
        std::vector<tr::PageRun> next;
        for (const auto& q : parts) {
          if (e[0] == e[1] || q.end <= e[0] || q.start >= e[1]) {
            next.push_back(q);
            continue;
          }
          if (q.start < e[0]) next.push_back({q.start, e[0]});
          if (q.end > e[1]) next.push_back({e[1], q.end});
        }
        parts.swap(next);
      }
      if (direct) {
        in_place.insert(in_place.end(), parts.begin(), parts.end());
        continue;
      }
      for (const auto& q : parts) CAIRN_RETURN_IF_ERROR(Queue(q.start, q.end));
    }
    if (!in_place.empty()) {
      CAIRN_RETURN_IF_ERROR(w_->BeginPages(region_start_, region_end_));
      begun_ = true;
      CAIRN_RETURN_IF_ERROR(w_->AddMemoryRuns(in_place, skip_zero_));
    }
    CAIRN_RETURN_IF_ERROR(FlushQueue());
    if (begun_) return w_->EndPages();
    return Status::Ok();
  }

 private:
  // Small runs (an incremental image's scattered pages) are gathered and read with one
  // process_vm_readv per bounce buffer's worth (at most kMaxIov runs) instead of one read
  // each; large runs are read alone.
  static constexpr size_t kMaxIov = 1024;
  static constexpr uint64_t kSmallRun = 256u << 10;

  Status Queue(uint64_t start, uint64_t end) {
    if (end - start >= kSmallRun) {
      CAIRN_RETURN_IF_ERROR(FlushQueue());
      return CopyRun(start, end);
    }
    if (queued_ == kMaxIov || queued_bytes_ + (end - start) > kBufSize) {
      CAIRN_RETURN_IF_ERROR(FlushQueue());
    }
    queue_[queued_++] = {start, end};
    queued_bytes_ += end - start;
    return Status::Ok();
  }

  // Reads the queued runs into the bounce buffer at once; if that fails or is short (a page
  // without PROT_READ, one gone meanwhile), each run goes the careful way (CopyRun).
  Status FlushQueue() {
    if (queued_ == 0) return Status::Ok();
    struct iovec local[kMaxIov], remote[kMaxIov];
    uint64_t off = 0;
    for (size_t i = 0; i < queued_; ++i) {
      const uint64_t len = queue_[i].end - queue_[i].start;
      local[i] = {buf_ + off, static_cast<size_t>(len)};
      remote[i] = {reinterpret_cast<void*>(queue_[i].start), static_cast<size_t>(len)};
      off += len;
    }
    const size_t n = queued_;
    queued_ = 0;
    queued_bytes_ = 0;
    ssize_t got;
    do {
      got = ::process_vm_readv(::getpid(), local, n, remote, n, 0);
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(off)) {
      off = 0;
      for (size_t i = 0; i < n; ++i) {
        const uint64_t len = queue_[i].end - queue_[i].start;
        CAIRN_RETURN_IF_ERROR(Emit(queue_[i].start, len, buf_ + off));
        off += len;
      }
      return Status::Ok();
    }
    for (size_t i = 0; i < n; ++i) CAIRN_RETURN_IF_ERROR(CopyRun(queue_[i].start, queue_[i].end));
    return Status::Ok();
  }

  // Reads [addr, end) into the bounce buffer piece by piece: through /proc/self/mem (which
  // also reads pages without PROT_READ, without touching protections), else with
  // process_vm_readv. A page that cannot be read (gone meanwhile) is skipped.
  Status CopyRun(uint64_t addr, uint64_t end) {
    const uint64_t page = tr::PageSize();
    while (addr < end) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(end - addr, kBufSize));
      ssize_t n;
      if (mem_fd_ >= 0) {
        n = ::pread(mem_fd_, buf_, len, static_cast<off_t>(addr));
      } else {
        struct iovec local {
          buf_, len
        };
        struct iovec remote {
          reinterpret_cast<void*>(addr), len
        };
        n = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EFAULT && errno != EIO) {
          return Status::FromErrno("reading own memory at " + std::to_string(addr), errno);
        }
        n = 0;
      }
      const uint64_t got = static_cast<uint64_t>(n) / page * page;
      CAIRN_RETURN_IF_ERROR(Emit(addr, got, buf_));
      addr += got < len ? got + page : got;  // skip a page that could not be read
    }
    return Status::Ok();
  }

  static bool IsZeroPage(const char* p, size_t n) {
    const auto* w = reinterpret_cast<const uint64_t*>(p);
    uint64_t acc = 0;
    for (size_t i = 0; i < n / sizeof(uint64_t); ++i) acc |= w[i];
    return acc == 0;
  }

  Status Add(uint64_t addr, const char* data, uint64_t len) {
    if (len == 0) return Status::Ok();
    if (!begun_) {
      CAIRN_RETURN_IF_ERROR(w_->BeginPages(region_start_, region_end_));
      begun_ = true;
    }
    return w_->AddPageRun(addr, data, len);
  }

  // data[0, len) holds the pages at addr.
  Status Emit(uint64_t addr, uint64_t len, const char* data) {
    if (!skip_zero_) return Add(addr, data, len);
    const uint64_t page = tr::PageSize();
    uint64_t run = 0, run_len = 0;
    for (uint64_t off = 0; off < len; off += page) {
      if (IsZeroPage(data + off, page)) {
        CAIRN_RETURN_IF_ERROR(Add(addr + run, data + run, run_len));
        run = off + page;
        run_len = 0;
      } else {
        run_len += page;
      }
    }
    return Add(addr + run, data + run, run_len);
  }

  char* buf_ = nullptr;
  int mem_fd_ = -1;
  pid_t mem_pid_ = 0;
  tr::ImageWriter* w_ = nullptr;
  uint64_t region_start_ = 0, region_end_ = 0;
  bool begun_ = false;
  bool skip_zero_ = false;
  tr::PageRun queue_[kMaxIov];
  size_t queued_ = 0;
  uint64_t queued_bytes_ = 0;
};

PageCopier g_copier;

enum class PagePass { kAll, kShared, kPrivate };

// An incremental image being written: the pages written since its parent (a snapshot of
// written_pages.h), and what it inherits, gathered region by region.
struct Delta {
  const written::Snapshot* snapshot = nullptr;
  tr::RangeSet inherited;
};

// Saves the pages of `maps` (one pass: all regions, or only the shared / private ones).
// `shared_pagemap`, if given, describes shared regions (a forked child's own pagemap does
// not: fork copies no page table entries of shared mappings). With `delta`, a private region
// the snapshot tracked saves only its written pages; its other pages are inherited.
Status WritePages(tr::ImageWriter* w, const std::vector<tr::MapRegion>& maps, PagePass pass,
                  tr::PagemapReader* shared_pagemap, Delta* delta) {
  tr::PagemapReader pagemap;
  const uint64_t vdso = ::getauxval(AT_SYSINFO_EHDR);
  for (const auto& m : maps) {
    if (!tr::ShouldSave(m) || m.start == vdso) continue;
    if ((pass == PagePass::kShared && !m.shared) || (pass == PagePass::kPrivate && m.shared)) {
      continue;
    }
    bool skip_zero = false;
    tr::PagemapReader& pm = m.shared && shared_pagemap != nullptr ? *shared_pagemap : pagemap;
    // The private heap's reservation (16 GiB of address space, never saved) is not even
    // looked at: its pagemap alone is 32 MiB to read.
    std::vector<tr::MapRegion> parts{m};
    const uint64_t hb = heap::Base(), he = heap::Base() + heap::Size();
    if (m.kind != tr::MapRegion::kFile && hb != he && m.start < he && m.end > hb) {
      parts.clear();
      if (m.start < hb) parts.push_back(m), parts.back().end = hb;
      if (m.end > he) parts.push_back(m), parts.back().start = he;
    }
    Result<std::vector<tr::PageRun>> runs = std::vector<tr::PageRun>{};
    for (const tr::MapRegion& part : parts) {
      auto some = RunsToSave(pm, part, &skip_zero);
      if (!some.ok()) {
        runs = some.status();
        break;
      }
      runs.value().insert(runs.value().end(), some.value().begin(), some.value().end());
    }
    if (!runs.ok()) return runs.status().Annotate("saving " + m.ToString());
    if (delta != nullptr && !m.shared) {
      auto it = delta->snapshot->regions.find(m.start);
      if (it != delta->snapshot->regions.end() && it->second.end == m.end) {
        tr::RangeSet all = tr::NormalRanges(std::move(runs.value()));
        runs = tr::IntersectRanges(all, it->second.written);
        tr::RangeSet kept = tr::SubtractRanges(all, it->second.written);
        delta->inherited.insert(delta->inherited.end(), kept.begin(), kept.end());
      }
    }
    if (runs.value().empty()) continue;
    // A region without PROT_READ is read through /proc/self/mem, protections untouched.
    // (Never mprotect by the maps read earlier: the checkpoint thread's own allocator may have
    // grown into such a region since, and restoring PROT_NONE there would break it.)
    if (!m.read && g_copier.mem_fd() < 0) continue;
    // In place: private anonymous memory (not the brk heap, which glibc may trim).
    const bool direct = m.kind == tr::MapRegion::kAnonymous && !m.shared && m.read;
    Status st = g_copier.Save(w, m.start, m.end, runs.value(), skip_zero, direct);
    if (!st.ok()) return st.Annotate("saving " + m.ToString());
  }
  return Status::Ok();
}

// Threads that hash and write an image's page batches: $CAIRN_WRITERS (1..64), else
// `wanted` when set (a round of several processes: 1), else the cores this process may run
// on (its affinity: a Slurm or mpirun binding), at most 4. No file is opened (sysconf would
// read /sys during the checkpoint).
int Writers(int wanted) {
  if (const char* e = std::getenv("CAIRN_WRITERS"); e != nullptr && *e != '\0') {
    char* end = nullptr;
    const long v = std::strtol(e, &end, 10);
    if (*end == '\0' && v >= 1 && v <= 64) return static_cast<int>(v);
    log::Warn("preload: CAIRN_WRITERS='", e, "' is not a number 1..64; using the default");
  }
  if (wanted > 0) return std::min(wanted, 64);
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cores = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return std::clamp(cores, 1, 4);
}

// ------------------------------------------------------------------ incremental images

// The image this lineage's next incremental image would follow: the last one committed whose
// snapshot of written pages was taken (fixed storage: it is in every image, and a restart,
// which tracks nothing, resets it).
struct ChainState {
  bool valid = false;
  uint64_t image_id = 0;
  char name[256] = {};
  uint32_t depth = 0;  // 0: a full image
};
ChainState g_chain;
bool g_said_untracked = false;

// The regions whose writes are tracked: private memory a checkpoint saves, not the library's
// own (its private heap, the bounce buffer) nor the kernel's (vDSO, vvar).
std::vector<tr::MapRegion> Trackable(const std::vector<tr::MapRegion>& maps) {
  std::vector<tr::MapRegion> out;
  const uint64_t vdso = ::getauxval(AT_SYSINFO_EHDR);
  const uint64_t hb = heap::Base(), he = heap::Base() + heap::Size();
  for (const tr::MapRegion& m : maps) {
    if (m.shared || !tr::ShouldSave(m) || m.start == vdso || m.kind == tr::MapRegion::kVdso ||
        m.kind == tr::MapRegion::kVvar || m.kind == tr::MapRegion::kVsyscall) {
      continue;
    }
    if (hb != he && m.start < he && m.end > hb) continue;
    out.push_back(m);
  }
  return out;
}

// ------------------------------------------------------------------ naming and retention

// "<exe>-<pid>.v": a fixed array, since it lives across restarts and the checkpoint thread's
// allocations (private heap) do not.
char g_prefix_buf[512];
std::string Prefix() { return g_prefix_buf; }
void SetPrefix(const std::string& p) {
  std::snprintf(g_prefix_buf, sizeof g_prefix_buf, "%s", p.c_str());
}
std::string g_exe_path;  // as at start (RememberIdentity)
std::vector<std::string> g_argv;
int g_next_version = 0;
constexpr const char* kSuffix = tr::naming::kImageSuffix;

// The versions of this process's images in `dir`, ascending.
std::vector<int> ListVersions(Env* env, const std::string& dir) {
  std::vector<int> out;
  auto names = env->ListDir(dir);
  if (!names.ok()) return out;
  const std::string suffix = kSuffix;
  for (const auto& n : names.value()) {
    const std::string g_prefix = Prefix();
    if (n.size() <= g_prefix.size() + suffix.size() || !n.starts_with(g_prefix) ||
        !n.ends_with(suffix)) {
      continue;
    }
    std::string num = n.substr(g_prefix.size(), n.size() - g_prefix.size() - suffix.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos || num.size() > 9) {
      continue;
    }
    out.push_back(std::atoi(num.c_str()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ImagePath(const std::string& dir, int version) {
  return tr::naming::ImagePath(dir, Prefix(), version);
}

}  // namespace

namespace {
char g_comm[16];  // the process name (/proc/self/comm) at start
}  // namespace

void RememberIdentity() {
  auto h = tr::CaptureProcessHeader();
  if (!h.ok()) return;
  g_exe_path = h.value().exe_path;
  g_argv = h.value().argv;
  identity::Remember();
  (void)::prctl(PR_GET_NAME, g_comm);
}

void ForgetLineageInChild() {
  g_prefix_buf[0] = '\0';
  g_chain.valid = false;
  written::Forget(true);
}

void ForgetDescriptorsAfterRestart() {
  g_copier.Forget();
  g_chain.valid = false;  // nothing is tracked in the restored process: a full image next
  written::Forget(false);
  // ps, pgrep and top show the program's name again instead of the restorer's.
  if (g_comm[0] != '\0') (void)::prctl(PR_SET_NAME, g_comm);
  identity::Restore();
}

namespace {

// What an image holds besides memory, collected while the threads are parked.
struct Collected {
  std::string path;
  tr::ImageHeader header;
  std::vector<tr::ThreadState> threads;
  std::vector<tr::FileState> files;
  tr::SignalState signals;
  tr::TimerState timers;
  tr::MiscState misc;
  std::vector<CairnPipeSize> pipe_sizes;
  CairnRestartInfo restart_info{};
  bool restartable = false;
  tr::ParentRef parent;  // an incremental image: its parent (inherited runs filled in later)
};

Result<Collected> Collect(const CaptureOptions& o, const std::vector<ThreadSlot*>& parked) {
  Env* env = Env::Default();
  // The lineage's name: fixed at the first checkpoint (a restored process keeps it in its
  // memory, so versions go on across restarts and retention covers them all). A new process
  // whose pid left images of an older lineage in the directory takes another name.
  if (g_prefix_buf[0] == '\0') {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string exe = n > 0 ? BaseName(std::string(buf, static_cast<size_t>(n))) : "process";
    if (!g_exe_path.empty()) exe = BaseName(g_exe_path);
    SetPrefix(tr::naming::ImagePrefix(exe, ::getpid()));
    for (int k = 2; !ListVersions(env, o.dir).empty() && k < 1000; ++k) {
      SetPrefix(tr::naming::ImagePrefix(exe, ::getpid(), k));
    }
    g_next_version = 1;
  }
  // The version is taken before memory is saved, so a restored process goes on after it;
  // never below an image already there (a restart of an older image starts a new branch).
  auto existing = ListVersions(env, o.dir);
  if (!existing.empty()) g_next_version = std::max(g_next_version, existing.back() + 1);
  Collected c;
  c.path = ImagePath(o.dir, g_next_version++);
  CAIRN_RETURN_IF_ERROR(g_copier.Init());
  std::vector<int> skip = o.skip_fds;
  if (g_copier.mem_fd() >= 0) skip.push_back(g_copier.mem_fd());
  if (written::Fd() >= 0) skip.push_back(written::Fd());
  c.threads = CollectThreads(parked);
  c.files = CollectFiles(skip, o);
  for (const auto& f : c.files) {
    if (f.kind != tr::FileKind::kPipe && f.kind != tr::FileKind::kFifo) continue;
    const int size = ::fcntl(f.fd, F_GETPIPE_SZ);
    if (size > 0) c.pipe_sizes.push_back({f.fd, static_cast<uint32_t>(size)});
  }
  c.signals = CollectSignals();
  c.timers = kstate::Timers();
  c.misc = CollectMisc();
  auto header = tr::CaptureProcessHeader();
  if (!header.ok()) return header.status();
  c.header = std::move(header).value();
  if (!g_exe_path.empty()) {
    c.header.exe_path = g_exe_path;
    c.header.argv = g_argv;
  }
  c.restartable = restart::GetRestartInfo(&c.restart_info);
  if (c.restartable) c.header.restart_entry = c.restart_info.entry;
  return c;
}

// With incremental images on: takes the snapshot of written pages (every image, so that the
// next one counts from this one) and says whether this image is incremental (then c->parent
// names its parent).
bool PlanIncremental(const CaptureOptions& o, Collected* c, written::Snapshot* snap,
                     bool* tracked) {
  *tracked = false;
  if (o.full_every <= 1) return false;
  if (!written::Available()) {
    if (!g_said_untracked) {
      g_said_untracked = true;
      log::Info("preload: incremental images need write tracking (", written::why(),
                "); every image is full");
    }
    return false;
  }
  auto maps = tr::ReadMaps();
  if (!maps.ok()) return false;
  lower::FilterMaps(&maps.value());
  *snap = written::Take(Trackable(maps.value()));
  *tracked = true;
  if (!g_chain.valid || g_chain.depth + 1 >= static_cast<uint32_t>(o.full_every)) return false;
  if (!Env::Default()->Exists(JoinPath(o.dir, g_chain.name))) return false;  // pruned, aborted
  c->parent.image_id = g_chain.image_id;
  c->parent.name = g_chain.name;
  c->parent.depth = g_chain.depth + 1;
  return true;
}

// After the image of `c` was written (or not): what the next one may follow.
void RecordChain(const Collected& c, const Result<CaptureResult>& r, bool tracked) {
  g_chain.valid = r.ok() && tracked;
  if (!g_chain.valid) return;
  g_chain.image_id = c.header.image_id;
  std::snprintf(g_chain.name, sizeof g_chain.name, "%s", BaseName(c.path).c_str());
  g_chain.depth = r.value().depth;
}

// Writes and commits the image of `c` with the memory described by `maps` (read now if
// null). `after_shared`, if set, runs once the shared regions are saved (before the rest).
// `codec_threads`: blocks compressed in parallel. Every extra thread here is a raw thread
// (raw_threads.h): a pthread started in the checkpointed process would leave glibc's thread
// bookkeeping (stack cache, TLS vectors) pointing into the private heap, which a restored
// process does not have.
Result<CaptureResult> WriteCollected(const CaptureOptions& o, const Collected& c,
                                     const std::vector<tr::MapRegion>* maps,
                                     tr::PagemapReader* shared_pagemap,
                                     const std::function<void()>& after_shared, int codec_threads,
                                     const written::Snapshot* since_parent) {
  Env* env = Env::Default();
  CAIRN_RETURN_IF_ERROR(g_copier.Init());
  // Compression and page writers run on raw threads (raw_threads.h), never pthreads.
  format::SetParallelRunner(&RunOnRawThreads);
  tr::WriteOptions wo;
  wo.codec = o.codec;
  if (o.codec != format::Codec::kNone) wo.threads = std::max(1, codec_threads);
  wo.writers = Writers(o.writers);
  // A tree's images are made durable together by the round (one syncfs before the job
  // manifest that commits them), not one fdatasync each.
  wo.sync = !o.tree;
  auto writer = tr::ImageWriter::Create(env, c.path, wo);
  if (!writer.ok()) return writer.status();
  tr::ImageWriter* w = writer.value().get();
  CAIRN_RETURN_IF_ERROR(w->WriteHeader(c.header));

  // Read after the writer exists (unless given), so its buffers are part of what is described.
  std::vector<tr::MapRegion> own;
  if (maps == nullptr) {
    auto read = tr::ReadMaps();
    if (!read.ok()) return read.status();
    own = std::move(read).value();
    lower::FilterMaps(&own);
    maps = &own;
  }
  std::vector<tr::Region> regions;
  std::vector<CairnFileRef> refs;  // files of kRegionFromFile regions, one per inode
  for (const auto& m : *maps) {
    if (m.kind == tr::MapRegion::kVsyscall || m.size() == 0) continue;
    regions.push_back(ToRegion(m));
    if ((regions.back().flags & tr::kRegionFromFile) == 0) continue;
    struct stat st;
    if (::stat(m.path.c_str(), &st) != 0) continue;
    if (std::none_of(refs.begin(), refs.end(), [&](const CairnFileRef& r) {
          return r.inode == static_cast<uint64_t>(st.st_ino);
        })) {
      refs.push_back({static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec});
    }
  }
  CAIRN_RETURN_IF_ERROR(w->WriteRegions(regions));
  Delta delta;
  delta.snapshot = since_parent;
  Delta* d = since_parent != nullptr ? &delta : nullptr;
  if (after_shared) {
    CAIRN_RETURN_IF_ERROR(WritePages(w, *maps, PagePass::kShared, shared_pagemap, d));
    after_shared();
    CAIRN_RETURN_IF_ERROR(WritePages(w, *maps, PagePass::kPrivate, shared_pagemap, d));
  } else {
    CAIRN_RETURN_IF_ERROR(WritePages(w, *maps, PagePass::kAll, shared_pagemap, d));
  }
  if (d != nullptr) {
    tr::ParentRef parent = c.parent;
    parent.inherited = tr::NormalRanges(std::move(delta.inherited));
    CAIRN_RETURN_IF_ERROR(w->WriteParent(parent));
  }
  CAIRN_RETURN_IF_ERROR(w->WriteThreads(c.threads));
  CAIRN_RETURN_IF_ERROR(w->WriteFiles(c.files));
  CAIRN_RETURN_IF_ERROR(w->WriteSignals(c.signals));
  CAIRN_RETURN_IF_ERROR(w->WriteTimers(c.timers));
  CAIRN_RETURN_IF_ERROR(w->WriteMisc(c.misc));
  if (!c.pipe_sizes.empty()) {
    CAIRN_RETURN_IF_ERROR(w->WriteOptionalSection(CAIRN_PIPES_SECTION, c.pipe_sizes.data(),
                                                  c.pipe_sizes.size() * sizeof(CairnPipeSize)));
  }
  if (c.restartable) {
    CAIRN_RETURN_IF_ERROR(
        w->WriteOptionalSection(CAIRN_RESTART_SECTION, &c.restart_info, sizeof c.restart_info));
  }
  if (!refs.empty()) {
    CAIRN_RETURN_IF_ERROR(w->WriteOptionalSection(CAIRN_FILEREFS_SECTION, refs.data(),
                                                  refs.size() * sizeof(CairnFileRef)));
  }
  CAIRN_RETURN_IF_ERROR(w->Commit());
  CaptureResult result;
  result.path = c.path;
  result.bytes = w->bytes_written();
  result.page_bytes = w->page_bytes_raw();
  result.depth = since_parent != nullptr ? c.parent.depth : 0;

  // Retention: the newest `keep` images of this process, and the images their chains need.
  auto versions = ListVersions(env, o.dir);
  const size_t keep = static_cast<size_t>(std::max(1, o.keep));
  if (versions.size() > keep) {
    std::vector<std::string> needed;
    for (size_t i = versions.size() - keep; i < versions.size(); ++i) {
      for (std::string& f : tr::ChainFiles(env, ImagePath(o.dir, versions[i]))) {
        needed.push_back(std::move(f));
      }
    }
    for (size_t i = 0; i + keep < versions.size(); ++i) {
      const std::string path = ImagePath(o.dir, versions[i]);
      if (std::find(needed.begin(), needed.end(), path) != needed.end()) continue;
      Status st = env->RemoveFile(path);
      if (!st.ok()) log::Warn("preload: retention: ", st.ToString());
    }
  }
  return result;
}

// The forked writer's report on its pipe: "S" once the shared regions are saved, then
// "OK <bytes> <page_bytes>" or "ER <message>".
void Report(int fd, const std::string& msg) { (void)WriteFd(fd, msg, "a report"); }

Result<CaptureResult> WriteForked(const CaptureOptions& o, const Collected& c,
                                  const std::function<void()>& resume,
                                  const written::Snapshot* since_parent) {
  auto maps = tr::ReadMaps();
  if (!maps.ok()) return maps.status();
  lower::FilterMaps(&maps.value());
  tr::PagemapReader parent_pagemap;  // this process's: the child reads shared regions with it
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::FromErrno("pipe2 for the image writer", errno);
  // A clone without exit signal: the application's wait()/SIGCHLD never see this child.
  const long pid = ::syscall(SYS_clone, 0L, nullptr, nullptr, nullptr, 0L);
  if (pid < 0) {
    int e = errno;
    ::close(p[0]);
    ::close(p[1]);
    return Status::FromErrno("fork of the image writer", e);
  }
  if (pid == 0) {
    ::close(p[0]);
    // Compression threads of this child must not be pthreads (raw_threads.h).
    format::SetParallelRunner(&RunOnRawThreads);
    auto r = WriteCollected(
        o, c, &maps.value(), &parent_pagemap, [&] { Report(p[1], "S"); }, o.codec_threads,
        since_parent);
    if (r.ok()) {
      Report(p[1],
             "OK " + std::to_string(r.value().bytes) + " " + std::to_string(r.value().page_bytes));
    } else {
      Report(p[1], "ER " + r.status().ToString());
    }
    ::syscall(SYS_exit_group, r.ok() ? 0 : 1);
    __builtin_unreachable();
  }
  ::close(p[1]);
  std::string reply;
  bool resumed = false;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (!resumed && !reply.empty() && reply[0] == 'S') {
      resumed = true;
      resume();
    }
  }
  ::close(p[0]);
  if (!resumed) resume();
  int wstatus = 0;
  while (::waitpid(static_cast<pid_t>(pid), &wstatus, __WALL) < 0 && errno == EINTR) {
  }
  if (resumed) reply.erase(0, 1);
  if (reply.starts_with("OK ")) {
    CaptureResult result;
    result.path = c.path;
    result.depth = since_parent != nullptr ? c.parent.depth : 0;
    result.bytes = std::strtoull(reply.c_str() + 3, nullptr, 10);
    size_t sp = reply.find(' ', 3);
    if (sp != std::string::npos)
      result.page_bytes = std::strtoull(reply.c_str() + sp + 1, nullptr, 10);
    return result;
  }
  if (reply.starts_with("ER ")) return Status::IOError("image writer: " + reply.substr(3));
  return Status::IOError("the image writer (pid " + std::to_string(pid) +
                         ") ended without a result (wait status " + std::to_string(wstatus) + ")");
}

}  // namespace

Result<CaptureResult> WriteImage(const CaptureOptions& o, const std::vector<ThreadSlot*>& parked,
                                 const std::function<void()>& resume) {
  auto c = Collect(o, parked);
  if (!c.ok()) return c.status();
  written::Snapshot snap;
  bool tracked = false;
  const written::Snapshot* since =
      PlanIncremental(o, &c.value(), &snap, &tracked) ? &snap : nullptr;
  // A compressed image is always written by a forked child (which may start threads); the
  // threads here stay stopped until it is done unless the caller resumes them earlier.
  Result<CaptureResult> r =
      resume || o.codec != format::Codec::kNone
          ? WriteForked(
                o, c.value(), resume ? resume : [] {}, since)
          : WriteCollected(o, c.value(), nullptr, nullptr, nullptr, o.codec_threads, since);
  RecordChain(c.value(), r, tracked);
  return r;
}

}  // namespace cairn::preload
