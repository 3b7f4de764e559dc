#include "transparent/image.h"

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

extern char** environ;

namespace cairn::transparent {
namespace {

// Output buffer: small pieces are gathered here; pieces of kDirectMin bytes or more are
// written straight from the caller's memory in kChunk pieces, each hashed just before its
// write (still in cache when the kernel copies it).
constexpr size_t kBufSize = 4u << 20;
constexpr size_t kDirectMin = 256u << 10;
constexpr size_t kChunk = 1u << 20;
// Uncompressed page runs of this size or more bypass the staging buffer.
constexpr uint64_t kDirectRun = 256u << 10;
constexpr size_t kSectionHeaderSize = 12;  // u32 type, u64 length
constexpr size_t kSectionOverhead = kSectionHeaderSize + 8;
constexpr size_t kBatchHeaderSize = 24;  // u32 runs, u16 codec, u16 filter, u64 raw, u64 stored
constexpr size_t kRunSize = 16;
constexpr size_t kReadChunk = 8u << 20;

constexpr uint32_t kThreadFlagCheckpoint = 1u << 0;
constexpr uint32_t kFileFlagContent = 1u << 0;

uint32_t Bit(SectionType t) { return 1u << static_cast<uint32_t>(t); }

std::string Hex(uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof(b), v, 16);
  return "0x" + std::string(b, r.ptr);
}
std::string Num(uint64_t v) { return std::to_string(v); }
std::string Range(uint64_t a, uint64_t b) { return "[" + Hex(a) + ", " + Hex(b) + ")"; }

// ---------------------------------------------------------------- little-endian codec

template <class T>
void StoreLE(char* p, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<char>((u >> (8 * i)) & 0xff);
}
template <class T>
T LoadLE(const char* p) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(U); ++i) {
    u = static_cast<U>(u | (static_cast<U>(static_cast<unsigned char>(p[i])) << (8 * i)));
  }
  return static_cast<T>(u);
}

class Enc {
 public:
  void U16(uint16_t v) { Put(v); }
  void U32(uint32_t v) { Put(v); }
  void U64(uint64_t v) { Put(v); }
  void I32(int32_t v) { Put(v); }
  void I64(int64_t v) { Put(v); }
  void Str(const std::string& v) {  // u32 length + bytes
    if (v.size() > std::numeric_limits<uint32_t>::max()) {
      too_long_ = true;
      return;
    }
    U32(static_cast<uint32_t>(v.size()));
    s_.append(v);
  }
  void Blob64(const std::string& v) {  // u64 length + bytes
    U64(v.size());
    s_.append(v);
  }
  void Count(size_t n) {
    if (n > std::numeric_limits<uint32_t>::max()) too_long_ = true;
    U32(static_cast<uint32_t>(n));
  }
  size_t BeginRecord() {
    size_t at = s_.size();
    U32(0);
    return at;
  }
  void EndRecord(size_t at) {
    size_t n = s_.size() - at - 4;
    if (n > std::numeric_limits<uint32_t>::max()) too_long_ = true;
    StoreLE<uint32_t>(&s_[at], static_cast<uint32_t>(n));
  }
  bool too_long() const { return too_long_; }
  std::string& str() { return s_; }

 private:
  template <class T>
  void Put(T v) {
    char b[sizeof(T)];
    StoreLE(b, v);
    s_.append(b, sizeof(T));
  }
  std::string s_;
  bool too_long_ = false;
};

// Bounds-checked reader of untrusted bytes. Failures are sticky: a failed read returns 0 /
// empty and every later check of ok() is false.
class Dec {
 public:
  Dec(const char* p, size_t n) : p_(p), n_(n) {}
  uint16_t U16() { return Get<uint16_t>(); }
  uint32_t U32() { return Get<uint32_t>(); }
  uint64_t U64() { return Get<uint64_t>(); }
  int32_t I32() { return Get<int32_t>(); }
  int64_t I64() { return Get<int64_t>(); }
  std::string Str() { return Bytes(U32()); }
  std::string Blob64() { return Bytes(U64()); }
  // A record: u32 body length + body. The returned decoder reads the body; the parent skips
  // it whole (so unknown trailing fields of a newer writer are ignored).
  Dec Record() {
    uint32_t n = U32();
    if (!ok_ || n > n_ - pos_) {
      ok_ = false;
      return Dec(nullptr, 0, false);
    }
    Dec d(p_ + pos_, n);
    pos_ += n;
    return d;
  }
  // A u32 count of records, each at least 4 bytes: bounded by the bytes left.
  uint32_t Count() {
    uint32_t n = U32();
    if (ok_ && n > (n_ - pos_) / 4) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  bool more() const { return ok_ && pos_ < n_; }  // trailing fields of a newer writer follow

 private:
  Dec(const char* p, size_t n, bool ok) : p_(p), n_(n), ok_(ok) {}
  template <class T>
  T Get() {
    if (!ok_ || n_ - pos_ < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    T v = LoadLE<T>(p_ + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string Bytes(uint64_t n) {
    if (!ok_ || n > n_ - pos_) {
      ok_ = false;
      return {};
    }
    std::string s(p_ + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  const char* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// ---------------------------------------------------------------- validation
// Each returns "" or a description of the first fault. The writer reports it as
// kInvalidArgument, the reader as kCorruption.

bool PowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string CheckPageSize(uint32_t ps) {
  if (!PowerOfTwo(ps) || ps < 4096 || ps > (1u << 30)) {
    return "page size " + Num(ps) + " is not a power of two in [4096, 2^30]";
  }
  return "";
}

std::string CheckRegions(const std::vector<Region>& regions, uint32_t ps) {
  for (size_t i = 0; i < regions.size(); ++i) {
    const Region& r = regions[i];
    std::string what = "region " + Num(i) + " " + Range(r.start, r.end);
    if (r.start >= r.end) return what + " is empty or inverted";
    if (r.start % ps != 0 || r.end % ps != 0) return what + " is not page-aligned";
    if (i > 0 && r.start < regions[i - 1].end) {
      return what + " overlaps or precedes the previous region (regions must be sorted)";
    }
    if ((r.prot & ~(kProtRead | kProtWrite | kProtExec)) != 0) {
      return what + " has unknown prot bits " + Hex(r.prot);
    }
    if ((r.flags & ~kKnownRegionFlags) != 0) return what + " has unknown flags " + Hex(r.flags);
    if (((r.flags & kRegionPrivate) != 0) == ((r.flags & kRegionShared) != 0)) {
      return what + " must be exactly one of private and shared";
    }
    if (((r.flags & kRegionAnonymous) != 0) == ((r.flags & kRegionFileBacked) != 0)) {
      return what + " must be exactly one of anonymous and file-backed";
    }
  }
  return "";
}

std::string CheckThreads(const std::vector<ThreadState>& threads) {
  std::set<int32_t> tids;
  int ckpt = 0;
  for (size_t i = 0; i < threads.size(); ++i) {
    const ThreadState& t = threads[i];
    if (t.tid <= 0) return "thread " + Num(i) + " has tid " + std::to_string(t.tid);
    if (!tids.insert(t.tid).second) return "tid " + std::to_string(t.tid) + " appears twice";
    if (t.checkpoint_thread && ++ckpt > 1) return "more than one checkpoint thread";
    if (t.context.size() > std::numeric_limits<uint32_t>::max() ||
        t.affinity.size() > std::numeric_limits<uint32_t>::max()) {
      return "thread " + std::to_string(t.tid) + ": context or affinity too large";
    }
  }
  return "";
}

bool IsPipeLike(FileKind k) { return k == FileKind::kPipe || k == FileKind::kFifo; }

// `listed`: the descriptors listed so far, this one included.
std::string CheckEventObject(const FileState& f, const std::set<int32_t>& listed) {
  const EventObjectState& o = f.object;
  if (!IsEventObject(f.kind)) {
    return o == EventObjectState{} ? ""
                                   : std::string("event-object state on a ") + FileKindName(f.kind);
  }
  if (o.same_as >= 0) {
    if (o.same_as == f.fd || listed.count(o.same_as) == 0)
      return "same as fd " + Num(o.same_as) + ", not listed before it";
    return o == EventObjectState{o.same_as} ? "" : "both a duplicate and its own state";
  }
  if (o.same_as != -1) return "bad duplicate reference " + std::to_string(o.same_as);
  if (f.kind != FileKind::kEpoll && !o.targets.empty())
    return "epoll targets on a " + std::string(FileKindName(f.kind));
  if (f.kind == FileKind::kTimerfd && (o.value_ns < 0 || o.interval_ns < 0))
    return "negative timer";
  if (f.kind == FileKind::kEventfd && o.count == ~0ULL) return "eventfd counter overflow";
  for (const EpollTarget& t : o.targets) {
    if (t.fd < 0) return "epoll target fd " + std::to_string(t.fd);
  }
  return "";
}

std::string CheckFiles(const std::vector<FileState>& files) {
  std::set<int32_t> fds;
  for (const FileState& f : files) {
    std::string what = "fd " + std::to_string(f.fd);
    if (f.fd < 0) return what + " is negative";
    if (!fds.insert(f.fd).second) return what + " appears twice";
    uint32_t k = static_cast<uint32_t>(f.kind);
    if (k < 1 || k > 11) return what + " has unknown kind " + Num(k);
    if (f.content_included && f.kind != FileKind::kRegular) {
      return what + ": content included for a file that is not regular";
    }
    if (f.content_included && f.content.size() != f.size) {
      return what + ": content has " + Num(f.content.size()) + " bytes, size says " + Num(f.size);
    }
    if (!f.content_included && !f.content.empty()) return what + ": content without the flag";
    if (!IsPipeLike(f.kind) && (f.pipe_id != 0 || !f.pipe_data.empty())) {
      return what + ": pipe id or in-flight bytes on a " + FileKindName(f.kind);
    }
    if (std::string bad = CheckEventObject(f, fds); !bad.empty()) return what + ": " + bad;
    if (f.kind != FileKind::kSocket && !(f.socket == SocketState{})) {
      return what + ": socket state on a " + FileKindName(f.kind);
    }
    if (f.socket.listening && (f.socket.peer != 0 || !f.socket.queued.empty())) {
      return what + ": a listening socket with a peer or queued data";
    }
    if (f.socket.name.size() > 108) return what + ": socket name longer than 108 bytes";
    if (f.socket.shutdown > 3) return what + ": bad shutdown bits " + Num(f.socket.shutdown);
    if (f.socket.options > 7) return what + ": bad socket options " + Num(f.socket.options);
    for (const FileLock& l : f.locks) {
      if (l.kind < 1 || l.kind > 3) return what + ": unknown lock kind " + Num(l.kind);
      if (l.start < 0 || l.end < -1 || (l.end >= 0 && l.end < l.start)) {
        return what + ": bad lock range " + std::to_string(l.start) + ".." + std::to_string(l.end);
      }
    }
  }
  return "";
}

std::string CheckSignals(const SignalState& s) {
  std::set<uint32_t> signos;
  for (const SignalAction& a : s.actions) {
    if (a.signo < 1 || a.signo > 64) return "signal number " + Num(a.signo) + " out of range";
    if (!signos.insert(a.signo).second) return "signal " + Num(a.signo) + " appears twice";
  }
  std::set<int32_t> tids;
  for (const ThreadPending& t : s.thread_pending) {
    if (t.tid <= 0 || !tids.insert(t.tid).second) {
      return "pending set of tid " + std::to_string(t.tid) + " is invalid or repeated";
    }
  }
  return "";
}

std::string CheckTimers(const TimerState& t) {
  std::set<int32_t> ids;
  for (const PosixTimer& p : t.posix_timers) {
    if (!ids.insert(p.timer_id).second) {
      return "POSIX timer " + std::to_string(p.timer_id) + " appears twice";
    }
  }
  return "";
}

std::string CheckMisc(const MiscState& m) {
  if (m.brk_current < m.brk_start) return "brk current is below brk start";
  if (m.umask > 0777) return "umask " + Hex(m.umask) + " has bits beyond 0777";
  std::set<uint32_t> res;
  for (const ResourceLimit& r : m.rlimits) {
    if (!res.insert(r.resource).second) return "rlimit " + Num(r.resource) + " appears twice";
  }
  return "";
}

// ---------------------------------------------------------------- record encodings

void EncodeHeaderBody(const ImageHeader& h, Enc* e) {
  e->U64(h.image_id);
  e->U64(h.created_ns);
  e->I32(h.pid);
  e->U32(h.uid);
  e->U32(h.gid);
  e->U32(h.page_size);
  e->Str(h.hostname);
  e->Str(h.kernel_release);
  e->Str(h.arch);
  e->Str(h.exe_path);
  e->Str(h.cwd);
  e->Count(h.argv.size());
  for (const auto& a : h.argv) e->Str(a);
  e->Count(h.env.size());
  for (const auto& v : h.env) e->Str(v);
  e->U64(h.vdso_addr);
  e->U64(h.vdso_size);
  e->U64(h.vvar_addr);
  e->U64(h.vvar_size);
  e->U64(h.restart_entry);
}

bool DecodeHeaderBody(Dec* d, ImageHeader* h) {
  h->image_id = d->U64();
  h->created_ns = d->U64();
  h->pid = d->I32();
  h->uid = d->U32();
  h->gid = d->U32();
  h->page_size = d->U32();
  h->hostname = d->Str();
  h->kernel_release = d->Str();
  h->arch = d->Str();
  h->exe_path = d->Str();
  h->cwd = d->Str();
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) h->argv.push_back(d->Str());
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) h->env.push_back(d->Str());
  h->vdso_addr = d->U64();
  h->vdso_size = d->U64();
  h->vvar_addr = d->U64();
  h->vvar_size = d->U64();
  h->restart_entry = d->U64();
  return d->ok();
}

std::string EncodeRegions(const std::vector<Region>& v, bool* too_long) {
  Enc e;
  e.Count(v.size());
  for (const Region& r : v) {
    size_t at = e.BeginRecord();
    e.U64(r.start);
    e.U64(r.end);
    e.U32(r.prot);
    e.U32(r.flags);
    e.U64(r.file_offset);
    e.U32(r.dev_major);
    e.U32(r.dev_minor);
    e.U64(r.inode);
    e.Str(r.path);
    e.EndRecord(at);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeRegions(Dec* d, std::vector<Region>* v) {
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    Region x;
    x.start = r.U64();
    x.end = r.U64();
    x.prot = r.U32();
    x.flags = r.U32();
    x.file_offset = r.U64();
    x.dev_major = r.U32();
    x.dev_minor = r.U32();
    x.inode = r.U64();
    x.path = r.Str();
    if (!r.ok()) return false;
    v->push_back(std::move(x));
  }
  return d->ok();
}

std::string EncodeThreads(const std::vector<ThreadState>& v, bool* too_long) {
  Enc e;
  e.Count(v.size());
  for (const ThreadState& t : v) {
    size_t at = e.BeginRecord();
    e.I32(t.tid);
    e.U32(t.checkpoint_thread ? kThreadFlagCheckpoint : 0);
    e.U64(t.fs_base);
    e.U64(t.sigmask);
    e.U64(t.rseq_area);
    e.U32(t.rseq_len);
    e.U32(t.rseq_sig);
    e.U64(t.altstack_sp);
    e.U64(t.altstack_size);
    e.U32(t.altstack_flags);
    e.Str(t.affinity);
    e.Str(t.context);
    e.EndRecord(at);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeThreads(Dec* d, std::vector<ThreadState>* v, std::string* err) {
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    ThreadState t;
    t.tid = r.I32();
    uint32_t flags = r.U32();
    t.checkpoint_thread = (flags & kThreadFlagCheckpoint) != 0;
    t.fs_base = r.U64();
    t.sigmask = r.U64();
    t.rseq_area = r.U64();
    t.rseq_len = r.U32();
    t.rseq_sig = r.U32();
    t.altstack_sp = r.U64();
    t.altstack_size = r.U64();
    t.altstack_flags = r.U32();
    t.affinity = r.Str();
    t.context = r.Str();
    if (!r.ok()) return false;
    if ((flags & ~kThreadFlagCheckpoint) != 0) {
      *err = "thread " + std::to_string(t.tid) + " has unknown flags " + Hex(flags);
      return false;
    }
    v->push_back(std::move(t));
  }
  return d->ok();
}

std::string EncodeFiles(const std::vector<FileState>& v, bool* too_long) {
  Enc e;
  e.Count(v.size());
  for (const FileState& f : v) {
    size_t at = e.BeginRecord();
    e.I32(f.fd);
    e.U32(static_cast<uint32_t>(f.kind));
    e.U32(f.open_flags);
    e.U32(f.fd_flags);
    e.I64(f.offset);
    e.U32(f.mode);
    e.U32(f.content_included ? kFileFlagContent : 0);
    e.Str(f.path);
    e.U64(f.size);
    e.I64(f.mtime_ns);
    e.U64(f.pipe_id);
    e.Blob64(f.pipe_data);
    e.Blob64(f.content);
    const EventObjectState& o = f.object;  // trailing fields (revision 2 of version 1)
    e.I32(o.same_as);
    e.U64(o.count);
    e.U32(o.flags);
    e.U64(o.mask);
    e.I64(o.value_ns);
    e.I64(o.interval_ns);
    e.Count(o.targets.size());
    for (const EpollTarget& t : o.targets) {
      size_t tat = e.BeginRecord();
      e.I32(t.fd);
      e.U32(t.events);
      e.U64(t.data);
      e.EndRecord(tat);
    }
    const SocketState& k = f.socket;
    e.U32(k.family);
    e.U32(k.type);
    e.U64(k.id);
    e.U64(k.peer);
    e.U32(k.listening ? 1 : 0);
    e.U32(k.backlog);
    e.U32(k.shutdown);
    e.U32(k.options);
    e.Str(k.name);
    e.Count(k.queued.size());
    for (const std::string& m : k.queued) {
      size_t mat = e.BeginRecord();
      e.Blob64(m);
      e.EndRecord(mat);
    }
    e.Count(f.locks.size());
    for (const FileLock& l : f.locks) {
      size_t lat = e.BeginRecord();
      e.U32(l.kind);
      e.U32(l.write ? 1 : 0);
      e.I64(l.start);
      e.I64(l.end);
      e.EndRecord(lat);
    }
    e.EndRecord(at);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeFiles(Dec* d, std::vector<FileState>* v, std::string* err) {
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    FileState f;
    f.fd = r.I32();
    f.kind = static_cast<FileKind>(r.U32());
    f.open_flags = r.U32();
    f.fd_flags = r.U32();
    f.offset = r.I64();
    f.mode = r.U32();
    uint32_t flags = r.U32();
    f.content_included = (flags & kFileFlagContent) != 0;
    f.path = r.Str();
    f.size = r.U64();
    f.mtime_ns = r.I64();
    f.pipe_id = r.U64();
    f.pipe_data = r.Blob64();
    f.content = r.Blob64();
    if (r.more()) {  // revision 2: the event-object state
      EventObjectState& o = f.object;
      o.same_as = r.I32();
      o.count = r.U64();
      o.flags = r.U32();
      o.mask = r.U64();
      o.value_ns = r.I64();
      o.interval_ns = r.I64();
      for (uint32_t tn = r.Count(), j = 0; j < tn && r.ok(); ++j) {
        Dec tr = r.Record();
        EpollTarget t;
        t.fd = tr.I32();
        t.events = tr.U32();
        t.data = tr.U64();
        if (!tr.ok()) return false;
        o.targets.push_back(t);
      }
      SocketState& k = f.socket;
      k.family = r.U32();
      k.type = r.U32();
      k.id = r.U64();
      k.peer = r.U64();
      const uint32_t listening = r.U32();
      k.listening = listening == 1;
      k.backlog = r.U32();
      k.shutdown = r.U32();
      k.options = r.U32();
      k.name = r.Str();
      for (uint32_t mn = r.Count(), j = 0; j < mn && r.ok(); ++j) {
        Dec mr = r.Record();
        k.queued.push_back(mr.Blob64());
        if (!mr.ok()) return false;
      }
      for (uint32_t ln = r.Count(), j = 0; j < ln && r.ok(); ++j) {
        Dec lr = r.Record();
        FileLock l;
        l.kind = lr.U32();
        const uint32_t write = lr.U32();
        l.write = write == 1;
        l.start = lr.I64();
        l.end = lr.I64();
        if (!lr.ok()) return false;
        if (write > 1) {
          *err = "fd " + std::to_string(f.fd) + " has a lock with a bad mode " + Num(write);
          return false;
        }
        f.locks.push_back(l);
      }
      if (listening > 1) {
        *err = "fd " + std::to_string(f.fd) + " has a bad listening flag " + Num(listening);
        return false;
      }
    }
    if (!r.ok()) return false;
    if ((flags & ~kFileFlagContent) != 0) {
      *err = "fd " + std::to_string(f.fd) + " has unknown flags " + Hex(flags);
      return false;
    }
    v->push_back(std::move(f));
  }
  return d->ok();
}

std::string EncodeSignals(const SignalState& s, bool* too_long) {
  Enc e;
  e.Count(s.actions.size());
  for (const SignalAction& a : s.actions) {
    size_t at = e.BeginRecord();
    e.U32(a.signo);
    e.Str(a.action);
    e.EndRecord(at);
  }
  e.U64(s.process_pending);
  e.Count(s.thread_pending.size());
  for (const ThreadPending& t : s.thread_pending) {
    size_t at = e.BeginRecord();
    e.I32(t.tid);
    e.U64(t.pending);
    e.EndRecord(at);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeSignals(Dec* d, SignalState* s) {
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    SignalAction a;
    a.signo = r.U32();
    a.action = r.Str();
    if (!r.ok()) return false;
    s->actions.push_back(std::move(a));
  }
  s->process_pending = d->U64();
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    ThreadPending t;
    t.tid = r.I32();
    t.pending = r.U64();
    if (!r.ok()) return false;
    s->thread_pending.push_back(t);
  }
  return d->ok();
}

std::string EncodeTimers(const TimerState& t, bool* too_long) {
  Enc e;
  for (const IntervalTimer* it : {&t.real, &t.virt, &t.prof}) {
    e.U64(it->value_ns);
    e.U64(it->interval_ns);
  }
  e.Count(t.posix_timers.size());
  for (const PosixTimer& p : t.posix_timers) {
    size_t at = e.BeginRecord();
    e.I32(p.timer_id);
    e.I32(p.clock_id);
    e.U64(p.value_ns);
    e.U64(p.interval_ns);
    e.I32(p.overrun);
    e.Str(p.sigevent);
    e.EndRecord(at);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeTimers(Dec* d, TimerState* t) {
  for (IntervalTimer* it : {&t->real, &t->virt, &t->prof}) {
    it->value_ns = d->U64();
    it->interval_ns = d->U64();
  }
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    PosixTimer p;
    p.timer_id = r.I32();
    p.clock_id = r.I32();
    p.value_ns = r.U64();
    p.interval_ns = r.U64();
    p.overrun = r.I32();
    p.sigevent = r.Str();
    if (!r.ok()) return false;
    t->posix_timers.push_back(std::move(p));
  }
  return d->ok();
}

std::string EncodeMisc(const MiscState& m, bool* too_long) {
  Enc e;
  e.U64(m.brk_start);
  e.U64(m.brk_current);
  e.U32(m.personality);
  e.U32(m.umask);
  e.Count(m.rlimits.size());
  for (const ResourceLimit& r : m.rlimits) {
    size_t at = e.BeginRecord();
    e.U32(r.resource);
    e.U64(r.cur);
    e.U64(r.max);
    e.EndRecord(at);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeMisc(Dec* d, MiscState* m) {
  m->brk_start = d->U64();
  m->brk_current = d->U64();
  m->personality = d->U32();
  m->umask = d->U32();
  for (uint32_t n = d->Count(), i = 0; i < n && d->ok(); ++i) {
    Dec r = d->Record();
    ResourceLimit x;
    x.resource = r.U32();
    x.cur = r.U64();
    x.max = r.U64();
    if (!r.ok()) return false;
    m->rlimits.push_back(x);
  }
  return d->ok();
}

// ---------------------------------------------------------------- chain and batches

uint64_t ChainNext(uint64_t chain, uint32_t type, uint64_t length, uint64_t hash) {
  char b[28];
  StoreLE(b, chain);
  StoreLE(b + 8, type);
  StoreLE(b + 12, length);
  StoreLE(b + 20, hash);
  return Hash64(b, sizeof(b));
}

bool Encoded(format::Codec c, format::Filter f) {
  return c != format::Codec::kNone || f != format::Filter::kNone;
}

struct BatchHeader {
  uint32_t runs = 0;
  uint16_t codec = 0;
  uint16_t filter = 0;
  uint64_t raw = 0;
  uint64_t stored = 0;
};

BatchHeader ParseBatchHeader(const char* p) {
  BatchHeader b;
  b.runs = LoadLE<uint32_t>(p);
  b.codec = LoadLE<uint16_t>(p + 4);
  b.filter = LoadLE<uint16_t>(p + 6);
  b.raw = LoadLE<uint64_t>(p + 8);
  b.stored = LoadLE<uint64_t>(p + 16);
  return b;
}

// Checks a batch header before its run table is read: `left` is the payload bytes after the
// 24-byte batch header.
std::string CheckBatchHeader(const BatchHeader& b, bool compressed_image, uint64_t left) {
  if (b.runs == 0) return "batch without runs";
  if (b.codec > 2 || b.filter > 1) {
    return "unknown codec " + Num(b.codec) + " / filter " + Num(b.filter);
  }
  const bool encoded =
      Encoded(static_cast<format::Codec>(b.codec), static_cast<format::Filter>(b.filter));
  if (encoded && !compressed_image) return "encoded batch in an image not flagged compressed";
  if (!encoded && b.stored != b.raw) return "raw batch with stored size != raw size";
  if (b.raw == 0 || b.raw > kMaxPageBatchBytes) return "batch raw size " + Num(b.raw);
  if (b.stored > 2 * kMaxPageBatchBytes) return "batch stored size " + Num(b.stored);
  if (b.runs > left / kRunSize) return "run table of " + Num(b.runs) + " runs does not fit";
  uint64_t need = uint64_t{b.runs} * kRunSize + b.stored + 8;
  if (need > left) return "batch of " + Num(need) + " bytes does not fit its section";
  return "";
}

// Checks the run table (runs * 16 bytes at p) against the region and the previous runs.
std::string CheckRuns(const BatchHeader& b, const char* p, uint64_t region_start,
                      uint64_t region_end, uint32_t ps, uint64_t* next_addr) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < b.runs; ++i) {
    uint64_t addr = LoadLE<uint64_t>(p + kRunSize * i);
    uint64_t len = LoadLE<uint64_t>(p + kRunSize * i + 8);
    std::string what = "run " + Hex(addr) + "+" + Hex(len);
    if (len == 0 || addr % ps != 0 || len % ps != 0) return what + " is empty or not page-aligned";
    if (addr < *next_addr || addr < region_start || addr > region_end || len > region_end - addr) {
      return what + " is outside region " + Range(region_start, region_end) +
             " or overlaps an earlier run";
    }
    *next_addr = addr + len;
    sum += len;
  }
  if (sum != b.raw) return "runs add up to " + Num(sum) + " bytes, batch says " + Num(b.raw);
  return "";
}

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t RandomId() {
  uint64_t v = 0;
  char* p = reinterpret_cast<char*>(&v);
  size_t got = 0;
  while (got < sizeof(v)) {
    ssize_t r = ::getrandom(p + got, sizeof(v) - got, GRND_NONBLOCK);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got < sizeof(v)) {
    uint64_t mix[3] = {NowNs(), static_cast<uint64_t>(::getpid()), reinterpret_cast<uintptr_t>(&v)};
    v = Hash64(mix, sizeof(mix));
  }
  return v == 0 ? 1 : v;
}

uint32_t HostPageSize() {
  long ps = ::sysconf(_SC_PAGESIZE);
  return ps > 0 ? static_cast<uint32_t>(ps) : 4096;
}

Result<std::string> ReadProcFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::FromErrno("cannot read " + path, e);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

}  // namespace

// ================================================================ public helpers

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
    default:
      break;
  }
  if ((type & kOptionalSectionBit) != 0) return "OPTIONAL(" + Hex(type) + ")";
  return "UNKNOWN(" + Num(type) + ")";
}

bool IsEventObject(FileKind k) {
  return k == FileKind::kEventfd || k == FileKind::kTimerfd || k == FileKind::kSignalfd ||
         k == FileKind::kEpoll;
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

// ================================================================ ImageWriter

Result<std::unique_ptr<ImageWriter>> ImageWriter::Create(Env* env, const std::string& final_path,
                                                         const WriteOptions& o) {
  if (env == nullptr) return Status::InvalidArgument("image writer: no Env");
  if (final_path.empty()) return Status::InvalidArgument("image writer: empty path");
  if (static_cast<uint16_t>(o.codec) > 2 || static_cast<uint16_t>(o.filter) > 1) {
    return Status::InvalidArgument("image writer: unknown codec or filter");
  }
  if (o.threads < 1) {
    return Status::InvalidArgument("image writer: threads must be >= 1, got " +
                                   std::to_string(o.threads));
  }
  if (o.batch_bytes == 0 || o.batch_bytes > kMaxPageBatchBytes) {
    return Status::InvalidArgument("image writer: batch_bytes must be in [1, " +
                                   Num(kMaxPageBatchBytes) + "], got " + Num(o.batch_bytes));
  }
  std::string tmp = final_path + ".tmp";
  auto f = env->NewWritableFile(tmp);
  if (!f.ok()) return f.status();
  return std::unique_ptr<ImageWriter>(new ImageWriter(env, final_path, o, std::move(f.value())));
}

ImageWriter::ImageWriter(Env* env, std::string final_path, const WriteOptions& o,
                         std::unique_ptr<WritableFile> file)
    : env_(env),
      final_path_(std::move(final_path)),
      tmp_path_(final_path_ + ".tmp"),
      opt_(o),
      batch_cap_(o.batch_bytes),
      file_(std::move(file)),
      buf_(new char[kBufSize]) {}

ImageWriter::~ImageWriter() {
  if (state_ == State::kOpen) Abort();
}

Status ImageWriter::CheckWritable(bool in_pages_ok) const {
  switch (state_) {
    case State::kOpen:
      break;
    case State::kFailed:
      return Status::FailedPrecondition("image '" + tmp_path_ +
                                        "' failed earlier: " + failure_.ToString());
    case State::kCommitted:
      return Status::FailedPrecondition("image '" + final_path_ + "' is committed already");
    case State::kAborted:
      return Status::FailedPrecondition("image '" + tmp_path_ + "' was aborted");
  }
  if (!in_pages_ok && in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ +
                                      "': a PAGES section is open (call EndPages first)");
  }
  return Status::Ok();
}

Status ImageWriter::Fail(Status st) {
  if (state_ == State::kOpen) {
    state_ = State::kFailed;
    failure_ = st;
    (void)file_->Close();
    (void)env_->RemoveFile(tmp_path_);
  }
  return st;
}

void ImageWriter::Abort() {
  if (state_ != State::kOpen) {
    if (state_ == State::kFailed) state_ = State::kAborted;
    return;
  }
  state_ = State::kAborted;
  (void)file_->Close();
  (void)env_->RemoveFile(tmp_path_);
}

Status ImageWriter::Flush() {
  if (buf_len_ == 0) return Status::Ok();
  Status st = file_->WriteAt(pos_ - buf_len_, buf_.get(), buf_len_);
  buf_len_ = 0;
  if (st.ok()) Writeback();
  return st;
}

// Every kWritebackStep bytes, the device starts on them: the disk works while the rest of the
// image is produced, and Commit's fdatasync has little left to wait for.
void ImageWriter::Writeback() {
  constexpr uint64_t kWritebackStep = 32u << 20;
  const uint64_t flushed = pos_ - buf_len_;
  if (flushed >= written_back_ + kWritebackStep) {
    file_->StartWriteback(written_back_, flushed - written_back_);
    written_back_ = flushed;
  }
}

Status ImageWriter::Put(const void* p, size_t n, Hasher* h1, Hasher* h2) {
  const char* c = static_cast<const char*>(p);
  if (n == 0) return Status::Ok();
  if (n >= kDirectMin) {
    CAIRN_RETURN_IF_ERROR(Flush());
    for (size_t done = 0; done < n;) {
      size_t k = std::min(kChunk, n - done);
      if (h1 != nullptr) h1->Update(c + done, k);
      if (h2 != nullptr) h2->Update(c + done, k);
      CAIRN_RETURN_IF_ERROR(file_->WriteAt(pos_, c + done, k));
      pos_ += k;
      done += k;
      Writeback();
    }
    return Status::Ok();
  }
  if (n > kBufSize - buf_len_) CAIRN_RETURN_IF_ERROR(Flush());
  char* dst = buf_.get() + buf_len_;
  std::memcpy(dst, c, n);
  if (h1 != nullptr) h1->Update(dst, n);
  if (h2 != nullptr) h2->Update(dst, n);
  buf_len_ += n;
  pos_ += n;
  return Status::Ok();
}

Status ImageWriter::Patch(uint64_t offset, const void* p, size_t n) {
  uint64_t base = pos_ - buf_len_;
  if (offset >= base) {
    std::memcpy(buf_.get() + (offset - base), p, n);
    return Status::Ok();
  }
  if (offset + n > base) return Status::Internal("image writer: patch straddles the buffer");
  return file_->WriteAt(offset, p, n);
}

void ImageWriter::ChainSection(uint32_t type, uint64_t length, uint64_t hash) {
  chain_ = ChainNext(chain_, type, length, hash);
  ++section_count_;
}

Status ImageWriter::WriteSection(uint32_t type, const void* payload, size_t n) {
  char hdr[kSectionHeaderSize];
  StoreLE(hdr, type);
  StoreLE<uint64_t>(hdr + 4, n);
  Status st = Put(hdr, sizeof(hdr), nullptr, nullptr);
  section_hasher_.Reset();
  if (st.ok()) st = Put(payload, n, &section_hasher_, nullptr);
  uint64_t hash = section_hasher_.Digest();
  char hb[8];
  StoreLE(hb, hash);
  if (st.ok()) st = Put(hb, sizeof(hb), nullptr, nullptr);
  if (!st.ok()) return Fail(st);
  if (type != static_cast<uint32_t>(SectionType::kEnd)) ChainSection(type, n, hash);
  return Status::Ok();
}

Status ImageWriter::WriteHeader(const ImageHeader& in) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': header written already");
  }
  ImageHeader h = in;
  h.format_version = kImageFormatVersion;
  if (h.image_id == 0) h.image_id = RandomId();
  if (h.created_ns == 0) h.created_ns = NowNs();
  if (h.page_size == 0) h.page_size = HostPageSize();
  if (h.arch.empty()) h.arch = HostArch();
  const bool encoded = Encoded(opt_.codec, opt_.filter);
  h.flags = encoded ? kImageFlagCompressed : 0;
  std::string err = CheckPageSize(h.page_size);
  if (!err.empty()) return Status::InvalidArgument("image '" + tmp_path_ + "': " + err);

  uint64_t cap = opt_.batch_bytes;
  if (encoded) {
    uint64_t per_thread = 2u << 20;
    cap = std::max<uint64_t>(cap, static_cast<uint64_t>(std::min(opt_.threads, 64)) * per_thread);
  }
  cap = std::min(cap, kMaxPageBatchBytes);
  cap -= cap % h.page_size;
  batch_cap_ = std::max<uint64_t>(cap, h.page_size);

  Enc body;
  EncodeHeaderBody(h, &body);
  if (body.too_long() || body.str().size() > kMaxImageHeaderBody) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': header larger than " +
                                   Num(kMaxImageHeaderBody) + " bytes (argv/environment?)");
  }
  std::string out(kImagePrefixSize, '\0');
  std::memcpy(out.data(), kImageMagic, sizeof(kImageMagic));
  StoreLE(&out[8], kImageFormatVersion);
  StoreLE(&out[10], kImageByteOrderMark);
  StoreLE(&out[12], h.flags);
  StoreLE(&out[16], static_cast<uint32_t>(body.str().size()));
  StoreLE(&out[20], uint32_t{0});
  out += body.str();
  h.header_hash = Hash64(out.data(), out.size());
  char hb[8];
  StoreLE(hb, h.header_hash);
  out.append(hb, sizeof(hb));
  Status st = Put(out.data(), out.size(), nullptr, nullptr);
  if (!st.ok()) return Fail(st);
  header_ = std::move(h);
  header_written_ = true;
  chain_ = header_.header_hash;
  return Status::Ok();
}

Status ImageWriter::WriteMetaSection(SectionType type, const std::string& payload, bool once) {
  if (once && (written_mask_ & Bit(type)) != 0) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': section " +
                                      SectionTypeName(static_cast<uint32_t>(type)) +
                                      " written already");
  }
  CAIRN_RETURN_IF_ERROR(WriteSection(static_cast<uint32_t>(type), payload.data(), payload.size()));
  written_mask_ |= Bit(type);
  return Status::Ok();
}

namespace {
template <class T, class CheckFn, class EncodeFn>
Status PrepareMeta(const std::string& tmp, const char* name, const T& v, CheckFn check,
                   EncodeFn encode, std::string* payload) {
  std::string err = check(v);
  bool too_long = false;
  if (err.empty()) {
    *payload = encode(v, &too_long);
    if (too_long) err = "a field is too long";
  }
  if (!err.empty()) return Status::InvalidArgument("image '" + tmp + "': " + name + ": " + err);
  return Status::Ok();
}
}  // namespace

Status ImageWriter::WriteRegions(const std::vector<Region>& regions) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (!header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': write the header first");
  }
  std::string payload;
  const uint32_t ps = header_.page_size;
  CAIRN_RETURN_IF_ERROR(PrepareMeta(
      tmp_path_, "REGIONS", regions, [ps](const auto& v) { return CheckRegions(v, ps); },
      EncodeRegions, &payload));
  CAIRN_RETURN_IF_ERROR(WriteMetaSection(SectionType::kRegions, payload, true));
  regions_ = regions;
  return Status::Ok();
}

#define CAIRN_IMAGE_WRITE_META(Method, T, Name, Type, CheckFn, EncodeFn)                      \
  Status ImageWriter::Method(const T& v) {                                                    \
    CAIRN_RETURN_IF_ERROR(CheckWritable(false));                                              \
    if (!header_written_) {                                                                   \
      return Status::FailedPrecondition("image '" + tmp_path_ + "': write the header first"); \
    }                                                                                         \
    std::string payload;                                                                      \
    CAIRN_RETURN_IF_ERROR(PrepareMeta(tmp_path_, Name, v, CheckFn, EncodeFn, &payload));      \
    return WriteMetaSection(Type, payload, true);                                             \
  }

CAIRN_IMAGE_WRITE_META(WriteThreads, std::vector<ThreadState>, "THREADS", SectionType::kThreads,
                       CheckThreads, EncodeThreads)
CAIRN_IMAGE_WRITE_META(WriteFiles, std::vector<FileState>, "FILES", SectionType::kFiles, CheckFiles,
                       EncodeFiles)
CAIRN_IMAGE_WRITE_META(WriteSignals, SignalState, "SIGNALS", SectionType::kSignals, CheckSignals,
                       EncodeSignals)
CAIRN_IMAGE_WRITE_META(WriteTimers, TimerState, "TIMERS", SectionType::kTimers, CheckTimers,
                       EncodeTimers)
CAIRN_IMAGE_WRITE_META(WriteMisc, MiscState, "MISC", SectionType::kMisc, CheckMisc, EncodeMisc)

#undef CAIRN_IMAGE_WRITE_META

Status ImageWriter::WriteOptionalSection(uint32_t type, const void* data, size_t n) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (!header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': write the header first");
  }
  if ((type & kOptionalSectionBit) == 0) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': section type " + Hex(type) +
                                   " is not optional (bit 31 clear)");
  }
  if (data == nullptr && n > 0) return Status::InvalidArgument("image: null section data");
  return WriteSection(type, data, n);
}

Status ImageWriter::BeginPages(uint64_t region_start, uint64_t region_end) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(false));
  if (!header_written_ || (written_mask_ & Bit(SectionType::kRegions)) == 0) {
    return Status::FailedPrecondition("image '" + tmp_path_ +
                                      "': PAGES need the header and REGIONS written first");
  }
  auto it = std::lower_bound(regions_.begin(), regions_.end(), region_start,
                             [](const Region& r, uint64_t s) { return r.start < s; });
  if (it == regions_.end() || it->start != region_start || it->end != region_end) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': PAGES for " +
                                   Range(region_start, region_end) + ", not a region in REGIONS");
  }
  if (std::find(paged_regions_.begin(), paged_regions_.end(), region_start) !=
      paged_regions_.end()) {
    return Status::InvalidArgument("image '" + tmp_path_ + "': region " +
                                   Range(region_start, region_end) + " has PAGES already");
  }
  char hdr[kSectionHeaderSize + 16];
  StoreLE(hdr, static_cast<uint32_t>(SectionType::kPages));
  StoreLE<uint64_t>(hdr + 4, 0);  // patched by EndPages
  StoreLE(hdr + 12, region_start);
  StoreLE(hdr + 20, region_end);
  pages_offset_ = pos_;
  section_hasher_.Reset();
  Status st = Put(hdr, kSectionHeaderSize, nullptr, nullptr);
  if (st.ok()) st = Put(hdr + kSectionHeaderSize, 16, &section_hasher_, nullptr);
  if (!st.ok()) return Fail(st);
  in_pages_ = true;
  pages_start_ = region_start;
  pages_end_ = region_end;
  next_addr_ = region_start;
  staged_runs_.clear();
  raw_.clear();
  return Status::Ok();
}

Status ImageWriter::AddPageRun(uint64_t addr, const void* data, uint64_t len) {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': AddPageRun without BeginPages");
  }
  if (len == 0) return Status::Ok();
  const uint64_t ps = header_.page_size;
  std::string what = "image '" + tmp_path_ + "': page run " + Hex(addr) + "+" + Hex(len);
  if (data == nullptr) return Status::InvalidArgument(what + ": no data");
  if (addr % ps != 0 || len % ps != 0) return Status::InvalidArgument(what + " not page-aligned");
  if (addr < next_addr_ || addr > pages_end_ || len > pages_end_ - addr) {
    return Status::InvalidArgument(what + " is outside region " + Range(pages_start_, pages_end_) +
                                   " or not after the previous run");
  }
  next_addr_ = addr + len;
  const char* p = static_cast<const char*>(data);
  if (!Encoded(opt_.codec, opt_.filter) && len >= kDirectRun) {
    // Large raw runs go straight from the caller's memory, a batch per batch_cap_ bytes.
    CAIRN_RETURN_IF_ERROR(FlushBatch());
    while (len > 0) {
      uint64_t piece = std::min(len, batch_cap_);
      std::vector<Run> one{{addr, piece}};
      CAIRN_RETURN_IF_ERROR(
          WriteBatch(one, p, piece, piece, format::Codec::kNone, format::Filter::kNone));
      addr += piece;
      p += piece;
      len -= piece;
    }
    return Status::Ok();
  }
  while (len > 0) {
    if (raw_.capacity() < batch_cap_) raw_.reserve(batch_cap_);
    uint64_t piece = std::min(len, batch_cap_ - raw_.size());
    raw_.append(p, piece);
    staged_runs_.push_back({addr, piece});
    addr += piece;
    p += piece;
    len -= piece;
    if (raw_.size() >= batch_cap_) CAIRN_RETURN_IF_ERROR(FlushBatch());
  }
  return Status::Ok();
}

Status ImageWriter::FlushBatch() {
  if (staged_runs_.empty()) return Status::Ok();
  Status st;
  if (!Encoded(opt_.codec, opt_.filter)) {
    st = WriteBatch(staged_runs_, raw_.data(), raw_.size(), raw_.size(), format::Codec::kNone,
                    format::Filter::kNone);
  } else {
    format::EncodeOptions eo;
    eo.codec = opt_.codec;
    eo.filter = opt_.filter;
    eo.level = opt_.level;
    eo.threads = opt_.threads;
    st = format::Encode(eo, raw_.data(), raw_.size(), &encoded_);
    if (!st.ok()) return Fail(st.Annotate("image '" + tmp_path_ + "'"));
    st = WriteBatch(staged_runs_, encoded_.data(), raw_.size(), encoded_.size(), opt_.codec,
                    opt_.filter);
  }
  staged_runs_.clear();
  raw_.clear();
  return st;
}

Status ImageWriter::WriteBatch(const std::vector<Run>& runs, const void* stored, uint64_t raw_size,
                               uint64_t stored_size, format::Codec codec, format::Filter filter) {
  std::string hdr(kBatchHeaderSize + kRunSize * runs.size(), '\0');
  StoreLE(&hdr[0], static_cast<uint32_t>(runs.size()));
  StoreLE(&hdr[4], static_cast<uint16_t>(codec));
  StoreLE(&hdr[6], static_cast<uint16_t>(filter));
  StoreLE(&hdr[8], raw_size);
  StoreLE(&hdr[16], stored_size);
  for (size_t i = 0; i < runs.size(); ++i) {
    StoreLE(&hdr[kBatchHeaderSize + kRunSize * i], runs[i].addr);
    StoreLE(&hdr[kBatchHeaderSize + kRunSize * i + 8], runs[i].len);
  }
  batch_hasher_.Reset();
  Status st = Put(hdr.data(), hdr.size(), &section_hasher_, &batch_hasher_);
  if (st.ok()) st = Put(stored, stored_size, &section_hasher_, &batch_hasher_);
  char hb[8];
  StoreLE(hb, batch_hasher_.Digest());
  if (st.ok()) st = Put(hb, sizeof(hb), &section_hasher_, nullptr);
  if (!st.ok()) return Fail(st);
  page_raw_total_ += raw_size;
  page_stored_total_ += stored_size;
  return Status::Ok();
}

Status ImageWriter::EndPages() {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!in_pages_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': EndPages without BeginPages");
  }
  CAIRN_RETURN_IF_ERROR(FlushBatch());
  const uint64_t length = pos_ - pages_offset_ - kSectionHeaderSize;
  const uint64_t hash = section_hasher_.Digest();
  char hb[8];
  StoreLE(hb, hash);
  Status st = Put(hb, sizeof(hb), nullptr, nullptr);
  char lb[8];
  StoreLE(lb, length);
  if (st.ok()) st = Patch(pages_offset_ + 4, lb, sizeof(lb));
  if (!st.ok()) return Fail(st);
  ChainSection(static_cast<uint32_t>(SectionType::kPages), length, hash);
  paged_regions_.push_back(pages_start_);
  in_pages_ = false;
  return Status::Ok();
}

Status ImageWriter::Commit() {
  CAIRN_RETURN_IF_ERROR(CheckWritable(true));
  if (!header_written_) {
    return Status::FailedPrecondition("image '" + tmp_path_ + "': commit without a header");
  }
  if (in_pages_) CAIRN_RETURN_IF_ERROR(EndPages());
  char end[16];
  StoreLE(end, section_count_);
  StoreLE(end + 8, chain_);
  CAIRN_RETURN_IF_ERROR(WriteSection(static_cast<uint32_t>(SectionType::kEnd), end, sizeof(end)));
  Status st = Flush();
  if (st.ok() && opt_.sync) st = file_->Sync();
  if (st.ok()) st = file_->Close();
  if (st.ok()) st = env_->Rename(tmp_path_, final_path_);
  if (!st.ok()) return Fail(st);
  state_ = State::kCommitted;
  if (opt_.sync) {
    Status ds = env_->SyncDir(DirName(final_path_));
    if (!ds.ok()) return ds.Annotate("image '" + final_path_ + "' renamed but not durable");
  }
  return Status::Ok();
}

// ================================================================ ImageReader

Status ImageReader::Corrupt(const std::string& msg) const {
  return Status::Corruption("image '" + path_ + "': " + msg);
}

Result<std::unique_ptr<ImageReader>> ImageReader::Open(Env* env, const std::string& path,
                                                       const OpenOptions& options) {
  if (env == nullptr) return Status::InvalidArgument("image reader: no Env");
  auto f = env->NewRandomAccessFile(path);
  if (!f.ok()) return f.status();
  std::unique_ptr<ImageReader> r(new ImageReader(path, std::move(f.value()), options));
  CAIRN_RETURN_IF_ERROR(r->Load());
  return r;
}

bool ImageReader::has_section(SectionType t) const {
  if (t == SectionType::kPages) return !pages_.empty();
  return (seen_mask_ & Bit(t)) != 0;
}

Status ImageReader::ParseHeader(uint64_t* end) {
  const uint64_t size = file_->size();
  char prefix[kImagePrefixSize];
  if (size < sizeof(kImageMagic)) {
    return Corrupt("not a cairn process image (only " + Num(size) + " bytes)");
  }
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(0, prefix, std::min<uint64_t>(size, sizeof(prefix))));
  if (std::memcmp(prefix, kImageMagic, sizeof(kImageMagic)) != 0) {
    return Corrupt("not a cairn process image (bad magic)");
  }
  if (size < kImagePrefixSize + 8) return Corrupt("truncated header (" + Num(size) + " bytes)");
  const uint16_t version = LoadLE<uint16_t>(prefix + 8);
  const uint16_t bom = LoadLE<uint16_t>(prefix + 10);
  if (bom != kImageByteOrderMark) {
    if (bom == 0x0201) return Corrupt("written on a host of the other byte order");
    return Corrupt("bad byte-order mark " + Hex(bom));
  }
  if (version == 0) return Corrupt("bad format version 0");
  if (version > kImageFormatVersion) {
    return Status::InvalidArgument("image '" + path_ + "': format version " + Num(version) +
                                   " is newer than this cairn supports (" +
                                   Num(kImageFormatVersion) + ")");
  }
  const uint32_t flags = LoadLE<uint32_t>(prefix + 12);
  const uint32_t body_len = LoadLE<uint32_t>(prefix + 16);
  if (body_len > kMaxImageHeaderBody) return Corrupt("header body of " + Num(body_len) + " bytes");
  const uint64_t hdr_end = kImagePrefixSize + uint64_t{body_len} + 8;
  if (hdr_end > size) {
    return Corrupt("truncated: header needs " + Num(hdr_end) + " bytes, file has " + Num(size));
  }
  std::string hdr(static_cast<size_t>(hdr_end), '\0');
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(0, hdr.data(), hdr.size()));
  const uint64_t want = LoadLE<uint64_t>(hdr.data() + hdr_end - 8);
  const uint64_t got = Hash64(hdr.data(), static_cast<size_t>(hdr_end - 8));
  if (want != got) return Corrupt("header checksum mismatch");
  if ((flags & ~kImageFlagCompressed) != 0) {
    return Status::InvalidArgument("image '" + path_ + "': unknown header flags " + Hex(flags) +
                                   " (written by a newer cairn?)");
  }
  ImageHeader h;
  h.format_version = version;
  h.flags = flags;
  Dec d(hdr.data() + kImagePrefixSize, body_len);
  if (!DecodeHeaderBody(&d, &h)) return Corrupt("header body is truncated");
  std::string err = CheckPageSize(h.page_size);
  if (!err.empty()) return Corrupt("header: " + err);
  if (h.arch != HostArch()) {
    return Status::InvalidArgument("image '" + path_ + "' is for architecture '" + h.arch +
                                   "', this host is '" + HostArch() + "'");
  }
  h.header_hash = got;
  header_ = std::move(h);
  *end = hdr_end;
  return Status::Ok();
}

Status ImageReader::ParseMeta(const SectionInfo& s, const std::string& payload) {
  const std::string where =
      "section " + SectionTypeName(s.type) + " at offset " + Num(s.offset) + ": ";
  Dec d(payload.data(), payload.size());
  std::string err;
  bool ok = false;
  switch (static_cast<SectionType>(s.type)) {
    case SectionType::kRegions:
      ok = DecodeRegions(&d, &regions_);
      if (ok) err = CheckRegions(regions_, header_.page_size);
      break;
    case SectionType::kThreads:
      ok = DecodeThreads(&d, &threads_, &err);
      if (ok) err = CheckThreads(threads_);
      break;
    case SectionType::kFiles:
      ok = DecodeFiles(&d, &files_, &err);
      if (ok) err = CheckFiles(files_);
      break;
    case SectionType::kSignals:
      ok = DecodeSignals(&d, &signals_);
      if (ok) err = CheckSignals(signals_);
      break;
    case SectionType::kTimers:
      ok = DecodeTimers(&d, &timers_);
      if (ok) err = CheckTimers(timers_);
      break;
    case SectionType::kMisc:
      ok = DecodeMisc(&d, &misc_);
      if (ok) err = CheckMisc(misc_);
      break;
    default:
      return Corrupt(where + "not a metadata section");
  }
  if (!ok && err.empty()) err = "record data is truncated";
  if (!err.empty()) return Corrupt(where + err);
  return Status::Ok();
}

Status ImageReader::ScanPages(const SectionInfo& s, PagesInfo* info) {
  const std::string where = "PAGES section at offset " + Num(s.offset) + ": ";
  const uint64_t begin = s.offset + kSectionHeaderSize;
  const uint64_t end = begin + s.length;
  if (opt_.verify_pages) {
    Hasher h;
    std::string buf;
    for (uint64_t at = begin; at < end;) {
      uint64_t n = std::min<uint64_t>(kReadChunk, end - at);
      buf.resize(static_cast<size_t>(n));
      CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, buf.data(), buf.size()));
      h.Update(buf.data(), buf.size());
      at += n;
    }
    if (h.Digest() != s.hash) return Corrupt(where + "checksum mismatch");
  }
  if (s.length < 16) return Corrupt(where + "too short for its region bounds");
  char rb[16];
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(begin, rb, sizeof(rb)));
  info->region_start = LoadLE<uint64_t>(rb);
  info->region_end = LoadLE<uint64_t>(rb + 8);
  auto it = std::lower_bound(regions_.begin(), regions_.end(), info->region_start,
                             [](const Region& r, uint64_t v) { return r.start < v; });
  if (it == regions_.end() || it->start != info->region_start || it->end != info->region_end) {
    return Corrupt(where + "region " + Range(info->region_start, info->region_end) +
                   " is not in REGIONS");
  }
  for (const PagesInfo& p : pages_) {
    if (p.region_start == info->region_start) {
      return Corrupt(where + "second PAGES section for region " +
                     Range(info->region_start, info->region_end));
    }
  }
  uint64_t next = info->region_start;
  std::string runs;
  for (uint64_t at = begin + 16; at < end;) {
    if (end - at < kBatchHeaderSize) return Corrupt(where + "batch header cut off");
    char bh[kBatchHeaderSize];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, bh, sizeof(bh)));
    BatchHeader b = ParseBatchHeader(bh);
    std::string err = CheckBatchHeader(b, compressed(), end - at - kBatchHeaderSize);
    if (!err.empty()) return Corrupt(where + "batch at offset " + Num(at) + ": " + err);
    runs.resize(kRunSize * b.runs);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at + kBatchHeaderSize, runs.data(), runs.size()));
    err = CheckRuns(b, runs.data(), info->region_start, info->region_end, header_.page_size, &next);
    if (!err.empty()) return Corrupt(where + "batch at offset " + Num(at) + ": " + err);
    ++info->batches;
    info->runs += b.runs;
    info->raw_bytes += b.raw;
    info->stored_bytes += b.stored;
    at += kBatchHeaderSize + runs.size() + b.stored + 8;
  }
  return Status::Ok();
}

Status ImageReader::Load() {
  const uint64_t size = file_->size();
  uint64_t off = 0;
  CAIRN_RETURN_IF_ERROR(ParseHeader(&off));
  uint64_t chain = header_.header_hash;
  uint64_t count = 0;
  while (off < size) {
    const std::string at = " at offset " + Num(off);
    if (size - off < kSectionHeaderSize) {
      return Corrupt("truncated: section header" + at + " is cut off (file has " + Num(size) +
                     " bytes)");
    }
    char sh[kSectionHeaderSize];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(off, sh, sizeof(sh)));
    SectionInfo s;
    s.type = LoadLE<uint32_t>(sh);
    s.offset = off;
    s.length = LoadLE<uint64_t>(sh + 4);
    const std::string name = "section " + Num(count) + " (" + SectionTypeName(s.type) + ")" + at;
    if (s.length > size - off - kSectionHeaderSize ||
        size - off - kSectionHeaderSize - s.length < 8) {
      return Corrupt("truncated: " + name + " claims " + Num(s.length) +
                     " payload bytes but the file ends " + Num(size - off) +
                     " bytes after its start");
    }
    char hb[8];
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(off + kSectionHeaderSize + s.length, hb, sizeof(hb)));
    s.hash = LoadLE<uint64_t>(hb);
    const uint64_t next = off + kSectionOverhead + s.length;

    const bool optional = (s.type & kOptionalSectionBit) != 0;
    if (s.type == static_cast<uint32_t>(SectionType::kEnd)) {
      if (s.length != 16) return Corrupt(name + ": END payload must be 16 bytes");
      char e[16];
      CAIRN_RETURN_IF_ERROR(file_->ReadAt(off + kSectionHeaderSize, e, sizeof(e)));
      if (Hash64(e, sizeof(e)) != s.hash) return Corrupt(name + ": checksum mismatch");
      const uint64_t want_count = LoadLE<uint64_t>(e);
      const uint64_t want_chain = LoadLE<uint64_t>(e + 8);
      if (want_count != count) {
        return Corrupt("END records " + Num(want_count) + " sections but the image has " +
                       Num(count) + " (sections missing or added)");
      }
      if (want_chain != chain) {
        return Corrupt("section chain mismatch: sections reordered, replaced or missing");
      }
      if (next != size) {
        return Corrupt(Num(size - next) + " trailing bytes after the END section");
      }
      sections_.push_back(s);
      seen_mask_ |= Bit(SectionType::kEnd);
      return Status::Ok();
    } else if (s.type == static_cast<uint32_t>(SectionType::kPages)) {
      if ((seen_mask_ & Bit(SectionType::kRegions)) == 0) {
        return Corrupt(name + ": PAGES before the REGIONS section");
      }
      PagesInfo info;
      info.section = sections_.size();
      CAIRN_RETURN_IF_ERROR(ScanPages(s, &info));
      pages_.push_back(info);
    } else if (optional) {
      auto payload = ReadSection(s);
      if (!payload.ok()) return payload.status();
    } else if (s.type >= 1 && s.type <= 7) {
      const uint32_t bit = 1u << s.type;
      if ((seen_mask_ & bit) != 0) return Corrupt(name + ": second section of this type");
      auto payload = ReadSection(s);
      if (!payload.ok()) return payload.status();
      CAIRN_RETURN_IF_ERROR(ParseMeta(s, payload.value()));
      seen_mask_ |= bit;
    } else {
      return Corrupt(name + ": unknown section type (not optional; written by a newer cairn?)");
    }
    sections_.push_back(s);
    chain = ChainNext(chain, s.type, s.length, s.hash);
    ++count;
    off = next;
  }
  return Corrupt("truncated: no END section (file ends after " + Num(count) + " sections at " +
                 Num(size) + " bytes)");
}

Result<std::string> ImageReader::ReadSection(const SectionInfo& s) const {
  if (s.length > file_->size()) return Corrupt("section larger than the file");
  std::string payload(static_cast<size_t>(s.length), '\0');
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(s.offset + kSectionHeaderSize, payload.data(), s.length));
  if (Hash64(payload.data(), payload.size()) != s.hash) {
    return Corrupt("section " + SectionTypeName(s.type) + " at offset " + Num(s.offset) +
                   ": checksum mismatch");
  }
  return payload;
}

Status ImageReader::ReadPages(const PageFn& fn) {
  for (const PagesInfo& p : pages_) CAIRN_RETURN_IF_ERROR(ReadPages(p, fn));
  return Status::Ok();
}

Status ImageReader::ReadPages(const PagesInfo& info, const PageFn& fn) {
  return WalkPages(
      info,
      [&](uint64_t addr, const void* data, uint64_t len, uint64_t) { return fn(addr, data, len); },
      true);
}

Status ImageReader::ReadPageLocations(const PageLocationFn& fn) {
  for (const PagesInfo& p : pages_) CAIRN_RETURN_IF_ERROR(WalkPages(p, fn, true));
  return Status::Ok();
}

Status ImageReader::ReadPageLayout(const BatchFn& on_batch, const PageLocationFn& fn) {
  for (const PagesInfo& p : pages_) CAIRN_RETURN_IF_ERROR(WalkPages(p, fn, false, &on_batch));
  return Status::Ok();
}

Status ImageReader::WalkPages(const PagesInfo& info, const PageLocationFn& fn, bool with_data,
                              const BatchFn* on_batch) {
  if (info.section >= sections_.size() ||
      sections_[info.section].type != static_cast<uint32_t>(SectionType::kPages)) {
    return Status::InvalidArgument("image '" + path_ + "': not a PAGES section of this image");
  }
  const SectionInfo& s = sections_[info.section];
  const std::string where = "PAGES section at offset " + Num(s.offset) + ": ";
  const uint64_t begin = s.offset + kSectionHeaderSize;
  const uint64_t end = begin + s.length;
  Hasher section;
  char rb[16];
  CAIRN_RETURN_IF_ERROR(file_->ReadAt(begin, rb, sizeof(rb)));
  section.Update(rb, sizeof(rb));
  const uint64_t region_start = LoadLE<uint64_t>(rb);
  const uint64_t region_end = LoadLE<uint64_t>(rb + 8);
  if (region_start != info.region_start || region_end != info.region_end) {
    return Corrupt(where + "region bounds changed since Open");
  }
  uint64_t next = region_start;
  std::string table;
  Hasher batch;
  for (uint64_t at = begin + 16; at < end;) {
    const std::string bwhere = where + "batch at offset " + Num(at) + ": ";
    if (end - at < kBatchHeaderSize) return Corrupt(bwhere + "header cut off");
    table.resize(kBatchHeaderSize);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at, table.data(), kBatchHeaderSize));
    BatchHeader b = ParseBatchHeader(table.data());
    std::string err = CheckBatchHeader(b, compressed(), end - at - kBatchHeaderSize);
    if (!err.empty()) return Corrupt(bwhere + err);
    table.resize(kBatchHeaderSize + kRunSize * b.runs);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(at + kBatchHeaderSize, table.data() + kBatchHeaderSize,
                                        table.size() - kBatchHeaderSize));
    const uint64_t data_at = at + table.size();
    const size_t stored = static_cast<size_t>(b.stored);
    if (!with_data) {  // layout only: where the raw runs are; nothing hashed
      if (Encoded(static_cast<format::Codec>(b.codec), static_cast<format::Filter>(b.filter))) {
        return Status::InvalidArgument("image '" + path_ + "': compressed pages have no layout");
      }
      uint64_t check_next = next;
      err = CheckRuns(b, table.data() + kBatchHeaderSize, region_start, region_end,
                      header_.page_size, &check_next);
      if (!err.empty()) return Corrupt(bwhere + err);
      next = check_next;
      if (on_batch != nullptr)
        CAIRN_RETURN_IF_ERROR((*on_batch)(at, table.size(), data_at + stored));
      uint64_t file_at = data_at;
      for (uint32_t i = 0; i < b.runs; ++i) {
        const char* r = table.data() + kBatchHeaderSize + kRunSize * i;
        const uint64_t len = LoadLE<uint64_t>(r + 8);
        CAIRN_RETURN_IF_ERROR(fn(LoadLE<uint64_t>(r), nullptr, len, file_at));
        file_at += len;
      }
      at = data_at + stored + 8;
      continue;
    }
    if (io_.size() < stored + 8) io_.resize(stored + 8);
    CAIRN_RETURN_IF_ERROR(file_->ReadAt(data_at, io_.data(), stored + 8));
    batch.Reset();
    batch.Update(table.data(), table.size());
    batch.Update(io_.data(), stored);
    if (batch.Digest() != LoadLE<uint64_t>(io_.data() + stored)) {
      return Corrupt(bwhere + "checksum mismatch");
    }
    section.Update(table.data(), table.size());
    section.Update(io_.data(), stored + 8);
    uint64_t check_next = next;
    err = CheckRuns(b, table.data() + kBatchHeaderSize, region_start, region_end, header_.page_size,
                    &check_next);
    if (!err.empty()) return Corrupt(bwhere + err);
    next = check_next;
    const char* data = io_.data();
    uint64_t file_at = data_at;  // of the run's bytes, while they are stored raw
    const auto codec = static_cast<format::Codec>(b.codec);
    const auto filter = static_cast<format::Filter>(b.filter);
    if (Encoded(codec, filter)) {
      file_at = kNotInFile;
      if (raw_.size() < b.raw) raw_.resize(static_cast<size_t>(b.raw));
      Status st = format::Decode(codec, filter, io_.data(), stored, raw_.data(),
                                 static_cast<size_t>(b.raw), opt_.threads);
      if (!st.ok()) return Corrupt(bwhere + st.message());
      data = raw_.data();
    }
    for (uint32_t i = 0; i < b.runs; ++i) {
      const char* r = table.data() + kBatchHeaderSize + kRunSize * i;
      const uint64_t addr = LoadLE<uint64_t>(r);
      const uint64_t len = LoadLE<uint64_t>(r + 8);
      CAIRN_RETURN_IF_ERROR(fn(addr, data, len, file_at));
      data += len;
      if (file_at != kNotInFile) file_at += len;
    }
    at = data_at + stored + 8;
  }
  if (with_data && section.Digest() != s.hash) return Corrupt(where + "checksum mismatch");
  return Status::Ok();
}

}  // namespace cairn::transparent
