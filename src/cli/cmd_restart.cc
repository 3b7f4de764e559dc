// `cairn restart`: restores a process from the newest committed image in --ckpt-dir (or from
// --image FILE) in the foreground: the restored program keeps this command's pid, stdin,
// stdout and stderr.
//
// The image is verified completely (ImageReader) and checked against this host
// (CheckRestorable) first; a foreign, corrupt or truncated image is refused with a message
// and exit status 1 before anything changes (page batches are hashed as the plan is built,
// still before anything changes). The restorer reads uncompressed page data straight from the
// image file (decoded data of a compressed image from a memfd); the layout goes into a plan
// (transparent/restore/plan.h), the saved regular files are reopened at their descriptor numbers
// (0, 1 and 2 stay this command's), the working directory and umask are restored, and the restorer
// (cairn-restorer, beside this binary) is executed to rebuild the memory and jump back into the
// preload library.
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "cli/command.h"
#include "coord/manifest.h"
#include "job/mpi_launch.h"
#include "transparent/image.h"
#include "transparent/launcher_env.h"
#include "transparent/restore/plan.h"
#include "transparent/restored_files.h"

namespace cairn::cli {
namespace {

namespace tr = cairn::transparent;
constexpr const char* kName = "restart";
constexpr const char* kRestorerName = "cairn-restorer";

Result<std::string> FindRestorer(Env* env) {
  if (const char* e = std::getenv("CAIRN_RESTORER"); e != nullptr && *e != '\0') {
    return std::string(e);
  }
  const std::string dir = ExecutableDir();
  for (const std::string& p :
       {JoinPath(dir, kRestorerName), JoinPath(dir, "../libexec/" + std::string(kRestorerName))}) {
    if (!dir.empty() && env->Exists(p)) return p;
  }
  return Status::NotFound(std::string("cannot find ") + kRestorerName + " beside '" + dir +
                          "' (set CAIRN_RESTORER)");
}

// The newest image (*.cimg, by modification time) in `dir`.
Result<std::string> NewestImage(Env* env, const std::string& dir) {
  auto names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  std::string best;
  struct timespec best_t {};
  for (const auto& n : names.value()) {
    if (!n.ends_with(tr::kImageFileSuffix)) continue;
    const std::string p = JoinPath(dir, n);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (best.empty() || st.st_mtim.tv_sec > best_t.tv_sec ||
        (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
      best = p;
      best_t = st.st_mtim;
    }
  }
  if (best.empty()) return Status::NotFound("no image (*.cimg) in '" + dir + "'");
  return best;
}

Status WriteAll(int fd, const void* data, size_t n, off_t off) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::FromErrno("writing to a memfd", errno);
    p += w;
    n -= static_cast<size_t>(w);
    off += w;
  }
  return Status::Ok();
}

// A descriptor (>= min_fd) of the file behind shared file mapping `r` or behind a private
// mapping saved as a reference (kRegionFromFile), -1 for other regions, or an error when the
// file cannot back the mapping any more (gone, replaced, or too short: a page wholly past its
// end would be a SIGBUS).
Result<int> OpenMappedFile(const tr::Region& r, int min_fd,
                           const std::map<uint64_t, CairnFileRef>& refs) {
  const bool from_file = (r.flags & tr::kRegionFromFile) != 0;
  if (!from_file && ((r.flags & tr::kRegionShared) == 0 || (r.flags & tr::kRegionFileBacked) == 0 ||
                     (r.flags & tr::kRegionDeleted) != 0 || r.path.empty() || r.path[0] != '/')) {
    return -1;
  }
  const int mode = (r.prot & tr::kProtWrite) != 0 && !from_file ? O_RDWR : O_RDONLY;
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
  return tr::MoveFdAbove(fd, min_fd);  // the restorer maps and closes it
}

// Shared memory without a file any more (MAP_SHARED|MAP_ANONYMOUS, shm, memfd: "(deleted)" in
// the maps): one memfd per saved object (dev, inode), so that aliases of one object (mremap
// copies, several mappings of one memfd) share their pages again after a restart. Returns a
// descriptor of its own (>= min_fd) for the region; the memfd grows to cover its offset.
Result<int> SharedMemoryObject(const tr::Region& r, int min_fd,
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

// An image that cannot be restored here (vDSO, architecture, no restart information) is a
// failed check (1), like a corrupt one.
int Fail(Context& ctx, const Status& st) {
  PrintError(ctx, kName, st.ToString());
  return st.code() == Code::kFailedPrecondition ? kExitFailed : ExitCodeFor(st);
}

// --mpi: this rank's image in the newest complete job manifest of `dir`; on the launcher's
// rank 0 also a new coordinator for the restarted job. Refuses (starting nothing) a launch
// with another number of ranks than the checkpoint.
Result<std::string> PickRankImage(Context& ctx, const std::string& dir, long interval_s) {
  std::string warnings;
  auto m = coord::NewestValid(dir, &warnings, ctx.env);
  if (!warnings.empty()) ctx.err << "cairn restart: warning: " << warnings;
  if (!m.ok()) {
    return Status::NotFound("no complete MPI checkpoint (job.v<N>.manifest) in '" + dir +
                            "': " + m.status().message());
  }
  const int rank = std::max(0, tr::LauncherRank());
  const int size = std::max(1, tr::LauncherSize());
  if (m.value().participants != size) {
    return Status::FailedPrecondition(
        "the checkpoint (" + coord::ManifestPath(dir, m.value().version) + ") has " +
        std::to_string(m.value().participants) + " ranks, but this launch has " +
        std::to_string(size) + "; restart with -np " + std::to_string(m.value().participants));
  }
  const auto& img = m.value().images.at(static_cast<size_t>(rank));
  if (rank == 0) {
    CAIRN_RETURN_IF_ERROR(
        job::StartCoordinator(ExecutablePath(), dir, size, tr::LauncherJobKey(), interval_s));
  }
  return img.path;
}

int Run(const Args& args, Context& ctx) {
  if (!args.positional().empty()) {
    PrintError(ctx, kName, "unexpected argument '" + args.positional().front() + "'");
    return kExitUsage;
  }
  std::string path;
  const bool mpi = args.Has("mpi");
  int pmi_fd = -1;  // MPICH's connection to its launcher: kept for the new lower half
  if (mpi) {
    auto dir = args.Get("ckpt-dir");
    if (!dir || dir->empty()) {
      PrintError(ctx, kName, "--mpi needs --ckpt-dir DIR");
      return kExitUsage;
    }
    const std::string interval = args.Get("interval").value_or("0");
    if (interval.empty() || interval.size() > 9 ||
        interval.find_first_not_of("0123456789") != std::string::npos) {
      PrintError(ctx, kName,
                 "--interval must be a whole number of seconds, got '" + interval + "'");
      return kExitUsage;
    }
    auto picked = PickRankImage(ctx, *dir, std::stol(interval));
    if (!picked.ok()) return Fail(ctx, picked.status());
    path = picked.value();
    if (const char* p = std::getenv("PMI_FD"); p != nullptr && *p != '\0') pmi_fd = std::atoi(p);
  } else if (auto img = args.Get("image"); img && !img->empty()) {
    path = *img;
  } else if (auto dir = args.Get("ckpt-dir"); dir && !dir->empty()) {
    auto newest = NewestImage(ctx.env, *dir);
    if (!newest.ok()) return Fail(ctx, newest.status());
    path = newest.value();
  } else {
    PrintError(ctx, kName, "--ckpt-dir DIR or --image FILE is required");
    return kExitUsage;
  }
  auto restorer = FindRestorer(ctx.env);
  if (!restorer.ok()) return Fail(ctx, restorer.status());

  // Page hashes are checked below, batch by batch, before anything is restored.
  tr::OpenOptions open_options;
  open_options.verify_pages = false;
  auto opened = tr::ImageReader::Open(ctx.env, path, open_options);
  if (!opened.ok()) return Fail(ctx, opened.status());
  std::unique_ptr<tr::ImageReader> reader = std::move(opened).value();
  const tr::ImageHeader& h = reader->header();
  auto areas = tr::ReadKernelAreas();
  if (!areas.ok()) return Fail(ctx, areas.status());
  if (Status st = tr::CheckRestorable(h, areas.value()); !st.ok()) {
    return Fail(ctx, st.Annotate("'" + path + "' cannot be restored on this host"));
  }
  CairnRestartInfo info{};
  bool have_info = false;
  for (const auto& s : reader->sections()) {
    if (s.type != CAIRN_RESTART_SECTION) continue;
    auto payload = reader->ReadSection(s);
    if (!payload.ok()) return Fail(ctx, payload.status());
    if (payload.value().size() != sizeof info) break;
    std::memcpy(&info, payload.value().data(), sizeof info);
    have_info = info.magic == CAIRN_PLAN_MAGIC;
  }
  if (!have_info || info.reserve_base != CAIRN_RESERVE_BASE ||
      info.reserve_size != CAIRN_RESERVE_SIZE) {
    return Fail(ctx, Status::FailedPrecondition(
                         "'" + path +
                         "' has no restart information (the process had not reserved the "
                         "restorer's address range)"));
  }
  // Descriptors: checked (and the lineage lock taken) before anything changes.
  std::map<int, int> pipe_sizes;
  for (const auto& sec : reader->sections()) {
    if (sec.type != CAIRN_PIPES_SECTION) continue;
    auto payload = reader->ReadSection(sec);
    if (!payload.ok()) return Fail(ctx, payload.status());
    for (size_t off = 0; off + sizeof(CairnPipeSize) <= payload.value().size();
         off += sizeof(CairnPipeSize)) {
      CairnPipeSize ps;
      std::memcpy(&ps, payload.value().data() + off, sizeof ps);
      if (ps.size <= (1u << 30)) pipe_sizes[ps.fd] = static_cast<int>(ps.size);
    }
  }
  tr::RestoredFiles files(reader->files(), std::move(pipe_sizes), /*bind_sockets=*/!mpi);
  if (Status fst = files.Check(); !fst.ok()) {
    return Fail(ctx, fst.Annotate("'" + path + "' is not restored"));
  }
  int max_fd = 2;
  for (const auto& f : reader->files()) max_fd = std::max(max_fd, f.fd);
  const tr::ThreadState* ckpt_thread = nullptr;
  for (const auto& t : reader->threads()) {
    if (t.checkpoint_thread) ckpt_thread = &t;
  }
  if (ckpt_thread == nullptr) {
    return Fail(ctx, Status::Corruption("'" + path + "' records no checkpoint thread"));
  }

  // Regions to map: everything but vDSO/vvar and the reserved range.
  const uint64_t rb = CAIRN_RESERVE_BASE, re = CAIRN_RESERVE_BASE + CAIRN_RESERVE_SIZE;
  std::vector<CairnPlanRegion> regions;
  std::vector<int> region_fds;                 // shared file mappings: kept across the exec
  std::map<uint64_t, CairnFileRef> file_refs;  // by inode: files of kRegionFromFile regions
  for (const auto& sec : reader->sections()) {
    if (sec.type != CAIRN_FILEREFS_SECTION) continue;
    auto payload = reader->ReadSection(sec);
    if (!payload.ok()) return Fail(ctx, payload.status());
    for (size_t off = 0; off + sizeof(CairnFileRef) <= payload.value().size();
         off += sizeof(CairnFileRef)) {
      CairnFileRef ref;
      std::memcpy(&ref, payload.value().data() + off, sizeof ref);
      file_refs[ref.inode] = ref;
    }
  }
  std::map<std::pair<uint64_t, uint64_t>, int> shm_objects;  // (dev, inode) -> memfd
  for (const auto& r : reader->regions()) {
    if ((r.flags & (tr::kRegionVdso | tr::kRegionVvar)) != 0) continue;
    if (r.start < re && r.end > rb) {
      if (r.start >= rb && r.end <= re) continue;  // the reservation itself
      return Fail(ctx, Status::FailedPrecondition("'" + path +
                                                  "': a region overlaps the restorer's range"));
    }
    CairnPlanRegion g{r.start, r.end, r.prot & 7u, (r.flags & tr::kRegionShared) ? 1u : 0u, -1,
                      0u,      0};
    const bool shm = (r.flags & tr::kRegionShared) != 0 && (r.flags & tr::kRegionDeleted) != 0;
    auto mapped = shm ? SharedMemoryObject(r, max_fd + 1, &shm_objects)
                      : OpenMappedFile(r, max_fd + 1, file_refs);
    if (!mapped.ok() && (r.flags & tr::kRegionFromFile) != 0) {
      return Fail(ctx, mapped.status().Annotate("'" + path + "' cannot be restored"));
    }
    if (!mapped.ok()) {
      ctx.err << "cairn restart: warning: " << mapped.status().message()
              << "; restored as shared anonymous memory\n";
    } else if (mapped.value() >= 0) {
      g.fd = mapped.value();
      g.offset = r.file_offset;
      // A read-only shared file mapping shows the file; shared memory gets its saved pages;
      // a private mapping from its file gets its private copies on top.
      if (!shm && (r.prot & tr::kProtWrite) == 0 && (r.flags & tr::kRegionFromFile) == 0) {
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
    if ((r.flags & tr::kRegionStack) == 0) continue;
    auto it = std::find_if(regions.begin(), regions.end(),
                           [&](const CairnPlanRegion& g) { return g.start == r.start; });
    if (it == regions.end()) continue;
    const uint64_t below = it == regions.begin() ? 0x10000 : std::prev(it)->end;
    const uint64_t guard = 1u << 20, want = 8u << 20;
    if (r.start < below + guard + 0x10000) continue;
    const uint64_t lo = std::max(below + guard, r.start - std::min(want, r.start - below - guard));
    if (lo < r.start) {
      regions.insert(it, {lo, r.start, tr::kProtRead | tr::kProtWrite, 0u, -1, 0u, 0});
    }
    break;
  }

  // Page data. Uncompressed: the restorer reads the runs straight from the image file and
  // checks each batch's hash as it reads (plan.h), so the data is read once and what is
  // verified is what lands in memory; here only the layout is walked. Compressed: decoded,
  // and so verified, here into a memfd the restorer reads. Runs are merged when contiguous
  // in memory and in the source (within one batch when batches are checked).
  const bool from_image = !reader->compressed();
  int data_fd = from_image ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC)
                           : ::memfd_create("cairn-pages", MFD_CLOEXEC);
  if (data_fd < 0) return Fail(ctx, Status::FromErrno("opening the page data source", errno));
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
  // Runs the restorer must not store: those in its own range (the reservation), and those
  // of read-only shared file mappings, which show the file's own content.
  auto hash_only = [&](uint64_t addr) {
    if (addr >= rb && addr < re) return true;
    auto in = std::upper_bound(regions.begin(), regions.end(), addr,
                               [](uint64_t a, const CairnPlanRegion& g) { return a < g.start; });
    return in != regions.begin() && (std::prev(in)->flags & CAIRN_REGION_FINAL_PROT) != 0 &&
           addr < std::prev(in)->end;
  };
  auto on_batch = [&](uint64_t table_offset, uint64_t table_len, uint64_t digest_offset) {
    if (runs.size() > UINT32_MAX) return Status::FailedPrecondition("too many page runs");
    batches.push_back(
        {table_offset, table_len, digest_offset, static_cast<uint32_t>(runs.size()), 0u});
    return Status::Ok();
  };
  auto on_run = [&](uint64_t addr, const void* data, uint64_t len, uint64_t file_offset) -> Status {
    if (from_image) {  // (ReadPageLayout refuses compressed batches)
      add_run(addr, len, file_offset, hash_only(addr) ? CAIRN_RUN_HASH_ONLY : 0u);
      return Status::Ok();
    }
    if (hash_only(addr)) return Status::Ok();
    CAIRN_RETURN_IF_ERROR(WriteAll(data_fd, data, len, static_cast<off_t>(cursor)));
    add_run(addr, len, cursor, 0u);
    cursor += len;
    return Status::Ok();
  };
  Status st =
      from_image ? reader->ReadPageLayout(on_batch, on_run) : reader->ReadPageLocations(on_run);
  if (!st.ok()) return Fail(ctx, st);
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
    return Fail(ctx, Status::FailedPrecondition("'" + path + "': too many regions to restore"));
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
  if (plan_fd < 0) return Fail(ctx, Status::FromErrno("memfd_create", errno));
  st = WriteAll(plan_fd, &plan, sizeof plan, 0);
  if (st.ok() && !regions.empty()) {
    st = WriteAll(plan_fd, regions.data(), regions.size() * sizeof(CairnPlanRegion), sizeof plan);
  }
  const off_t runs_at = static_cast<off_t>(sizeof plan + regions.size() * sizeof(CairnPlanRegion));
  if (st.ok() && !runs.empty()) {
    st = WriteAll(plan_fd, runs.data(), runs.size() * sizeof(CairnPlanRun), runs_at);
  }
  if (st.ok() && !batches.empty()) {
    st = WriteAll(plan_fd, batches.data(), batches.size() * sizeof(CairnPlanBatch),
                  runs_at + static_cast<off_t>(runs.size() * sizeof(CairnPlanRun)));
  }
  if (!st.ok()) return Fail(ctx, st);

  // Descriptors: ours above every saved one, then the saved files at their numbers.
  auto hp = tr::MoveFdAbove(plan_fd, max_fd + 1);
  if (!hp.ok()) return Fail(ctx, hp.status());
  plan_fd = hp.value();
  auto hd = tr::MoveFdAbove(data_fd, max_fd + 1);
  if (!hd.ok()) return Fail(ctx, hd.status());
  data_fd = hd.value();
  const std::string cwd = h.cwd;
  const uint32_t umask_bits = reader->misc().umask;
  reader.reset();
  std::vector<int> keep = {0, 1, 2, plan_fd, data_fd};
  if (mpi) {
    // The launcher's connection (MPICH) and environment, above every saved descriptor.
    if (pmi_fd >= 0) {
      auto moved = tr::MoveFdAbove(pmi_fd, max_fd + 1);
      if (!moved.ok()) return Fail(ctx, moved.status());
      pmi_fd = moved.value();
      keep.push_back(pmi_fd);
    }
    auto envfd = job::LauncherEnvironmentFd(pmi_fd);
    if (!envfd.ok()) return Fail(ctx, envfd.status());
    auto moved = tr::MoveFdAbove(envfd.value(), max_fd + 1);
    if (!moved.ok()) return Fail(ctx, moved.status());
    keep.push_back(moved.value());
  }
  keep.insert(keep.end(), region_fds.begin(), region_fds.end());
  int top_fd = std::max(plan_fd, data_fd);
  for (int fd : keep) top_fd = std::max(top_fd, fd);
  for (int fd : region_fds) top_fd = std::max(top_fd, fd);
  auto installed = files.Install(top_fd + 1);
  for (const auto& w : files.warnings()) ctx.err << "cairn restart: warning: " << w << "\n";
  if (!installed.ok()) return Fail(ctx, installed.status());
  keep.insert(keep.end(), installed.value().begin(), installed.value().end());
  ctx.err.flush();
  // Close every other descriptor of this command.
  auto fds = ctx.env->ListDir("/proc/self/fd");
  if (fds.ok()) {
    for (const auto& n : fds.value()) {
      int fd = std::atoi(n.c_str());
      if (n.empty() || n[0] < '0' || n[0] > '9') continue;
      if (std::find(keep.begin(), keep.end(), fd) == keep.end()) ::close(fd);
    }
  }
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
    ctx.err << "cairn restart: warning: cannot change to '" << cwd << "': " << std::strerror(errno)
            << "\n";
  }
  ::umask(static_cast<mode_t>(umask_bits & 0777));
  const std::string plan_arg = std::to_string(plan_fd), data_arg = std::to_string(data_fd);
  const std::string exe = restorer.value();
  char* argv[] = {const_cast<char*>(exe.c_str()), const_cast<char*>(plan_arg.c_str()),
                  const_cast<char*>(data_arg.c_str()), nullptr};
  char* envp[] = {nullptr};
  ::execve(exe.c_str(), argv, envp);
  return Fail(ctx, Status::FromErrno("cannot execute '" + exe + "'", errno));
}

}  // namespace

const Command& RestartCommand() {
  static const Command kCommand{
      kName,
      "Restart a program from its newest transparent checkpoint image",
      "(--ckpt-dir DIR | --image FILE) [--mpi [--interval SECONDS]]",
      "Restores the process saved in the newest image (*.cimg) of DIR, or in FILE, in the\n"
      "foreground: the restored program takes over this command's pid, stdin, stdout and\n"
      "stderr, and can be checkpointed again with `cairn checkpoint --ckpt-dir DIR`.\n"
      "The image is verified first; a corrupt, truncated or foreign image is refused\n"
      "(exit status 1), as is one whose vDSO does not match this kernel's.\n",
      {{"ckpt-dir", "DIR", "restart from the newest image in DIR"},
       {"image", "FILE", "restart from this image"},
       {"interval", "SECONDS", "with --mpi: the restarted job also checkpoints every SECONDS"},
       {"mpi", nullptr,
        "an MPI rank (mpirun -np N cairn restart --mpi --ckpt-dir DIR): this rank's image of "
        "the newest complete job manifest, under the new launcher (docs/mpi.md)"}},
      &Run,
  };
  return kCommand;
}

}  // namespace cairn::cli
