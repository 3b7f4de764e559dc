// Point-to-point: virtual requests, blocking calls as nonblocking ones plus a test loop with a
// safe point, the drain store of messages a checkpoint pulled out of the library, and the
// message counts the drain terminates on (shim.h).
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/protocol_state.h"
#include "mpi/shim.h"

namespace cairn::mpi {

namespace {

RequestTable g_requests;
RequestInfo g_info[kMaxRequests];

// Messages a drain received on the program's behalf, in arrival order.
struct Drained {
  bool used = false;
  uint64_t comm_bits = 0;  // the virtual (or predefined) communicator, as the program has it
  int source = 0, tag = 0;
  int bytes = 0;
  char* data = nullptr;  // mmap()ed: upper-half memory, part of the image
  size_t map_len = 0;
};
constexpr size_t kMaxDrained = 1 << 14;
Drained g_drained[kMaxDrained];
size_t g_ndrained = 0;    // high-water mark of used slots
uint64_t g_post_seq = 0;  // RequestInfo::seq (under g_p2p_lock)
std::recursive_mutex g_p2p_lock;

uint64_t Bits(MPI_Comm c) {
  uint64_t b = 0;
  std::memcpy(&b, &c, sizeof c);
  return b;
}

bool Matches(const Drained& d, int source, int tag, MPI_Comm vcomm) {
  return d.used && d.comm_bits == Bits(vcomm) && (source == MPI_ANY_SOURCE || source == d.source) &&
         (tag == MPI_ANY_TAG || tag == d.tag);
}

void FillStatus(MPI_Status* st, const Drained& d) {
  if (st == MPI_STATUS_IGNORE) return;
  st->MPI_SOURCE = d.source;
  st->MPI_TAG = d.tag;
  st->MPI_ERROR = MPI_SUCCESS;
  Lower l;
  CAIRN_REAL(MPI_Status_set_elements)(st, MPI_BYTE, d.bytes);
  CAIRN_REAL(MPI_Status_set_cancelled)(st, 0);
}

long NewRequest(RequestInfo::Kind kind, void* buf, int count, MPI_Datatype type, int peer, int tag,
                MPI_Comm comm) {
  return AddRequest(kind, MPI_REQUEST_NULL, buf, count, type, peer, tag, comm);
}

void FreeRequest(size_t i) {
  std::lock_guard<std::recursive_mutex> g(g_p2p_lock);
  g_info[i].kind = RequestInfo::kNone;
  g_requests.Free(i);
}

// Tests request i once: true when complete (status filled, entry freed; a persistent request
// becomes inactive instead, and an inactive one is complete with an empty status).
int TestOne(size_t i, int* flag, MPI_Status* status) {
  RequestInfo& r = g_info[i];
  *flag = 0;
  if (r.kind == RequestInfo::kPersistent) {
    if (r.child < 0) {
      *flag = 1;
      EmptyStatus(status);
      return MPI_SUCCESS;
    }
    const int rc = TestOne(static_cast<size_t>(r.child), flag, status);
    if (rc == MPI_SUCCESS && *flag) r.child = -1;
    return rc;
  }
  if (r.repost) {
    int rc = PostRecv(i);
    if (rc != MPI_SUCCESS) return rc;
  }
  if (r.completed) {
    if (status != MPI_STATUS_IGNORE) *status = r.status;
    FreeRequest(i);
    *flag = 1;
    return MPI_SUCCESS;
  }
  MPI_Request real = g_requests.Real(i);
  MPI_Status st;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Test)(&real, flag, &st);
  }
  if (rc != MPI_SUCCESS) return rc;
  if (!*flag) return MPI_SUCCESS;
  // (By the posted peer: MPICH reports source 0 for a receive from MPI_PROC_NULL.)
  if (r.kind == RequestInfo::kRecv && r.peer != MPI_PROC_NULL) CountReceived();
  if (status != MPI_STATUS_IGNORE) *status = st;
  FreeRequest(i);
  return MPI_SUCCESS;
}

int Isend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
          MPI_Request* request, bool sync) {
  long i = NewRequest(RequestInfo::kSend, const_cast<void*>(buf), count, type, dest, tag, comm);
  if (i < 0) return MPI_ERR_INTERN;
  MPI_Request real = MPI_REQUEST_NULL;
  int rc;
  {
    Lower l;
    auto fn = sync ? CAIRN_REAL(MPI_Issend) : CAIRN_REAL(MPI_Isend);
    rc = fn(buf, count, Types().ToReal(type), dest, tag, Comms().ToReal(comm), &real);
  }
  if (rc != MPI_SUCCESS) {
    FreeRequest(static_cast<size_t>(i));
    return rc;
  }
  if (dest != MPI_PROC_NULL) CountSent();
  g_requests.SetReal(static_cast<size_t>(i), real);
  *request = g_requests.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

int Irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
          MPI_Request* request) {
  long i = NewRequest(RequestInfo::kRecv, buf, count, type, source, tag, comm);
  if (i < 0) return MPI_ERR_INTERN;
  int rc = PostRecv(static_cast<size_t>(i));
  if (rc != MPI_SUCCESS) {
    FreeRequest(static_cast<size_t>(i));
    return rc;
  }
  *request = g_requests.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

// Waits for request i with safe points.
int WaitOne(size_t i, MPI_Status* status) {
  for (unsigned spin = 0;; ++spin) {
    int flag = 0;
    int rc = TestOne(i, &flag, status);
    if (rc != MPI_SUCCESS || flag) return rc;
    SafePoint();
    if ((spin & 63) == 63) ::sched_yield();
  }
}

bool IsOurs(MPI_Request v, size_t* i) { return g_requests.Index(v, i); }

// After request i (the program's handle *v) completed: MPI_REQUEST_NULL, unless persistent.
void Done(MPI_Request* v, size_t i) {
  if (g_info[i].kind != RequestInfo::kPersistent) *v = MPI_REQUEST_NULL;
}

bool Inactive(size_t i) {
  return g_info[i].kind == RequestInfo::kPersistent && g_info[i].child < 0;
}

}  // namespace

bool InactivePersistent(MPI_Request v) {
  size_t i;
  return IsOurs(v, &i) && Inactive(i);
}

void EmptyStatus(MPI_Status* st) {
  if (st == MPI_STATUS_IGNORE) return;
  st->MPI_SOURCE = MPI_ANY_SOURCE;
  st->MPI_TAG = MPI_ANY_TAG;
  st->MPI_ERROR = MPI_SUCCESS;
  Lower l;
  CAIRN_REAL(MPI_Status_set_elements)(st, MPI_BYTE, 0);
  CAIRN_REAL(MPI_Status_set_cancelled)(st, 0);
}

long AddRequest(RequestInfo::Kind kind, MPI_Request real, void* buf, int count, MPI_Datatype vtype,
                int peer, int tag, MPI_Comm vcomm) {
  std::lock_guard<std::recursive_mutex> g(g_p2p_lock);
  long i = g_requests.Add(real);
  if (i < 0) return -1;
  RequestInfo& r = g_info[i];
  r = RequestInfo{};
  r.seq = ++g_post_seq;
  r.kind = kind;
  r.buf = buf;
  r.count = count;
  r.type = vtype;
  r.peer = peer;
  r.tag = tag;
  r.comm = vcomm;
  return i;
}

RequestTable& Requests() { return g_requests; }
std::recursive_mutex& RequestLock() { return g_p2p_lock; }
RequestInfo& Info(size_t i) { return g_info[i]; }

bool PeekDrained(int source, int tag, MPI_Comm vcomm, MPI_Status* status) {
  // (Drained messages are added only while every program thread is frozen.)
  if (g_ndrained == 0) return false;
  std::lock_guard<std::recursive_mutex> g(g_p2p_lock);
  for (size_t k = 0; k < g_ndrained; ++k) {
    if (Matches(g_drained[k], source, tag, vcomm)) {
      FillStatus(status, g_drained[k]);
      return true;
    }
  }
  return false;
}

int UnpackReceived(const void* data, int bytes, void* buf, int count, MPI_Datatype rtype,
                   MPI_Comm rcomm) {
  Lower l;
  int size = 0;
  int rc = CAIRN_REAL(MPI_Type_size)(rtype, &size);
  if (rc != MPI_SUCCESS) return rc;
  const long capacity = static_cast<long>(size) * count;
  // Whole elements only: a message that ends inside an element (the sender used another
  // type) leaves that element's part unset.
  const int n = size > 0 ? static_cast<int>(std::min<long>(count, bytes / size)) : 0;
  int pos = 0;
  if (n > 0) {
    rc = CAIRN_REAL(MPI_Unpack)(const_cast<void*>(data), bytes, &pos, buf, n, rtype, rcomm);
  }
  if (rc == MPI_SUCCESS && bytes > capacity) rc = MPI_ERR_TRUNCATE;
  return rc;
}

bool TakeDrained(void* buf, int count, MPI_Datatype rtype, int source, int tag, MPI_Comm rcomm,
                 MPI_Comm vcomm, MPI_Status* status, int* rc) {
  if (g_ndrained == 0) return false;  // (see PeekDrained)
  std::lock_guard<std::recursive_mutex> g(g_p2p_lock);
  for (size_t k = 0; k < g_ndrained; ++k) {
    Drained& d = g_drained[k];
    if (!Matches(d, source, tag, vcomm)) continue;
    *rc = UnpackReceived(d.data, d.bytes, buf, count, rtype, rcomm);
    FillStatus(status, d);
    ::munmap(d.data, d.map_len);
    d = Drained{};
    while (g_ndrained > 0 && !g_drained[g_ndrained - 1].used) --g_ndrained;
    return true;
  }
  return false;
}

int PostRecv(size_t i) {
  RequestInfo& r = g_info[i];
  r.repost = false;
  int rc = MPI_SUCCESS;
  if (TakeDrained(r.buf, r.count, Types().ToReal(r.type), r.peer, r.tag, Comms().ToReal(r.comm),
                  r.comm, &r.status, &rc)) {
    r.completed = true;
    return rc;
  }
  MPI_Request real = MPI_REQUEST_NULL;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Irecv)(r.buf, r.count, Types().ToReal(r.type), r.peer, r.tag,
                               Comms().ToReal(r.comm), &real);
  }
  g_requests.SetReal(i, real);
  return rc;
}

// ------------------------------------------------------------------ drain
bool StoreDrained(MPI_Comm vcomm, MPI_Comm rcomm, const MPI_Status& probe, char* err,
                  size_t err_len) {
  int bytes = 0;
  CAIRN_REAL(MPI_Get_count)(&probe, MPI_BYTE, &bytes);
  size_t k = g_ndrained;
  if (k == kMaxDrained) {
    std::snprintf(err, err_len, "more than %zu messages in flight", kMaxDrained);
    return false;
  }
  const size_t len = (static_cast<size_t>(bytes) + 4095) & ~size_t{4095};
  // A raw mmap: the drain runs inside the lower half, whose mmap()s are not saved.
  void* p = len == 0
                ? nullptr
                : reinterpret_cast<void*>(::syscall(SYS_mmap, nullptr, len, PROT_READ | PROT_WRITE,
                                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) {
    std::snprintf(err, err_len, "no memory for a drained message of %d bytes", bytes);
    return false;
  }
  MPI_Status st;
  int rc = CAIRN_REAL(MPI_Recv)(p, bytes, MPI_PACKED, probe.MPI_SOURCE, probe.MPI_TAG, rcomm, &st);
  if (rc != MPI_SUCCESS) {
    std::snprintf(err, err_len, "receiving a message in flight failed (%d)", rc);
    return false;
  }
  Drained& d = g_drained[g_ndrained++];
  d.used = true;
  d.comm_bits = Bits(vcomm);
  d.source = probe.MPI_SOURCE;
  d.tag = probe.MPI_TAG;
  d.bytes = bytes;
  d.data = static_cast<char*>(p);
  d.map_len = len;
  CountReceived();
  return true;
}

size_t DrainedCount() { return g_ndrained; }

// Cancels pending receives (true: request i must be posted again after the checkpoint) or
// records their completion; tests pending sends. `finish_sends`: wait for them.
bool SettleRequests(bool cancel_receives, bool finish_sends, char* err, size_t err_len) {
  std::lock_guard<std::recursive_mutex> g(g_p2p_lock);
  for (size_t i = 0; i < g_requests.Limit(); ++i) {
    if (!g_requests.Used(i)) continue;
    RequestInfo& r = g_info[i];
    MPI_Request real = g_requests.Real(i);
    if (r.completed || r.repost || real == MPI_REQUEST_NULL) continue;
    MPI_Status st;
    int flag = 0, rc;
    if (r.kind == RequestInfo::kRecv && cancel_receives) {
      CAIRN_REAL(MPI_Cancel)(&real);
      rc = CAIRN_REAL(MPI_Wait)(&real, &st);
      if (rc != MPI_SUCCESS) {
        std::snprintf(err, err_len, "cancelling a pending receive failed (%d)", rc);
        return false;
      }
      CAIRN_REAL(MPI_Test_cancelled)(&st, &flag);
      g_requests.SetReal(i, MPI_REQUEST_NULL);
      if (flag) {
        r.repost = true;
      } else {
        r.completed = true;
        r.status = st;
        if (r.peer != MPI_PROC_NULL) CountReceived();
      }
      continue;
    }
    if (r.kind == RequestInfo::kSend) {
      rc =
          finish_sends ? CAIRN_REAL(MPI_Wait)(&real, &st) : CAIRN_REAL(MPI_Test)(&real, &flag, &st);
      if (rc != MPI_SUCCESS) {
        std::snprintf(err, err_len, "completing a pending send failed (%d)", rc);
        return false;
      }
      if (finish_sends || flag) {
        g_requests.SetReal(i, MPI_REQUEST_NULL);
        r.completed = true;
        r.status = st;
      }
    }
  }
  return true;
}

void RepostReceives() {
  std::lock_guard<std::recursive_mutex> g(g_p2p_lock);
  std::vector<size_t> again;
  for (size_t i = 0; i < g_requests.Limit(); ++i) {
    if (g_requests.Used(i) && g_info[i].repost) again.push_back(i);
  }
  std::sort(again.begin(), again.end(),
            [](size_t a, size_t b) { return g_info[a].seq < g_info[b].seq; });
  for (size_t i : again) (void)PostRecv(i);
}

}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

// ------------------------------------------------------------------ wrappers
CAIRN_API int MPI_Isend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                        MPI_Comm comm, MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Isend)(buf, count, type, dest, tag, comm, request);
  Call c;
  return Isend(buf, count, type, dest, tag, comm, request, false);
}
CAIRN_PMPI(MPI_Isend)

CAIRN_API int MPI_Issend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                         MPI_Comm comm, MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Issend)(buf, count, type, dest, tag, comm, request);
  Call c;
  return Isend(buf, count, type, dest, tag, comm, request, true);
}
CAIRN_PMPI(MPI_Issend)

CAIRN_API int MPI_Irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
                        MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Irecv)(buf, count, type, source, tag, comm, request);
  Call c;
  return Irecv(buf, count, type, source, tag, comm, request);
}
CAIRN_PMPI(MPI_Irecv)

static int SendBlocking(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                        MPI_Comm comm, bool sync) {
  Call c;
  // Fast path: a send the library completes at once (eager) needs no entry in the table.
  // (Inside the wrapper no checkpoint can freeze this thread between the post and the test.)
  if (!sync) {
    MPI_Request real = MPI_REQUEST_NULL;
    int flag = 0, rc;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Isend)(buf, count, Types().ToReal(type), dest, tag, Comms().ToReal(comm),
                                 &real);
      for (int k = 0; rc == MPI_SUCCESS && !flag && k < 16; ++k) {
        rc = CAIRN_REAL(MPI_Test)(&real, &flag, MPI_STATUS_IGNORE);
      }
    }
    if (rc != MPI_SUCCESS) return rc;
    if (dest != MPI_PROC_NULL) CountSent();
    if (flag) return MPI_SUCCESS;
    const long i =
        NewRequest(RequestInfo::kSend, const_cast<void*>(buf), count, type, dest, tag, comm);
    if (i < 0) {
      Lower l;
      return CAIRN_REAL(MPI_Wait)(&real, MPI_STATUS_IGNORE);
    }
    g_requests.SetReal(static_cast<size_t>(i), real);
    return WaitOne(static_cast<size_t>(i), MPI_STATUS_IGNORE);
  }
  MPI_Request v;
  int rc = Isend(buf, count, type, dest, tag, comm, &v, sync);
  if (rc != MPI_SUCCESS) return rc;
  size_t i = 0;
  IsOurs(v, &i);
  return WaitOne(i, MPI_STATUS_IGNORE);
}

CAIRN_API int MPI_Send(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                       MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Send)(buf, count, type, dest, tag, comm);
  return SendBlocking(buf, count, type, dest, tag, comm, false);
}
CAIRN_PMPI(MPI_Send)

CAIRN_API int MPI_Ssend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                        MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Ssend)(buf, count, type, dest, tag, comm);
  return SendBlocking(buf, count, type, dest, tag, comm, true);
}
CAIRN_PMPI(MPI_Ssend)

CAIRN_API int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
                       MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Recv)(buf, count, type, source, tag, comm, status);
  Call c;
  // Fast path: no drained message waits, and the message arrives within a few tests: no entry
  // in the table. (A checkpoint cannot freeze this thread before it reaches a safe point, and
  // the receive is in the table before the first one.)
  if (g_ndrained == 0) {
    MPI_Request real = MPI_REQUEST_NULL;
    MPI_Status st;
    int flag = 0, rc;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Irecv)(buf, count, Types().ToReal(type), source, tag,
                                 Comms().ToReal(comm), &real);
      for (int k = 0; rc == MPI_SUCCESS && !flag && k < 16; ++k) {
        rc = CAIRN_REAL(MPI_Test)(&real, &flag, &st);
      }
    }
    if (rc != MPI_SUCCESS) return rc;
    if (flag) {
      if (source != MPI_PROC_NULL) CountReceived();
      if (status != MPI_STATUS_IGNORE) *status = st;
      return MPI_SUCCESS;
    }
    const long i = NewRequest(RequestInfo::kRecv, buf, count, type, source, tag, comm);
    if (i < 0) return MPI_ERR_INTERN;  // (the table is full: nothing can be restarted anyway)
    g_requests.SetReal(static_cast<size_t>(i), real);
    return WaitOne(static_cast<size_t>(i), status);
  }
  MPI_Request v;
  int rc = Irecv(buf, count, type, source, tag, comm, &v);
  if (rc != MPI_SUCCESS) return rc;
  size_t i = 0;
  IsOurs(v, &i);
  return WaitOne(i, status);
}
CAIRN_PMPI(MPI_Recv)

CAIRN_API int MPI_Sendrecv(const void* sbuf, int scount, MPI_Datatype stype, int dest, int stag,
                           void* rbuf, int rcount, MPI_Datatype rtype, int source, int rtag,
                           MPI_Comm comm, MPI_Status* status) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Sendrecv)(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, source,
                                    rtag, comm, status);
  }
  Call c;
  MPI_Request r, s;
  int rc = Irecv(rbuf, rcount, rtype, source, rtag, comm, &r);
  if (rc != MPI_SUCCESS) return rc;
  rc = Isend(sbuf, scount, stype, dest, stag, comm, &s, false);
  size_t ri = 0, si = 0;
  IsOurs(r, &ri);
  if (rc != MPI_SUCCESS) {
    (void)WaitOne(ri, MPI_STATUS_IGNORE);
    return rc;
  }
  IsOurs(s, &si);
  rc = WaitOne(si, MPI_STATUS_IGNORE);
  int rc2 = WaitOne(ri, status);
  return rc != MPI_SUCCESS ? rc : rc2;
}
CAIRN_PMPI(MPI_Sendrecv)

CAIRN_API int MPI_Sendrecv_replace(void* buf, int count, MPI_Datatype type, int dest, int stag,
                                   int source, int rtag, MPI_Comm comm, MPI_Status* status) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Sendrecv_replace)(buf, count, type, dest, stag, source, rtag, comm,
                                            status);
  }
  Call c;
  int size = 0, pos = 0, rc;
  MPI_Comm rcomm = Comms().ToReal(comm);
  MPI_Datatype rtype = Types().ToReal(type);
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Pack_size)(count, rtype, rcomm, &size);
  }
  if (rc != MPI_SUCCESS) return rc;
  std::vector<char> tmp(static_cast<size_t>(size) + 1);
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Pack)(buf, count, rtype, tmp.data(), size, &pos, rcomm);
  }
  if (rc != MPI_SUCCESS) return rc;
  MPI_Request r, s;
  rc = Isend(tmp.data(), pos, MPI_PACKED, dest, stag, comm, &s, false);
  if (rc != MPI_SUCCESS) return rc;
  size_t si = 0, ri = 0;
  IsOurs(s, &si);
  rc = Irecv(buf, count, type, source, rtag, comm, &r);
  if (rc != MPI_SUCCESS) return rc;
  IsOurs(r, &ri);
  rc = WaitOne(si, MPI_STATUS_IGNORE);
  int rc2 = WaitOne(ri, status);
  return rc != MPI_SUCCESS ? rc : rc2;
}
CAIRN_PMPI(MPI_Sendrecv_replace)

CAIRN_API int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Test)(request, flag, status);
  Call c;
  size_t i;
  if (!IsOurs(*request, &i)) {
    if (*request == MPI_REQUEST_NULL) {
      *flag = 1;
      EmptyStatus(status);
      return MPI_SUCCESS;
    }
    Lower l;
    return CAIRN_REAL(MPI_Test)(request, flag, status);
  }
  int rc = TestOne(i, flag, status);
  if (rc == MPI_SUCCESS && *flag) Done(request, i);
  return rc;
}
CAIRN_PMPI(MPI_Test)

CAIRN_API int MPI_Wait(MPI_Request* request, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Wait)(request, status);
  Call c;
  size_t i;
  if (!IsOurs(*request, &i)) {
    if (*request == MPI_REQUEST_NULL) {
      EmptyStatus(status);
      return MPI_SUCCESS;
    }
    Lower l;
    return CAIRN_REAL(MPI_Wait)(request, status);
  }
  int rc = WaitOne(i, status);
  if (rc == MPI_SUCCESS) Done(request, i);
  return rc;
}
CAIRN_PMPI(MPI_Wait)

CAIRN_API int MPI_Testall(int n, MPI_Request reqs[], int* flag, MPI_Status stats[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Testall)(n, reqs, flag, stats);
  Call c;
  // MPI semantics: either all complete (and are freed) or none is reported. Complete requests
  // are kept completed in their entries until all are.
  bool all = true;
  for (int k = 0; k < n; ++k) {
    size_t i;
    if (!IsOurs(reqs[k], &i)) continue;
    if (Info(i).kind == RequestInfo::kPersistent) {  // its operation, if started
      if (Info(i).child < 0) continue;
      i = static_cast<size_t>(Info(i).child);
    }
    RequestInfo& r = Info(i);
    if (r.completed) continue;
    int f = 0;
    MPI_Status st;
    if (r.repost) {
      int rc = PostRecv(i);
      if (rc != MPI_SUCCESS) return rc;
      if (r.completed) continue;
    }
    MPI_Request real = Requests().Real(i);
    int rc;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Test)(&real, &f, &st);
    }
    if (rc != MPI_SUCCESS) return rc;
    if (f) {
      Requests().SetReal(i, MPI_REQUEST_NULL);
      // (By the posted peer: MPICH reports source 0 for a receive from MPI_PROC_NULL.)
      if (r.kind == RequestInfo::kRecv && r.peer != MPI_PROC_NULL) CountReceived();
      r.completed = true;
      r.status = st;
    } else {
      all = false;
    }
  }
  *flag = all ? 1 : 0;
  if (!all) return MPI_SUCCESS;
  for (int k = 0; k < n; ++k) {
    size_t i;
    MPI_Status* st = stats == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &stats[k];
    if (!IsOurs(reqs[k], &i)) {
      EmptyStatus(st);
      continue;
    }
    int f;
    TestOne(i, &f, st);
    Done(&reqs[k], i);
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Testall)

CAIRN_API int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status stats[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Waitall)(n, reqs, stats);
  Call c;
  for (int k = 0; k < n; ++k) {
    MPI_Status* st = stats == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &stats[k];
    size_t i;
    if (!IsOurs(reqs[k], &i)) {
      if (reqs[k] != MPI_REQUEST_NULL) {
        Lower l;
        int rc = CAIRN_REAL(MPI_Wait)(&reqs[k], st);
        if (rc != MPI_SUCCESS) return rc;
      }
      EmptyStatus(st);
      continue;
    }
    int rc = WaitOne(i, st);
    if (rc != MPI_SUCCESS) return rc;
    Done(&reqs[k], i);
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Waitall)

CAIRN_API int MPI_Testany(int n, MPI_Request reqs[], int* index, int* flag, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Testany)(n, reqs, index, flag, status);
  Call c;
  *flag = 0;
  *index = MPI_UNDEFINED;
  bool any_active = false;
  for (int k = 0; k < n; ++k) {
    size_t i;
    if (!IsOurs(reqs[k], &i) || Inactive(i)) continue;
    any_active = true;
    int rc = TestOne(i, flag, status);
    if (rc != MPI_SUCCESS) return rc;
    if (*flag) {
      *index = k;
      Done(&reqs[k], i);
      return MPI_SUCCESS;
    }
  }
  if (!any_active) {
    *flag = 1;
    EmptyStatus(status);
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Testany)

CAIRN_API int MPI_Waitany(int n, MPI_Request reqs[], int* index, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Waitany)(n, reqs, index, status);
  Call c;
  for (unsigned spin = 0;; ++spin) {
    int flag = 0;
    int rc = MPI_Testany(n, reqs, index, &flag, status);
    if (rc != MPI_SUCCESS || flag) return rc;
    SafePoint();
    if ((spin & 63) == 63) ::sched_yield();
  }
}
CAIRN_PMPI(MPI_Waitany)

CAIRN_API int MPI_Request_free(MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Request_free)(request);
  Call c;
  size_t i;
  if (!IsOurs(*request, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Request_free)(request);
  }
  // A started persistent request: its operation goes on (MPI), its entry is freed with it.
  const long child = g_info[i].kind == RequestInfo::kPersistent ? g_info[i].child : -1;
  for (size_t e : {child >= 0 ? static_cast<size_t>(child) : i, i}) {
    MPI_Request real = Requests().Real(e);
    if (real != MPI_REQUEST_NULL) {
      Lower l;
      CAIRN_REAL(MPI_Request_free)(&real);
    }
    FreeRequest(e);
    if (child < 0) break;
  }
  *request = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Request_free)

CAIRN_API int MPI_Iprobe(int source, int tag, MPI_Comm comm, int* flag, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Iprobe)(source, tag, comm, flag, status);
  Call c;
  if (PeekDrained(source, tag, comm, status)) {
    *flag = 1;
    return MPI_SUCCESS;
  }
  Lower l;
  return CAIRN_REAL(MPI_Iprobe)(source, tag, Comms().ToReal(comm), flag, status);
}
CAIRN_PMPI(MPI_Iprobe)

CAIRN_API int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Probe)(source, tag, comm, status);
  Call c;
  for (unsigned spin = 0;; ++spin) {
    int flag = 0;
    int rc = MPI_Iprobe(source, tag, comm, &flag, status);
    if (rc != MPI_SUCCESS || flag) return rc;
    SafePoint();
    if ((spin & 63) == 63) ::sched_yield();
  }
}
CAIRN_PMPI(MPI_Probe)

CAIRN_API int MPI_Get_count(const MPI_Status* status, MPI_Datatype type, int* count) {
  if (FromLower()) return CAIRN_REAL(MPI_Get_count)(status, type, count);
  Lower l;
  return CAIRN_REAL(MPI_Get_count)(status, Types().ToReal(type), count);
}
CAIRN_PMPI(MPI_Get_count)

#ifndef MPI_Request_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Request_c2f(MPI_Request r) {
  if (FromLower()) return CAIRN_REAL(MPI_Request_c2f)(r);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (IsOurs(r, &i)) return RequestTable::FortranOf(i);
  return CAIRN_REAL(MPI_Request_c2f)(r);
}
CAIRN_PMPI(MPI_Request_c2f)
#endif

#ifndef MPI_Request_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Request MPI_Request_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Request_f2c)(f);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (RequestTable::IndexOfFortran(f, &i) && Requests().Used(i)) return Requests().Virtual(i);
  return CAIRN_REAL(MPI_Request_f2c)(f);
}
CAIRN_PMPI(MPI_Request_f2c)
#endif

// ------------------------------------------------------------------ persistent requests
// (shim.h: RequestInfo::kPersistent.) A buffered or ready persistent send is started as a
// standard one: both are correct implementations of the modes.
namespace {

int MakePersistent(RequestInfo::Op op, const void* buf, int count, MPI_Datatype type, int peer,
                   int tag, MPI_Comm comm, MPI_Request* request) {
  Call c;
  long i =
      NewRequest(RequestInfo::kPersistent, const_cast<void*>(buf), count, type, peer, tag, comm);
  if (i < 0) return MPI_ERR_INTERN;
  g_info[i].pop = op;
  g_info[i].child = -1;
  *request = g_requests.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

int StartOne(MPI_Request* request) {
  size_t i;
  if (!IsOurs(*request, &i) || g_info[i].kind != RequestInfo::kPersistent) {
    Lower l;  // a persistent collective or partitioned request: the library's own
    return CAIRN_REAL(MPI_Start)(request);
  }
  RequestInfo& r = g_info[i];
  if (r.child >= 0) return MPI_ERR_REQUEST;  // already active
  MPI_Request child = MPI_REQUEST_NULL;
  const int rc = r.pop == RequestInfo::kPRecv
                     ? Irecv(r.buf, r.count, r.type, r.peer, r.tag, r.comm, &child)
                     : Isend(r.buf, r.count, r.type, r.peer, r.tag, r.comm, &child,
                             r.pop == RequestInfo::kPSsend);
  if (rc != MPI_SUCCESS) return rc;
  size_t ci;
  if (IsOurs(child, &ci)) r.child = static_cast<long>(ci);
  return MPI_SUCCESS;
}

}  // namespace

#define CAIRN_PERSISTENT_SEND(name, op)                                                   \
  CAIRN_API int name(const void* buf, int count, MPI_Datatype type, int dest, int tag,    \
                     MPI_Comm comm, MPI_Request* request) {                               \
    if (FromLower()) return CAIRN_REAL(name)(buf, count, type, dest, tag, comm, request); \
    return MakePersistent(RequestInfo::op, buf, count, type, dest, tag, comm, request);   \
  }                                                                                       \
  CAIRN_PMPI(name)
CAIRN_PERSISTENT_SEND(MPI_Send_init, kPSend)
CAIRN_PERSISTENT_SEND(MPI_Bsend_init, kPSend)
CAIRN_PERSISTENT_SEND(MPI_Rsend_init, kPSend)
CAIRN_PERSISTENT_SEND(MPI_Ssend_init, kPSsend)
#undef CAIRN_PERSISTENT_SEND

CAIRN_API int MPI_Recv_init(void* buf, int count, MPI_Datatype type, int source, int tag,
                            MPI_Comm comm, MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Recv_init)(buf, count, type, source, tag, comm, request);
  return MakePersistent(RequestInfo::kPRecv, buf, count, type, source, tag, comm, request);
}
CAIRN_PMPI(MPI_Recv_init)

CAIRN_API int MPI_Start(MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Start)(request);
  Call c;
  return StartOne(request);
}
CAIRN_PMPI(MPI_Start)

CAIRN_API int MPI_Startall(int n, MPI_Request reqs[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Startall)(n, reqs);
  Call c;
  for (int k = 0; k < n; ++k) {
    const int rc = StartOne(&reqs[k]);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Startall)
