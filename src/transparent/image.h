// The process image: what a transparent checkpoint of one unmodified Linux process writes
// (its memory, threads, open files, signals, timers and a few kernel settings), and what the
// restorer reads back. Specified field by field in docs/image-format.md; this header is the
// code's copy of that schema.
//
//   Header      magic "CAIRNIMG", version, byte-order mark, flags, body length, body
//               (process identity and environment), XXH3-64 of all of the above
//   Section*    u32 type, u64 payload length, payload, u64 XXH3-64 of the payload
//   END         a section: count of the sections before it + a hash chaining the header
//               hash and every (type, length, hash) in file order
//
// All integers are little-endian. A section type with bit 31 set is optional: a reader that
// does not know it skips it (still hash-checked and chained); any other unknown type is refused.
//
// Writing (ImageWriter) goes to "<final>.tmp" (mode 0600) with large sequential writes (a 4 MiB
// buffer; page data of 256 KiB or more goes straight from the caller's memory), hashing each
// chunk just before it is written; Commit() appends END, fdatasyncs, renames to the final
// path and fsyncs the directory. Until then the final path is never touched; Abort(), a
// failure, or destroying an uncommitted writer removes the temporary file.
//
// Reading (ImageReader) checks the header, walks every section (bounds, hashes, order rules)
// and the END chain before returning; page data is streamed by ReadPages(), which verifies
// each batch's own hash before any of its bytes reach the callback.
//
// Nothing here throws, exits or aborts; every failure is a Status naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/hash.h"
#include "common/status.h"
#include "env/env.h"
#include "format/codec.h"
#include "format/format.h"
#include "transparent/naming.h"
#include "transparent/ranges.h"

namespace cairn::transparent {

inline constexpr char kImageMagic[8] = {'C', 'A', 'I', 'R', 'N', 'I', 'M', 'G'};
inline constexpr uint16_t kImageFormatVersion = 1;
inline constexpr uint16_t kImageByteOrderMark = 0x0102;
inline constexpr uint32_t kImageFlagCompressed = 1u << 0;  // page batches use a codec
// A PAGES section's hash covers its region bounds and its batches' hashes (each batch hash
// covers the batch), so batches can be hashed and written in parallel. Without the flag (an
// older cairn's image) it covers the whole payload.
inline constexpr uint32_t kImageFlagBatchHashes = 1u << 1;
inline constexpr uint32_t kKnownImageFlags = kImageFlagCompressed | kImageFlagBatchHashes;
inline constexpr size_t kImagePrefixSize = 24;  // magic .. reserved
inline constexpr uint32_t kMaxImageHeaderBody = 16u << 20;
inline constexpr uint64_t kMaxPageBatchBytes = 256u << 20;  // raw bytes of one batch
inline constexpr uint32_t kOptionalSectionBit = 1u << 31;
// Image files are named by transparent/naming.h.

// The architecture this build runs on ("x86_64", "aarch64", ...): the header's `arch`.
const char* HostArch();

enum class SectionType : uint32_t {
  kRegions = 1,
  kPages = 2,
  kThreads = 3,
  kFiles = 4,
  kSignals = 5,
  kTimers = 6,
  kMisc = 7,
  kEnd = 8,
  kParent = 9,  // an incremental image: its parent and the pages taken from it
};
// "REGIONS", ..., "END", "OPTIONAL(0x80000009)" or "UNKNOWN(42)".
std::string SectionTypeName(uint32_t type);

// ------------------------------------------------------------------ header

struct ImageHeader {
  uint16_t format_version = kImageFormatVersion;  // as read; written as kImageFormatVersion
  uint32_t flags = 0;                             // set by the writer
  uint64_t image_id = 0;                          // 0: the writer draws a random nonzero id
  uint64_t created_ns = 0;                        // 0: the writer uses the current time
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t page_size = 0;  // 0: the writer uses this host's page size
  std::string hostname;
  std::string kernel_release;  // uname -r
  std::string arch;            // empty: the writer uses HostArch()
  std::string exe_path;        // /proc/self/exe
  std::string cwd;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value" entries, in environ order
  uint64_t vdso_addr = 0;
  uint64_t vdso_size = 0;  // the restorer refuses when the running kernel's differs
  uint64_t vvar_addr = 0;
  uint64_t vvar_size = 0;      // [vvar] plus [vvar_vclock] (Linux >= 6.?), likewise checked
  uint64_t restart_entry = 0;  // where the restorer jumps after restoring (opaque here)
  uint64_t header_hash = 0;    // as read / as written
};

// Where the running kernel put the vDSO and vvar areas of this process (/proc/self/maps).
struct KernelAreas {
  uint64_t vdso_addr = 0;
  uint64_t vdso_size = 0;
  uint64_t vvar_addr = 0;  // start of [vvar] (or of [vvar_vclock] if there is no [vvar])
  uint64_t vvar_size = 0;  // sum of [vvar] and [vvar_vclock]
};
Result<KernelAreas> ReadKernelAreas();

// A header describing this process now: identity, uname, exe, cwd, argv (/proc/self/cmdline),
// environ, page size, vDSO/vvar areas, a random image id and the current time. restart_entry
// stays 0 (the caller knows it).
Result<ImageHeader> CaptureProcessHeader();

// Whether an image with header `h` can be restored on this host whose areas are `running`:
// same architecture, page size and vDSO / vvar sizes. kFailedPrecondition says which differs.
Status CheckRestorable(const ImageHeader& h, const KernelAreas& running);

// ------------------------------------------------------------------ REGIONS

inline constexpr uint32_t kProtRead = 1;   // == PROT_READ
inline constexpr uint32_t kProtWrite = 2;  // == PROT_WRITE
inline constexpr uint32_t kProtExec = 4;   // == PROT_EXEC

enum RegionFlag : uint32_t {
  kRegionPrivate = 1u << 0,  // exactly one of private / shared
  kRegionShared = 1u << 1,
  kRegionAnonymous = 1u << 2,  // exactly one of anonymous / file-backed
  kRegionFileBacked = 1u << 3,
  kRegionStack = 1u << 4,
  kRegionHeap = 1u << 5,
  kRegionVdso = 1u << 6,
  kRegionVvar = 1u << 7,
  kRegionDeleted = 1u << 8,  // the backing file was unlinked (path cannot be reopened)
  // A private, read-only file mapping saved as a reference: the pages not saved are the
  // file's (path, inode, size checked at restart); only the private copies are saved.
  kRegionFromFile = 1u << 9,
};
inline constexpr uint32_t kKnownRegionFlags = (1u << 10) - 1;

struct Region {
  uint64_t start = 0;  // page-aligned, start < end
  uint64_t end = 0;
  uint32_t prot = 0;  // kProt* bits
  uint32_t flags = kRegionPrivate | kRegionAnonymous;
  uint64_t file_offset = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  std::string path;  // file path, or the maps label ("[stack]", ...); may be empty
  uint64_t size() const { return end - start; }
  bool operator==(const Region&) const = default;
};

// ------------------------------------------------------------------ THREADS

struct ThreadState {
  int32_t tid = 0;
  bool checkpoint_thread = false;  // the library's own thread (at most one)
  std::string context;             // opaque saved context (a ucontext_t blob)
  uint64_t fs_base = 0;            // arch_prctl(ARCH_GET_FS)
  uint64_t sigmask = 0;            // blocked signals, kernel layout: bit (signo - 1)
  uint64_t rseq_area = 0;          // 0: no rseq registered
  uint32_t rseq_len = 0;
  uint32_t rseq_sig = 0;
  std::string affinity;      // sched_getaffinity mask bytes
  uint64_t altstack_sp = 0;  // sigaltstack
  uint64_t altstack_size = 0;
  uint32_t altstack_flags = 0;
  bool operator==(const ThreadState&) const = default;
};

// ------------------------------------------------------------------ FILES

enum class FileKind : uint32_t {
  kRegular = 1,
  kDirectory = 2,
  kPipe = 3,
  kFifo = 4,
  kSocket = 5,
  kTty = 6,
  kOther = 7,
  kEventfd = 8,    // anon_inode:[eventfd]
  kTimerfd = 9,    // anon_inode:[timerfd]
  kSignalfd = 10,  // anon_inode:[signalfd]
  kEpoll = 11,     // anon_inode:[eventpoll]
  kInotify = 12,   // anon_inode:inotify
};
const char* FileKindName(FileKind k);
// kEventfd, kTimerfd, kSignalfd, kEpoll or kInotify: the kinds whose state is an
// EventObjectState.
bool IsEventObject(FileKind k);

// One descriptor an epoll instance watches (its interest list, from /proc/self/fdinfo).
struct EpollTarget {
  int32_t fd = -1;      // the watched descriptor's number
  uint32_t events = 0;  // epoll_event.events as registered (EPOLLIN, EPOLLET, ...)
  uint64_t data = 0;    // epoll_event.data, returned to the program as it gave it
  bool operator==(const EpollTarget&) const = default;
};

// The state of an eventfd, timerfd, signalfd or epoll descriptor (src/transparent/objects/).
// One watch of an inotify instance (src/transparent/objects/inotify.cc).
struct InotifyWatch {
  int32_t wd = 0;     // > 0, the watch descriptor the program knows
  uint32_t mask = 0;  // the events watched (IN_*), as inotify_add_watch was given them
  uint64_t ino = 0;   // the watched inode at the checkpoint
  uint32_t dev = 0;   // its device (the kernel's s_dev)
  std::string path;   // the path it was added with (absolute); empty when unknown
  bool operator==(const InotifyWatch&) const = default;
};

struct EventObjectState {
  int32_t same_as = -1;  // >= 0: the same open file as this lower descriptor (dup); no state here
  uint64_t count = 0;    // eventfd: the counter; timerfd: expirations not yet read
  uint32_t flags = 0;    // eventfd: 1 = EFD_SEMAPHORE; timerfd: the clock id
  uint64_t mask = 0;     // signalfd: signals it takes, bit (signo - 1)
  int64_t value_ns = 0;  // timerfd: time to the next expiration (0: disarmed)
  int64_t interval_ns = 0;            // timerfd: period (0: one shot)
  std::vector<EpollTarget> targets;   // epoll: the interest list
  std::vector<InotifyWatch> watches;  // inotify: its watches (revision 4)
  bool operator==(const EventObjectState&) const = default;
};

// A lock the process holds on an open file (src/transparent/objects/file_lock.cc).
struct FileLock {
  uint32_t kind = 0;   // 1 flock(), 2 POSIX record lock (fcntl F_SETLK), 3 open file
                       // description lock (F_OFD_SETLK)
  bool write = false;  // exclusive (flock LOCK_EX, F_WRLCK) or shared
  int64_t start = 0;   // record locks: first byte
  int64_t end = -1;    // record locks: last byte, -1 = to the end of the file
  bool operator==(const FileLock&) const = default;
};

// A socket (src/transparent/objects/socket.cc): UNIX, or an internet listener / bound
// UDP socket / TCP connection (objects/tcp.cc).
struct SocketState {
  uint32_t family = 0;  // AF_UNIX, AF_INET, AF_INET6, or another (not restored)
  uint32_t type = 0;    // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  uint64_t id = 0;      // the socket's inode: descriptors with the same id are one socket
  uint64_t peer = 0;    // the connected peer's inode, 0 when none, kUnnamedPeer when it has none
  static constexpr uint64_t kUnnamedPeer = ~0ull;  // e.g. a connection not accepted yet
  bool listening = false;
  uint32_t backlog = 0;   // listening: the queue length to listen() with
  uint32_t shutdown = 0;  // bit 0: no more receives, bit 1: no more sends
  uint32_t options = 0;   // bit 0: IPV6_V6ONLY, bit 1: SO_REUSEADDR, bit 2: SO_REUSEPORT,
                          // bit 3: TCP_NODELAY, bit 4: SO_KEEPALIVE
  std::string name;  // bound address: AF_UNIX sun_path bytes ("\0..." abstract), else the sockaddr
  std::string peer_name;            // a TCP connection: the peer's sockaddr (revision 3)
  std::vector<std::string> queued;  // this end's receive queue, one entry per message
  bool operator==(const SocketState&) const = default;
};

// A terminal (src/transparent/objects/tty.cc): a pseudo-terminal's master (/dev/ptmx) or
// slave (/dev/pts/N), or another terminal.
struct TtyState {
  uint32_t index = 0;      // ptys: the pts number (a master's from TIOCGPTN)
  uint32_t flags = 0;      // bit 0: a pty master, bit 1: a pty slave, bit 2: the process's
                           // controlling terminal
  std::string termios;     // struct termios (tcgetattr), empty when unknown
  std::string winsize;     // struct winsize (TIOCGWINSZ), empty when unknown
  int32_t foreground = 0;  // the controlling terminal's foreground process group
  bool operator==(const TtyState&) const = default;
};

struct FileState {
  int32_t fd = -1;          // >= 0, unique in the section
  uint32_t open_flags = 0;  // fcntl(F_GETFL)
  uint32_t fd_flags = 0;    // fcntl(F_GETFD) (FD_CLOEXEC)
  FileKind kind = FileKind::kOther;
  int64_t offset = 0;  // lseek(fd, 0, SEEK_CUR), -1 if not seekable
  uint32_t mode = 0;   // st_mode
  std::string path;    // readlink(/proc/self/fd/N) without " (deleted)"
  // kRegular:
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool content_included = false;  // deleted / unlinked files: `content` holds all `size` bytes
  std::string content;
  // kPipe, kFifo: both ends of one pipe carry the same nonzero id; in-flight bytes (drained
  // before the checkpoint, refilled after) are recorded on one end, normally the read end.
  uint64_t pipe_id = 0;
  std::string pipe_data;
  // kEventfd, kTimerfd, kSignalfd, kEpoll (trailing fields of the record; zero for others):
  EventObjectState object;
  // kSocket (trailing fields after `object`; zero for others):
  SocketState socket;
  // Locks held through this descriptor (trailing fields after `socket`):
  std::vector<FileLock> locks;
  // kTty (revision 5):
  TtyState tty;
  bool operator==(const FileState&) const = default;
};

// ------------------------------------------------------------------ SIGNALS

struct SignalAction {
  uint32_t signo = 0;  // 1..64, unique
  std::string action;  // the raw struct sigaction bytes sigaction(2) returned (opaque)
  bool operator==(const SignalAction&) const = default;
};
struct ThreadPending {
  int32_t tid = 0;
  uint64_t pending = 0;  // bit (signo - 1)
  bool operator==(const ThreadPending&) const = default;
};
struct SignalState {
  std::vector<SignalAction> actions;
  uint64_t process_pending = 0;  // shared pending set, bit (signo - 1)
  std::vector<ThreadPending> thread_pending;
  bool operator==(const SignalState&) const = default;
};

// ------------------------------------------------------------------ TIMERS

struct IntervalTimer {  // remaining time until expiry and reload interval, 0 = disarmed
  uint64_t value_ns = 0;
  uint64_t interval_ns = 0;
  bool operator==(const IntervalTimer&) const = default;
};
struct PosixTimer {
  int32_t timer_id = 0;  // the kernel's timer id (timer_create)
  int32_t clock_id = 0;  // CLOCK_REALTIME, CLOCK_MONOTONIC, ...
  std::string sigevent;  // the raw struct sigevent bytes given to timer_create (opaque)
  uint64_t value_ns = 0;
  uint64_t interval_ns = 0;
  int32_t overrun = 0;
  bool operator==(const PosixTimer&) const = default;
};
struct TimerState {
  IntervalTimer real;  // ITIMER_REAL (alarm() uses it too)
  IntervalTimer virt;  // ITIMER_VIRTUAL
  IntervalTimer prof;  // ITIMER_PROF
  std::vector<PosixTimer> posix_timers;
  bool operator==(const TimerState&) const = default;
};

// ------------------------------------------------------------------ MISC

struct ResourceLimit {
  uint32_t resource = 0;  // RLIMIT_*
  uint64_t cur = 0;       // RLIM_INFINITY is ~0
  uint64_t max = 0;
  bool operator==(const ResourceLimit&) const = default;
};
struct MiscState {
  uint64_t brk_start = 0;
  uint64_t brk_current = 0;
  uint32_t personality = 0;
  uint32_t umask = 0;
  std::vector<ResourceLimit> rlimits;
  bool operator==(const MiscState&) const = default;
};

// ------------------------------------------------------------------ PARENT

// An incremental image (issue 12): it holds only the pages written since its parent was
// taken; the pages listed in `inherited` are the parent's (which may itself be incremental:
// a chain ends at a full image, one without PARENT). A page of a region that is neither in
// this image's PAGES nor inherited is absent (zero, or the file's for a file mapping), as
// in a full image. The parent is the file `name` in the same directory, and its header's
// image_id must be `image_id`.
struct ParentRef {
  uint64_t image_id = 0;  // nonzero
  std::string name;       // a plain file name (no '/'), ending in the image suffix
  uint32_t depth = 1;     // images between this one and the full image, that one included
  RangeSet inherited;     // a normal set (ranges.h), page-aligned, inside REGIONS
  bool operator==(const ParentRef&) const = default;
};

// ------------------------------------------------------------------ writer

struct WriteOptions {
  // Page data encoding (format/codec.h). codec kNone stores pages raw.
  format::Codec codec = format::Codec::kNone;
  format::Filter filter = format::Filter::kNone;
  int level = 1;    // zstd level / lz4 acceleration
  int threads = 1;  // blocks of a batch compressed in parallel
  // Raw page bytes per batch (a multiple of the page size, <= kMaxPageBatchBytes). With a
  // codec, batches grow to at least threads * 2 MiB so that every thread has blocks.
  uint64_t batch_bytes = 8u << 20;
  bool sync = true;  // Commit: fdatasync the file and fsync the directory
  // Threads that check, hash and write page batches in AddMemoryRuns (format::RunOnThreads,
  // so the preload's raw threads in a checkpointed process); 1: the caller alone.
  int writers = 1;
};

class ImageWriter {
 public:
  // Creates "<final_path>.tmp" (0600; truncated if it exists). kInvalidArgument for bad
  // options.
  static Result<std::unique_ptr<ImageWriter>> Create(Env* env, const std::string& final_path,
                                                     const WriteOptions& options);
  ~ImageWriter();  // Abort()s unless committed
  ImageWriter(const ImageWriter&) = delete;
  ImageWriter& operator=(const ImageWriter&) = delete;

  // First call, exactly once. Zero image_id / created_ns / page_size and an empty arch are
  // filled in (header() shows the values written).
  Status WriteHeader(const ImageHeader& h);

  // Each at most once, any order, after the header; not while a PAGES section is open.
  // Records are validated (kInvalidArgument, nothing written).
  Status WriteRegions(const std::vector<Region>& regions);
  Status WriteThreads(const std::vector<ThreadState>& threads);
  Status WriteFiles(const std::vector<FileState>& files);
  Status WriteSignals(const SignalState& signals);
  Status WriteTimers(const TimerState& timers);
  Status WriteMisc(const MiscState& misc);
  // At most once, after REGIONS: makes the image incremental (ParentRef above).
  Status WriteParent(const ParentRef& parent);
  // An extension section (type must have kOptionalSectionBit set); any number.
  Status WriteOptionalSection(uint32_t type, const void* data, size_t n);

  // One PAGES section per region: [start, end) must be a region of the REGIONS section
  // (written before) and get at most one PAGES section. Runs must be page-aligned, inside
  // the region and in increasing address order without overlap; len 0 is a no-op. `data`
  // is read during the call only. Pages not given are not in the image.
  Status BeginPages(uint64_t region_start, uint64_t region_end);
  Status AddPageRun(uint64_t addr, const void* data, uint64_t len);
  // The runs `runs` (same rules as AddPageRun) read straight from this process's memory at
  // their addresses, which must stay mapped and unchanged until the call returns; all-zero
  // pages are left out when `skip_zero`. Uncompressed images only (kFailedPrecondition with
  // a codec). The runs are cut into batches; WriteOptions::writers threads each take the
  // next batch, drop its zero pages, take its place in the file once the batch before it
  // has its size, then copy, hash and write it there in 1 MiB windows (what is written is
  // what was hashed, also where memory changes meanwhile). A write error fails the image
  // (state kFailed).
  Status AddMemoryRuns(const std::vector<AddressRange>& runs, bool skip_zero);
  Status EndPages();
  bool compressed() const { return (header_.flags & kImageFlagCompressed) != 0; }

  // Ends an open PAGES section, writes END, fdatasyncs, renames to the final path and
  // fsyncs its directory. On failure the temporary file is removed and the final path is
  // untouched (except when only the directory fsync failed: the image is complete then).
  Status Commit();
  // Removes the temporary file; later calls fail. Idempotent.
  void Abort();

  const ImageHeader& header() const { return header_; }
  const std::string& final_path() const { return final_path_; }
  const std::string& tmp_path() const { return tmp_path_; }
  uint64_t bytes_written() const { return pos_; }
  uint64_t page_bytes_raw() const { return page_raw_total_; }
  uint64_t page_bytes_stored() const { return page_stored_total_; }

 private:
  ImageWriter(Env* env, std::string final_path, const WriteOptions& o,
              std::unique_ptr<WritableFile> file);
  struct Run {
    uint64_t addr;
    uint64_t len;
  };
  enum class State { kOpen, kFailed, kCommitted, kAborted };

  Status CheckWritable(bool in_pages_ok) const;
  Status Fail(Status st);
  Status WriteMetaSection(SectionType type, const std::string& payload, bool once);
  Status WriteSection(uint32_t type, const void* payload, size_t n);
  void ChainSection(uint32_t type, uint64_t length, uint64_t hash);
  // Buffered output at pos_; every byte also goes into the hashers given (may be null).
  Status Put(const void* p, size_t n, Hasher* h1, Hasher* h2);
  Status Flush();
  void Writeback();  // starts device writeback of what was written (see image.cc)
  Status Patch(uint64_t offset, const void* p, size_t n);
  Status FlushBatch();  // writes the staged runs (raw_) as one batch
  // A batch's header and run table (docs/image-format.md, PAGES).
  static std::string BatchHeaderBytes(const std::vector<Run>& runs, uint64_t raw_size,
                                      uint64_t stored_size, format::Codec codec,
                                      format::Filter filter);
  Status WriteBatch(const std::vector<Run>& runs, const void* stored, uint64_t raw_size,
                    uint64_t stored_size, format::Codec codec, format::Filter filter);
  Status CheckRun(uint64_t addr, uint64_t len);  // AddPageRun's rules; advances next_addr_
  // One batch of AddMemoryRuns: `runs` (raw, in memory) at file offset `at`, through
  // `window` (window_size bytes + 8); its hash to *digest.
  Status WriteMemoryBatch(uint64_t at, const std::vector<Run>& runs, uint64_t raw, char* window,
                          uint64_t window_size, uint64_t* digest);

  Env* env_;
  std::string final_path_;
  std::string tmp_path_;
  WriteOptions opt_;
  uint64_t batch_cap_;
  std::unique_ptr<WritableFile> file_;
  State state_ = State::kOpen;
  Status failure_;

  std::unique_ptr<char[]> buf_;
  size_t buf_len_ = 0;
  uint64_t pos_ = 0;           // file offset of the next byte (buffered bytes included)
  uint64_t written_back_ = 0;  // bytes handed to StartWriteback

  ImageHeader header_;
  bool header_written_ = false;
  uint32_t written_mask_ = 0;  // bit per SectionType written
  std::vector<Region> regions_;
  std::vector<uint64_t> paged_regions_;  // starts of regions that had a PAGES section
  uint64_t chain_ = 0;
  uint64_t section_count_ = 0;

  // Open PAGES section.
  bool in_pages_ = false;
  uint64_t pages_offset_ = 0;  // of its section header
  uint64_t pages_start_ = 0, pages_end_ = 0;
  uint64_t next_addr_ = 0;  // runs must start at or after this
  Hasher section_hasher_;
  Hasher batch_hasher_;
  std::vector<Run> staged_runs_;
  std::string raw_;      // staged raw bytes of the batch being built
  std::string encoded_;  // scratch for Encode
  uint64_t page_raw_total_ = 0;
  uint64_t page_stored_total_ = 0;
};

// ------------------------------------------------------------------ reader

struct OpenOptions {
  // Hash every PAGES payload during Open (one sequential read of the whole image). Without
  // it Open reads only metadata and batch headers; ReadPages still verifies every batch
  // before handing out its bytes.
  bool verify_pages = true;
  int threads = 1;  // decode threads for ReadPages
};

struct SectionInfo {
  uint32_t type = 0;
  uint64_t offset = 0;  // of the section's type field
  uint64_t length = 0;  // payload bytes
  uint64_t hash = 0;    // stored payload hash
};

struct PagesInfo {
  uint64_t region_start = 0;
  uint64_t region_end = 0;
  size_t section = 0;  // index into sections()
  uint64_t batches = 0;
  uint64_t runs = 0;
  uint64_t raw_bytes = 0;     // page bytes restored
  uint64_t stored_bytes = 0;  // bytes of batch payloads in the file
};

class ImageReader {
 public:
  // kCorruption: not an image, truncated, bad hash / chain / structure.
  // kInvalidArgument: a newer format version, or an image of another architecture.
  static Result<std::unique_ptr<ImageReader>> Open(Env* env, const std::string& path,
                                                   const OpenOptions& options = {});

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_->size(); }
  const ImageHeader& header() const { return header_; }
  bool compressed() const { return (header_.flags & kImageFlagCompressed) != 0; }
  // Every section in file order, END last; optional sections included.
  const std::vector<SectionInfo>& sections() const { return sections_; }
  bool has_section(SectionType t) const;

  // Empty / default values when the section is absent.
  const std::vector<Region>& regions() const { return regions_; }
  const std::vector<ThreadState>& threads() const { return threads_; }
  const std::vector<FileState>& files() const { return files_; }
  const SignalState& signals() const { return signals_; }
  const TimerState& timers() const { return timers_; }
  const MiscState& misc() const { return misc_; }
  const std::vector<PagesInfo>& pages() const { return pages_; }
  // The PARENT section of an incremental image; nullptr for a full image.
  const ParentRef* parent() const { return has_parent_ ? &parent_ : nullptr; }

  // Called once per stored run piece, in file order (a run the writer split across batches
  // arrives in pieces; adjacent runs are not merged). `data` is valid during the call only.
  // A callback error stops the walk and is returned.
  using PageFn = std::function<Status(uint64_t addr, const void* data, uint64_t len)>;
  // All PAGES sections, in file order. Each batch's hash is checked before its runs are
  // delivered, each section's hash after its last batch: kCorruption on mismatch.
  Status ReadPages(const PageFn& fn);
  Status ReadPages(const PagesInfo& section, const PageFn& fn);
  // As ReadPages (same order, same checks), also giving where each run's bytes lie in the
  // image file: `file_offset`, or kNotInFile when its batch is compressed. A caller that
  // later reads the bytes from the file itself must trust the file not to change meanwhile.
  static constexpr uint64_t kNotInFile = ~0ULL;
  using PageLocationFn =
      std::function<Status(uint64_t addr, const void* data, uint64_t len, uint64_t file_offset)>;
  Status ReadPageLocations(const PageLocationFn& fn);
  // The same walk over batch headers and run tables only: no page data is read or hashed
  // (`data` is null). kInvalidArgument for a compressed image. A caller that restores from
  // the layout must verify the pages itself before trusting them: `on_batch` is called
  // before each batch's runs with what its hash covers (docs/image-format.md): the bytes
  // [table_offset, table_offset + table_len) (batch header and run table), then the runs'
  // bytes in order; the expected XXH3-64 is the 8 bytes little-endian at `digest_offset`.
  using BatchFn =
      std::function<Status(uint64_t table_offset, uint64_t table_len, uint64_t digest_offset)>;
  Status ReadPageLayout(const BatchFn& on_batch, const PageLocationFn& fn);
  // The payload of any section, hash-checked (e.g. an optional section).
  Result<std::string> ReadSection(const SectionInfo& s) const;

 private:
  ImageReader(std::string path, std::unique_ptr<RandomAccessFile> f, const OpenOptions& o)
      : path_(std::move(path)), file_(std::move(f)), opt_(o) {}
  Status Load();
  Status ParseHeader(uint64_t* end);
  Status ParseMeta(const SectionInfo& s, const std::string& payload);
  Status VerifyBatchHashes(const SectionInfo& s);
  Status ScanPages(const SectionInfo& s, PagesInfo* info);
  Status WalkPages(const PagesInfo& info, const PageLocationFn& fn, bool with_data,
                   const BatchFn* on_batch = nullptr);
  Status Corrupt(const std::string& msg) const;

  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  OpenOptions opt_;
  ImageHeader header_;
  std::vector<SectionInfo> sections_;
  uint32_t seen_mask_ = 0;
  std::vector<Region> regions_;
  std::vector<ThreadState> threads_;
  std::vector<FileState> files_;
  SignalState signals_;
  TimerState timers_;
  MiscState misc_;
  ParentRef parent_;
  bool has_parent_ = false;
  std::vector<PagesInfo> pages_;
  std::string io_;   // ReadPages scratch: stored batch bytes
  std::string raw_;  // ReadPages scratch: decoded batch
};

}  // namespace cairn::transparent
