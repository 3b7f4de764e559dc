// See process_restore.h.
#include "transparent/process_restore.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "env/fd_io.h"
#include "transparent/image.h"
#include "transparent/image_chain.h"
#include "transparent/restore/plan.h"

namespace cairn::transparent {
namespace {

// Calls fn(record) for each fixed-size record T in the image's optional sections of `type`.
template <class T, class Fn>
Status ForEachRecord(ImageReader& reader, uint32_t type, Fn fn) {
  for (const auto& sec : reader.sections()) {
    if (sec.type != type) continue;
    auto payload = reader.ReadSection(sec);
    if (!payload.ok()) return payload.status();
    for (size_t off = 0; off + sizeof(T) <= payload.value().size(); off += sizeof(T)) {
      T rec;
      std::memcpy(&rec, payload.value().data() + off, sizeof rec);
      fn(rec);
    }
  }
  return Status::Ok();
}

void Warn(const ProcessRestoreOptions& o, const std::string& what) {
  if (o.warn) o.warn(what);
}

// A descriptor (>= min_fd) of the file behind shared file mapping `r` or behind a private
// mapping saved as a reference (kRegionFromFile), -1 for other regions, or an error when the
// file cannot back the mapping any more (gone, replaced, or too short: a page wholly past its
// end would be a SIGBUS).
Result<int> OpenMappedFile(const Region& r, int min_fd,
                           const std::map<uint64_t, CairnFileRef>& refs) {
  const bool from_file = (r.flags & kRegionFromFile) != 0;
  if (!from_file && ((r.flags & kRegionShared) == 0 || (r.flags & kRegionFileBacked) == 0 ||
                     (r.flags & kRegionDeleted) != 0 || r.path.empty() || r.path[0] != '/')) {
    return -1;
  }
  const int mode = (r.prot & kProtWrite) != 0 && !from_file ? O_RDWR : O_RDONLY;
  int fd = ::open(r.path.c_str(), mode | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot reopen the mapping of '" + r.path + "'", errno);
  struct stat st;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (::fstat(fd, &st) != 0 ||
      static_cast<uint64_t>(st.st_size) + page <= r.file_offset + r.size()) {
    ::close(fd);
    return Status::FailedPrecondition("'" + r.path + "' is now shorter than its mapping");
  }
  if (from_file) {
    auto ref = refs.find(static_cast<uint64_t>(st.st_ino));
    const int64_t mtime =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    if (st.st_ino != r.inode || ref == refs.end() ||
        ref->second.size != static_cast<uint64_t>(st.st_size) || ref->second.mtime_ns != mtime) {
      ::close(fd);
      return Status::FailedPrecondition(
          "'" + r.path +
          "' is not the file the process had mapped (replaced or rewritten since the "
          "checkpoint, e.g. by a package upgrade or a rebuild)");
    }
  }
  return MoveFdAbove(fd, min_fd);  // the restorer maps and closes it
}

// Shared memory without a file any more (MAP_SHARED|MAP_ANONYMOUS, shm, memfd: "(deleted)" in
// the maps): one memfd per saved object (dev, inode), so that aliases of one object (mremap
// copies, several mappings of one memfd) share their pages again after a restart. Returns a
// descriptor of its own (>= min_fd) for the region; the memfd grows to cover its offset.
Result<int> SharedMemoryObject(const Region& r, int min_fd,
                               std::map<std::pair<uint64_t, uint64_t>, int>* objects) {
  const auto key = std::make_pair((uint64_t{r.dev_major} << 32) | r.dev_minor, r.inode);
  int obj = -1;
  if (r.inode != 0) {
    if (auto it = objects->find(key); it != objects->end()) obj = it->second;
  }
  if (obj < 0) {
    obj = ::memfd_create("cairn-shared", MFD_CLOEXEC);
    if (obj < 0) return Status::FromErrno("memfd_create for shared memory", errno);
    if (r.inode != 0) (*objects)[key] = obj;
  }
  struct stat st;
  const uint64_t need = r.file_offset + r.size();
  if (::fstat(obj, &st) == 0 && static_cast<uint64_t>(st.st_size) < need &&
      ::ftruncate(obj, static_cast<off_t>(need)) != 0) {
    return Status::FromErrno("sizing shared memory", errno);
  }
  int high = ::fcntl(obj, F_DUPFD, min_fd);  // not FD_CLOEXEC: the restorer maps and closes it
  if (high < 0) return Status::FromErrno("fcntl(F_DUPFD)", errno);
  if (r.inode == 0) ::close(obj);
  return high;
}

}  // namespace

ProcessRestore::~ProcessRestore() {
  if (plan_fd_ >= 0) ::close(plan_fd_);
  for (int fd : data_fds_) ::close(fd);
  for (int fd : region_fds_) ::close(fd);
}

int ProcessRestore::min_free_fd() const {
  int top = max_fd_;
  top = std::max(top, plan_fd_);
  for (int fd : data_fds_) top = std::max(top, fd);
  for (int fd : region_fds_) top = std::max(top, fd);
  for (int fd : kept_) top = std::max(top, fd);
  return top + 1;
}

Result<int> ProcessRestore::KeepAbove(int fd) {
  auto moved = MoveFdAbove(fd, max_fd_ + 1);
  if (!moved.ok()) return moved.status();
  kept_.push_back(moved.value());
  return moved.value();
}

Result<std::unique_ptr<ProcessRestore>> ProcessRestore::Prepare(Env* env, const std::string& path,
                                                                const ProcessRestoreOptions& o) {
  std::unique_ptr<ProcessRestore> self(new ProcessRestore());
  self->options_ = o;
  // Page hashes are checked below, batch by batch, before anything is restored (or by the
  // restorer as it reads them), unless the caller wants every page checked first.
  OpenOptions open_options;
  open_options.verify_pages = o.verify_pages_first;
  // An incremental image comes with its chain back to a full image (image_chain.h).
  auto opened = OpenChain(env, path, open_options);
  if (!opened.ok()) return opened.status();
  ImageChain chain = std::move(opened).value();
  ImageReader* reader = chain.front().get();
  const ImageHeader& h = reader->header();
  auto areas = ReadKernelAreas();
  if (!areas.ok()) return areas.status();
  if (Status st = CheckRestorable(h, areas.value()); !st.ok()) {
    return st.Annotate("'" + path + "' cannot be restored on this host");
  }
  CairnRestartInfo info{};
  bool have_info = false;
  for (const auto& s : reader->sections()) {
    if (s.type != CAIRN_RESTART_SECTION) continue;
    auto payload = reader->ReadSection(s);
    if (!payload.ok()) return payload.status();
    if (payload.value().size() != sizeof info) break;
    std::memcpy(&info, payload.value().data(), sizeof info);
    have_info = info.magic == CAIRN_PLAN_MAGIC;
  }
  if (!have_info || info.reserve_base != CAIRN_RESERVE_BASE ||
      info.reserve_size != CAIRN_RESERVE_SIZE) {
    return Status::FailedPrecondition(
        "'" + path +
        "' has no restart information (the process had not reserved the restorer's address "
        "range)");
  }
  // Descriptors: checked (and the lineage lock taken) before anything changes.
  std::map<int, int> pipe_sizes;
  CAIRN_RETURN_IF_ERROR(
      ForEachRecord<CairnPipeSize>(*reader, CAIRN_PIPES_SECTION, [&](const auto& ps) {
        if (ps.size <= (1u << 30)) pipe_sizes[ps.fd] = static_cast<int>(ps.size);
      }));
  self->files_ =
      std::make_unique<RestoredFiles>(reader->files(), std::move(pipe_sizes), o.bind_sockets);
  self->files_->SetStdDescriptors(o.restore_std);
  self->files_->SetSharedPipes(o.shared_pipes);
  self->files_->SetSharedSockets(o.shared_sockets);
  self->files_->SetSharedPtys(o.shared_ptys);
  RestoredFiles& files = *self->files_;
  if (Status fst = files.Check(); !fst.ok()) {
    return fst.Annotate("'" + path + "' is not restored");
  }
  int max_fd = std::max(2, o.min_fd - 1);
  for (const auto& f : reader->files()) max_fd = std::max(max_fd, f.fd);
  self->max_fd_ = max_fd;
  const ThreadState* ckpt_thread = nullptr;
  for (const auto& t : reader->threads()) {
    if (t.checkpoint_thread) ckpt_thread = &t;
  }
  if (ckpt_thread == nullptr) {
    return Status::Corruption("'" + path + "' records no checkpoint thread");
  }

  // Regions to map: everything but vDSO/vvar and the reserved range.
  const uint64_t rb = CAIRN_RESERVE_BASE, re = CAIRN_RESERVE_BASE + CAIRN_RESERVE_SIZE;
  std::vector<CairnPlanRegion> regions;
  std::vector<int>& region_fds = self->region_fds_;  // shared file mappings: kept across the exec
  std::map<uint64_t, CairnFileRef> file_refs;        // by inode: files of kRegionFromFile regions
  CAIRN_RETURN_IF_ERROR(ForEachRecord<CairnFileRef>(
      *reader, CAIRN_FILEREFS_SECTION, [&](const auto& ref) { file_refs[ref.inode] = ref; }));
  std::map<std::pair<uint64_t, uint64_t>, int> own_objects;  // (dev, inode) -> memfd
  auto* shm_objects = o.shared_memory != nullptr ? o.shared_memory : &own_objects;
  for (const auto& r : reader->regions()) {
    if ((r.flags & (kRegionVdso | kRegionVvar)) != 0) continue;
    if (r.start < re && r.end > rb) {
      if (r.start >= rb && r.end <= re) continue;  // the reservation itself
      return Status::FailedPrecondition("'" + path + "': a region overlaps the restorer's range");
    }
    CairnPlanRegion g{r.start, r.end, r.prot & 7u, (r.flags & kRegionShared) ? 1u : 0u, -1, 0u, 0};
    const bool shm = (r.flags & kRegionShared) != 0 && (r.flags & kRegionDeleted) != 0;
    auto mapped = shm ? SharedMemoryObject(r, max_fd + 1, shm_objects)
                      : OpenMappedFile(r, max_fd + 1, file_refs);
    if (!mapped.ok() && (r.flags & kRegionFromFile) != 0) {
      return mapped.status().Annotate("'" + path + "' cannot be restored");
    }
    if (!mapped.ok()) {
      Warn(o, mapped.status().message() + "; restored as shared anonymous memory");
    } else if (mapped.value() >= 0) {
      g.fd = mapped.value();
      g.offset = r.file_offset;
      // A read-only shared file mapping shows the file; shared memory gets its saved pages;
      // a private mapping from its file gets its private copies on top.
      if (!shm && (r.prot & kProtWrite) == 0 && (r.flags & kRegionFromFile) == 0) {
        g.flags |= CAIRN_REGION_FINAL_PROT;
      }
      region_fds.push_back(g.fd);
    }
    regions.push_back(g);
  }
  // The main stack comes back as a plain mapping (no automatic growth): give it room below,
  // up to 8 MiB, leaving at least 1 MiB free above the region under it.
  std::sort(regions.begin(), regions.end(),
            [](const CairnPlanRegion& a, const CairnPlanRegion& b) { return a.start < b.start; });
  for (const auto& r : reader->regions()) {
    if ((r.flags & kRegionStack) == 0) continue;
    auto it = std::find_if(regions.begin(), regions.end(),
                           [&](const CairnPlanRegion& g) { return g.start == r.start; });
    if (it == regions.end()) continue;
    const uint64_t below = it == regions.begin() ? 0x10000 : std::prev(it)->end;
    const uint64_t guard = 1u << 20, want = 8u << 20;
    if (r.start < below + guard + 0x10000) continue;
    const uint64_t lo = std::max(below + guard, r.start - std::min(want, r.start - below - guard));
    if (lo < r.start) {
      regions.insert(it, {lo, r.start, kProtRead | kProtWrite, 0u, -1, 0u, 0});
    }
    break;
  }

  // Page data. Uncompressed: the restorer reads the runs straight from the image files and
  // checks each batch's hash as it reads (plan.h), so the data is read once and what is
  // verified is what lands in memory; here only the layout is walked. An incremental image
  // gives one source per member of its chain: the newest first, then from each older one
  // the pages still inherited (what newer images replaced is only hashed). Compressed:
  // decoded, and so verified, here into a memfd the restorer reads (for a chain, its memory
  // gathered by ReadChainPages). Runs are merged when contiguous in memory and in the
  // source (within one batch when batches are checked).
  const bool from_image =
      chain.size() <= CAIRN_PLAN_MAX_SOURCES &&
      std::none_of(chain.begin(), chain.end(), [](const auto& m) { return m->compressed(); });
  std::vector<int>& data_fds = self->data_fds_;
  for (size_t k = 0; k < (from_image ? chain.size() : 1); ++k) {
    const int fd = from_image ? ::open(chain[k]->path().c_str(), O_RDONLY | O_CLOEXEC)
                              : ::memfd_create("cairn-pages", MFD_CLOEXEC);
    if (fd < 0) return Status::FromErrno("opening the page data source", errno);
    data_fds.push_back(fd);
  }
  const int data_fd = data_fds.front();  // the memfd, when not from_image
  uint32_t source = 0;                   // the chain member being walked (from_image)
  RangeSet wanted;                       // of an older member: the addresses still inherited
  std::vector<CairnPlanRun> runs;
  std::vector<CairnPlanBatch> batches;
  uint64_t cursor = 0;
  auto add_run = [&](uint64_t addr, uint64_t len, uint64_t at, uint64_t flags) {
    const size_t batch_first = batches.empty() ? 0 : batches.back().first_run;
    if (runs.size() > batch_first && runs.back().flags == flags &&
        runs.back().addr + runs.back().len == addr &&
        runs.back().data_offset + runs.back().len == at) {
      runs.back().len += len;
    } else {
      runs.push_back({addr, len, at, flags});
      if (!batches.empty()) ++batches.back().nruns;
    }
  };
  // The region holding `addr`, or nullptr.
  auto region_at = [&](uint64_t addr) -> const CairnPlanRegion* {
    auto in = std::upper_bound(regions.begin(), regions.end(), addr,
                               [](uint64_t a, const CairnPlanRegion& g) { return a < g.start; });
    if (in == regions.begin() || addr >= std::prev(in)->end) return nullptr;
    return &*std::prev(in);
  };
  // A process of a tree: memory it shares with others (a shared mapping with a descriptor)
  // gets its saved pages here, before any process of the tree runs, instead of from each
  // process's restorer, which would overwrite what the others did since they started.
  const bool prefill = o.shared_memory != nullptr;
  auto prefilled = [&](const CairnPlanRegion* g) {
    return prefill && g != nullptr && g->fd >= 0 && g->shared != 0 &&
           (g->flags & CAIRN_REGION_FINAL_PROT) == 0;
  };
  if (prefill) {
    for (const PagesInfo& pi : reader->pages()) {
      const CairnPlanRegion* g = region_at(pi.region_start);
      if (!prefilled(g)) continue;
      Status fst = reader->ReadPages(pi, [&](uint64_t addr, const void* data, uint64_t len) {
        const CairnPlanRegion* at = region_at(addr);
        if (!prefilled(at) || addr + len > at->end) {
          return Status::Corruption("'" + path + "': saved pages outside their shared region");
        }
        return WriteFdAt(at->fd, data, len, at->offset + (addr - at->start),
                         "a shared memory region");
      });
      if (!fst.ok()) return fst.Annotate("'" + path + "': restoring shared memory");
    }
  }
  // Runs the restorer must not store: those in its own range (the reservation), those of
  // read-only shared file mappings, which show the file's own content, and prefilled ones.
  auto hash_only = [&](uint64_t addr) {
    if (addr >= rb && addr < re) return true;
    const CairnPlanRegion* g = region_at(addr);
    return g != nullptr && ((g->flags & CAIRN_REGION_FINAL_PROT) != 0 || prefilled(g));
  };
  auto on_batch = [&](uint64_t table_offset, uint64_t table_len, uint64_t digest_offset) {
    if (runs.size() > UINT32_MAX) return Status::FailedPrecondition("too many page runs");
    batches.push_back({table_offset, table_len, digest_offset, static_cast<uint32_t>(runs.size()),
                       0u, source, 0u});
    return Status::Ok();
  };
  auto on_run = [&](uint64_t addr, const void* data, uint64_t len, uint64_t file_offset) -> Status {
    if (from_image) {  // (ReadPageLayout refuses compressed batches)
      const uint64_t src = uint64_t{source} << CAIRN_RUN_SOURCE_SHIFT;
      if (source == 0) {
        add_run(addr, len, file_offset, src | (hash_only(addr) ? CAIRN_RUN_HASH_ONLY : 0u));
        return Status::Ok();
      }
      // An older member: stored where still inherited, else only hashed (in order).
      const uint64_t end = addr + len;
      uint64_t at = addr;
      auto first = std::upper_bound(wanted.begin(), wanted.end(), addr,
                                    [](uint64_t a, const AddressRange& r) { return a < r.end; });
      for (auto w = first; w != wanted.end() && w->start < end; ++w) {
        const AddressRange k{std::max(addr, w->start), std::min(end, w->end)};
        if (k.start > at)
          add_run(at, k.start - at, file_offset + (at - addr), src | CAIRN_RUN_HASH_ONLY);
        add_run(k.start, k.size(), file_offset + (k.start - addr),
                src | (hash_only(k.start) ? CAIRN_RUN_HASH_ONLY : 0u));
        at = k.end;
      }
      if (at < addr + len) {
        add_run(at, addr + len - at, file_offset + (at - addr), src | CAIRN_RUN_HASH_ONLY);
      }
      return Status::Ok();
    }
    if (hash_only(addr)) return Status::Ok();
    CAIRN_RETURN_IF_ERROR(WriteFdAt(data_fd, data, len, cursor, "the restore data"));
    add_run(addr, len, cursor, 0u);
    cursor += len;
    return Status::Ok();
  };
  Status st;
  if (from_image) {
    for (source = 0; source < chain.size() && st.ok(); ++source) {
      const ParentRef* newer = source == 0 ? nullptr : chain[source - 1]->parent();
      if (newer != nullptr) {
        wanted = source == 1 ? newer->inherited : IntersectRanges(wanted, newer->inherited);
      }
      st = chain[source]->ReadPageLayout(on_batch, on_run);
    }
  } else if (chain.size() > 1) {
    st = ReadChainPages(chain, [&](uint64_t addr, const void* data, uint64_t len) {
           return on_run(addr, data, len, ImageReader::kNotInFile);
         }).Annotate("gathering the memory of incremental image '" + path + "'");
  } else {
    st = reader->ReadPageLocations(on_run);
  }
  if (!st.ok()) return st;
  // Regions of 4 MiB or more that the saved pages mostly fill are restored on huge pages:
  // 512 times fewer page faults while they are copied in, no bloat for sparse ones.
  {
    size_t ri = 0;
    std::vector<uint64_t> covered(regions.size(), 0);
    std::vector<CairnPlanRun> sorted = runs;  // (a forked writer saves shared regions first)
    std::sort(sorted.begin(), sorted.end(),
              [](const CairnPlanRun& a, const CairnPlanRun& b) { return a.addr < b.addr; });
    for (const auto& u : sorted) {
      if ((u.flags & CAIRN_RUN_HASH_ONLY) != 0) continue;
      while (ri < regions.size() && regions[ri].end <= u.addr) ++ri;
      if (ri < regions.size() && u.addr >= regions[ri].start) covered[ri] += u.len;
    }
    for (size_t i = 0; i < regions.size(); ++i) {
      const uint64_t size = regions[i].end - regions[i].start;
      if (regions[i].fd < 0 && size >= (4u << 20) && covered[i] * 4 >= size * 3) {
        regions[i].flags |= CAIRN_REGION_HUGE;
      }
    }
  }

  CairnPlan plan{};
  std::snprintf(plan.image_path, sizeof plan.image_path, "%s", path.c_str());
  plan.magic = CAIRN_PLAN_MAGIC;
  plan.version = CAIRN_PLAN_VERSION;
  plan.total_bytes = sizeof plan + regions.size() * sizeof(CairnPlanRegion) +
                     runs.size() * sizeof(CairnPlanRun) + batches.size() * sizeof(CairnPlanBatch);
  if (plan.total_bytes > CAIRN_PLAN_MAX_BYTES) {
    return Status::FailedPrecondition("'" + path + "': too many regions to restore");
  }
  plan.vdso_addr = h.vdso_addr;
  plan.vdso_size = h.vdso_size;
  plan.vvar_addr = h.vvar_addr;
  plan.vvar_size = h.vvar_size;
  plan.entry = info.entry;
  plan.stack_top = info.stack_top;
  plan.fs_base = ckpt_thread->fs_base;
  plan.nregions = regions.size();
  plan.nruns = runs.size();
  plan.nbatches = batches.size();
  for (const auto& f : reader->files()) {
    if (f.fd > 2 && (f.fd_flags & FD_CLOEXEC) != 0 && plan.ncloexec < CAIRN_PLAN_MAX_CLOEXEC) {
      plan.cloexec_fds[plan.ncloexec++] = f.fd;
    }
  }
  int plan_fd = ::memfd_create("cairn-plan", 0);
  if (plan_fd < 0) return Status::FromErrno("memfd_create", errno);
  st = WriteFdAt(plan_fd, &plan, sizeof plan, 0, "the restore plan");
  if (st.ok() && !regions.empty()) {
    st = WriteFdAt(plan_fd, regions.data(), regions.size() * sizeof(CairnPlanRegion), sizeof plan,
                   "the restore plan");
  }
  const off_t runs_at = static_cast<off_t>(sizeof plan + regions.size() * sizeof(CairnPlanRegion));
  if (st.ok() && !runs.empty()) {
    st = WriteFdAt(plan_fd, runs.data(), runs.size() * sizeof(CairnPlanRun), runs_at,
                   "the restore plan");
  }
  if (st.ok() && !batches.empty()) {
    st = WriteFdAt(plan_fd, batches.data(), batches.size() * sizeof(CairnPlanBatch),
                   runs_at + runs.size() * sizeof(CairnPlanRun), "the restore plan");
  }
  if (!st.ok()) return st;

  // Descriptors: ours above every saved one.
  auto hp = MoveFdAbove(plan_fd, max_fd + 1);
  if (!hp.ok()) return hp.status();
  self->plan_fd_ = hp.value();
  for (int& fd : data_fds) {
    auto hd = MoveFdAbove(fd, max_fd + 1);
    if (!hd.ok()) return hd.status();
    fd = hd.value();
  }
  self->cwd_ = h.cwd;
  self->umask_ = reader->misc().umask;
  return self;
}

Status ProcessRestore::Install() {
  std::vector<int> keep = {0, 1, 2, plan_fd_};
  keep.insert(keep.end(), data_fds_.begin(), data_fds_.end());
  keep.insert(keep.end(), kept_.begin(), kept_.end());
  keep.insert(keep.end(), region_fds_.begin(), region_fds_.end());
  auto installed = files_->Install(min_free_fd());
  for (const auto& w : files_->warnings()) Warn(options_, w);
  if (!installed.ok()) return installed.status();
  keep.insert(keep.end(), installed.value().begin(), installed.value().end());
  // Close every other descriptor of this process.
  auto fds = Env::Default()->ListDir("/proc/self/fd");
  if (fds.ok()) {
    for (const auto& n : fds.value()) {
      if (n.empty() || n[0] < '0' || n[0] > '9') continue;
      const int fd = std::atoi(n.c_str());
      if (std::find(keep.begin(), keep.end(), fd) == keep.end()) ::close(fd);
    }
  }
  if (!cwd_.empty() && ::chdir(cwd_.c_str()) != 0) {
    Warn(options_, "cannot change to '" + cwd_ + "': " + std::strerror(errno));
  }
  ::umask(static_cast<mode_t>(umask_ & 0777));
  return Status::Ok();
}

Status ProcessRestore::Run() {
  const std::string& exe = options_.restorer;
  std::vector<std::string> args = {exe, std::to_string(plan_fd_)};
  for (int fd : data_fds_) args.push_back(std::to_string(fd));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  ::execve(exe.c_str(), argv.data(), envp);
  return Status::FromErrno("cannot execute '" + exe + "'", errno);
}

Status ProcessRestore::Exec() {
  CAIRN_RETURN_IF_ERROR(Install());
  return Run();
}

}  // namespace cairn::transparent
