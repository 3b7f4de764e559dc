// See image_records.h.
#include "transparent/image_records.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/socket.h>
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

namespace cairn::transparent::records {

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

std::string CheckParent(const ParentRef& p, const std::vector<Region>& regions, uint32_t ps) {
  if (p.image_id == 0) return "parent image id is 0";
  if (p.name.empty() || p.name.find('/') != std::string::npos || p.name == "." || p.name == ".." ||
      !p.name.ends_with(naming::kImageSuffix)) {
    return "parent name '" + p.name + "' is not an image file name";
  }
  if (p.depth == 0) return "chain depth 0";
  size_t ri = 0;
  for (size_t i = 0; i < p.inherited.size(); ++i) {
    const AddressRange& a = p.inherited[i];
    const std::string what = "inherited range " + Num(i) + " " + Range(a.start, a.end);
    if (a.start >= a.end) return what + " is empty or inverted";
    if (a.start % ps != 0 || a.end % ps != 0) return what + " is not page-aligned";
    if (i > 0 && a.start < p.inherited[i - 1].end) return what + " is out of order or overlaps";
    // Covered by regions (adjacent regions may share one range).
    while (ri < regions.size() && regions[ri].end <= a.start) ++ri;
    for (uint64_t at = a.start; at < a.end; ++ri) {
      if (ri == regions.size() || regions[ri].start > at) return what + " is outside the regions";
      at = regions[ri].end;
    }
    if (ri > 0) --ri;  // the next range may start in the last region this one reached
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
  if (f.kind != FileKind::kInotify && !o.watches.empty())
    return "inotify watches on a " + std::string(FileKindName(f.kind));
  std::set<int32_t> wds;
  for (const InotifyWatch& w : o.watches) {
    if (w.wd <= 0 || !wds.insert(w.wd).second)
      return "bad or repeated watch " + std::to_string(w.wd);
    if (!w.path.empty() && w.path[0] != '/') return "a watch path that is not absolute";
  }
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
    if (k < 1 || k > 12) return what + " has unknown kind " + Num(k);
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
    if (f.socket.options > 63) return what + ": bad socket options " + Num(f.socket.options);
    if (f.kind != FileKind::kTty && !(f.tty == TtyState{})) {
      return what + ": terminal state on a " + FileKindName(f.kind);
    }
    if (f.tty.flags > 7 || (f.tty.flags & 3) == 3) return what + ": bad terminal flags";
    if (!f.socket.peer_name.empty() &&
        ((f.socket.family != AF_INET && f.socket.family != AF_INET6) ||
         f.socket.peer_name.size() > sizeof(sockaddr_storage) || f.socket.listening)) {
      return what + ": a peer address on a socket that cannot have one";
    }
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
    e.Str(k.peer_name);         // revision 3
    e.Count(o.watches.size());  // revision 4
    for (const InotifyWatch& w : o.watches) {
      size_t wat = e.BeginRecord();
      e.I32(w.wd);
      e.U32(w.mask);
      e.U64(w.ino);
      e.U32(w.dev);
      e.Str(w.path);
      e.EndRecord(wat);
    }
    e.U32(f.tty.index);  // revision 5
    e.U32(f.tty.flags);
    e.Str(f.tty.termios);
    e.Str(f.tty.winsize);
    e.I32(f.tty.foreground);
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
      if (r.more()) k.peer_name = r.Str();  // revision 3: a TCP connection's peer
      if (r.more()) {                       // revision 4: an inotify instance's watches
        for (uint32_t wn = r.Count(), j = 0; j < wn && r.ok(); ++j) {
          Dec wr = r.Record();
          InotifyWatch w;
          w.wd = wr.I32();
          w.mask = wr.U32();
          w.ino = wr.U64();
          w.dev = wr.U32();
          w.path = wr.Str();
          if (!wr.ok()) return false;
          o.watches.push_back(std::move(w));
        }
      }
      if (r.more()) {  // revision 5: a terminal
        f.tty.index = r.U32();
        f.tty.flags = r.U32();
        f.tty.termios = r.Str();
        f.tty.winsize = r.Str();
        f.tty.foreground = r.I32();
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

std::string EncodeParent(const ParentRef& p, bool* too_long) {
  Enc e;
  e.U64(p.image_id);
  e.Str(p.name);
  e.U32(p.depth);
  e.U64(p.inherited.size());
  for (const AddressRange& a : p.inherited) {
    e.U64(a.start);
    e.U64(a.end);
  }
  *too_long = e.too_long();
  return std::move(e.str());
}

bool DecodeParent(Dec* d, ParentRef* p) {
  p->image_id = d->U64();
  p->name = d->Str();
  p->depth = d->U32();
  const uint64_t n = d->U64();
  if (!d->ok() || n > d->left() / 16) return false;
  p->inherited.resize(static_cast<size_t>(n));
  for (AddressRange& a : p->inherited) {
    a.start = d->U64();
    a.end = d->U64();
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

}  // namespace cairn::transparent::records
