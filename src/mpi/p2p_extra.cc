// Point-to-point beyond p2p.cc: buffered and ready sends (as counted sends in the request
// table), MPI_Cancel, MPI_Waitsome / MPI_Testsome, MPI_Request_get_status, matched probes and
// receives (the message is received at once into upper-half memory: a virtual MPI_Message
// survives a restart), MPI_Alloc_mem / MPI_Free_mem (upper-half memory), MPI_Buffer_attach /
// detach (replayed), MPI_Pcontrol.
#include <sched.h>

#include <algorithm>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "mpi/coverage.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"

using namespace cairn::mpi;  // NOLINT

namespace {

MPI_Comm C(MPI_Comm c) { return Comms().ToReal(c); }
MPI_Datatype T(MPI_Datatype t) { return Types().ToReal(t); }

// A send the request table tracks like MPI_Isend's (kSend: counted, settled by the drain).
int TrackedSend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
                MPI_Request* request, bool ready) {
  MPI_Request real = MPI_REQUEST_NULL;
  int rc;
  {
    Lower l;
    auto fn = ready ? CAIRN_REAL(MPI_Irsend) : CAIRN_REAL(MPI_Ibsend);
    rc = fn(buf, count, T(type), dest, tag, C(comm), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  long i =
      AddRequest(RequestInfo::kSend, real, const_cast<void*>(buf), count, type, dest, tag, comm);
  if (i < 0) {
    NoteUnsupported("(more MPI requests than the shim's table holds)");
    *request = real;
    return MPI_SUCCESS;
  }
  if (dest != MPI_PROC_NULL) CountSent();
  *request = Requests().Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

// Matched messages: received into malloc()ed (upper-half) memory when probed.
struct Message {
  char* data = nullptr;
  int bytes = 0;
  int source = 0, tag = 0;
  MPI_Comm comm = MPI_COMM_NULL;  // virtual
};
constexpr size_t kMaxMessages = 4096;
using MessageTable = Table<MPI_Message, 12, kMaxMessages>;
MessageTable g_msgs;
Message g_msg[kMaxMessages];
std::mutex g_msg_lock;

void StatusOf(const Message& m, MPI_Status* st) {
  if (st == MPI_STATUS_IGNORE) return;
  st->MPI_SOURCE = m.source;
  st->MPI_TAG = m.tag;
  st->MPI_ERROR = MPI_SUCCESS;
  Lower l;
  CAIRN_REAL(MPI_Status_set_elements)(st, MPI_BYTE, m.bytes);
  CAIRN_REAL(MPI_Status_set_cancelled)(st, 0);
}

// One matched probe: *flag and, when set, a virtual message in *msg.
int ImprobeOnce(int source, int tag, MPI_Comm comm, int* flag, MPI_Message* msg,
                MPI_Status* status) {
  *flag = 0;
  const MPI_Comm rcomm = C(comm);
  MPI_Status st;
  Message m;
  m.comm = comm;
  if (PeekDrained(source, tag, comm, &st)) {
    {
      Lower l;
      CAIRN_REAL(MPI_Get_count)(&st, MPI_BYTE, &m.bytes);
    }
    m.data = static_cast<char*>(std::malloc(static_cast<size_t>(m.bytes) + 1));
    int rc = MPI_SUCCESS;
    if (m.data == nullptr) return MPI_ERR_NO_MEM;
    TakeDrained(m.data, m.bytes, MPI_PACKED, st.MPI_SOURCE, st.MPI_TAG, rcomm, comm, &st, &rc);
    if (rc != MPI_SUCCESS) {
      std::free(m.data);
      return rc;
    }
  } else {
    MPI_Message real = MPI_MESSAGE_NULL;
    int rc;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Improbe)(source, tag, rcomm, flag, &real, &st);
      if (rc == MPI_SUCCESS && *flag) CAIRN_REAL(MPI_Get_count)(&st, MPI_BYTE, &m.bytes);
    }
    if (rc != MPI_SUCCESS || !*flag) return rc;
    m.data = static_cast<char*>(std::malloc(static_cast<size_t>(m.bytes) + 1));
    if (m.data == nullptr) return MPI_ERR_NO_MEM;
    MPI_Status rst;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Mrecv)(m.data, m.bytes, MPI_PACKED, &real, &rst);
    }
    if (rc != MPI_SUCCESS) {
      std::free(m.data);
      return rc;
    }
    if (st.MPI_SOURCE != MPI_PROC_NULL) CountReceived();
  }
  m.source = st.MPI_SOURCE;
  m.tag = st.MPI_TAG;
  std::lock_guard<std::mutex> g(g_msg_lock);
  long i = g_msgs.Add(MPI_MESSAGE_NULL);
  if (i < 0) {
    std::free(m.data);
    return MPI_ERR_INTERN;  // the message is lost: cannot happen below 4096 pending messages
  }
  g_msg[i] = m;
  *msg = g_msgs.Virtual(static_cast<size_t>(i));
  *flag = 1;
  if (status != MPI_STATUS_IGNORE) *status = st;
  return MPI_SUCCESS;
}

// Receives virtual message i into (buf, count, type); frees it.
int ReceiveMessage(size_t i, void* buf, int count, MPI_Datatype type, MPI_Status* status) {
  Message m;
  {
    std::lock_guard<std::mutex> g(g_msg_lock);
    m = g_msg[i];
    g_msg[i] = Message{};
    g_msgs.Free(i);
  }
  const int rc = UnpackReceived(m.data, m.bytes, buf, count, T(type), C(m.comm));
  StatusOf(m, status);
  if (status != MPI_STATUS_IGNORE) status->MPI_ERROR = rc;
  std::free(m.data);
  return rc;
}

}  // namespace

// ------------------------------------------------------------------ buffered and ready sends
CAIRN_API int MPI_Ibsend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                         MPI_Comm comm, MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Ibsend)(buf, count, type, dest, tag, comm, request);
  Call c;
  return TrackedSend(buf, count, type, dest, tag, comm, request, false);
}
CAIRN_PMPI(MPI_Ibsend)

CAIRN_API int MPI_Irsend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                         MPI_Comm comm, MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Irsend)(buf, count, type, dest, tag, comm, request);
  Call c;
  return TrackedSend(buf, count, type, dest, tag, comm, request, true);
}
CAIRN_PMPI(MPI_Irsend)

CAIRN_API int MPI_Bsend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                        MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Bsend)(buf, count, type, dest, tag, comm);
  Call c;
  MPI_Request r;
  const int rc = TrackedSend(buf, count, type, dest, tag, comm, &r, false);
  return rc != MPI_SUCCESS ? rc : MPI_Wait(&r, MPI_STATUS_IGNORE);
}
CAIRN_PMPI(MPI_Bsend)

CAIRN_API int MPI_Rsend(const void* buf, int count, MPI_Datatype type, int dest, int tag,
                        MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Rsend)(buf, count, type, dest, tag, comm);
  Call c;
  MPI_Request r;
  const int rc = TrackedSend(buf, count, type, dest, tag, comm, &r, true);
  return rc != MPI_SUCCESS ? rc : MPI_Wait(&r, MPI_STATUS_IGNORE);
}
CAIRN_PMPI(MPI_Rsend)

CAIRN_API int MPI_Buffer_attach(void* buf, int size) {
  if (FromLower()) return CAIRN_REAL(MPI_Buffer_attach)(buf, size);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Buffer_attach)(buf, size);
  }
  if (rc == MPI_SUCCESS) {
    LogRecipe({RecipeOp::kBufferAttach,
               0,
               {0, 0},
               {static_cast<int64_t>(reinterpret_cast<intptr_t>(buf)), size, 0, 0},
               0,
               0});
  }
  return rc;
}
CAIRN_PMPI(MPI_Buffer_attach)

CAIRN_API int MPI_Buffer_detach(void* buf, int* size) {
  if (FromLower()) return CAIRN_REAL(MPI_Buffer_detach)(buf, size);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Buffer_detach)(buf, size);
  }
  if (rc == MPI_SUCCESS) LogRecipe({RecipeOp::kBufferDetach, 0, {0, 0}, {0, 0, 0, 0}, 0, 0});
  return rc;
}
CAIRN_PMPI(MPI_Buffer_detach)

// ------------------------------------------------------------------ requests
CAIRN_API int MPI_Cancel(MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Cancel)(request);
  Call c;
  size_t i;
  if (!Requests().Index(*request, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Cancel)(request);
  }
  if (Info(i).kind == RequestInfo::kPersistent) {  // its operation, if started
    if (Info(i).child < 0) return MPI_SUCCESS;
    MPI_Request child = Requests().Virtual(static_cast<size_t>(Info(i).child));
    return MPI_Cancel(&child);
  }
  RequestInfo& r = Info(i);
  if (r.completed) return MPI_SUCCESS;  // too late: it completes normally
  if (r.repost) {
    // A receive the drain took back and that is not posted again: cancelled here.
    r.repost = false;
    r.completed = true;
    r.status.MPI_SOURCE = MPI_ANY_SOURCE;
    r.status.MPI_TAG = MPI_ANY_TAG;
    r.status.MPI_ERROR = MPI_SUCCESS;
    Lower l;
    CAIRN_REAL(MPI_Status_set_elements)(&r.status, MPI_BYTE, 0);
    CAIRN_REAL(MPI_Status_set_cancelled)(&r.status, 1);
    return MPI_SUCCESS;
  }
  MPI_Request real = Requests().Real(i);
  if (real == MPI_REQUEST_NULL) return MPI_SUCCESS;
  if (r.kind == RequestInfo::kRecv) {
    // Cancelled and completed at once (a receive's cancel is local), so that a cancelled
    // receive is never counted as a message received.
    MPI_Status st;
    int flag = 0, rc;
    {
      Lower l;
      CAIRN_REAL(MPI_Cancel)(&real);
      rc = CAIRN_REAL(MPI_Wait)(&real, &st);
      if (rc == MPI_SUCCESS) CAIRN_REAL(MPI_Test_cancelled)(&st, &flag);
    }
    if (rc != MPI_SUCCESS) return rc;
    Requests().SetReal(i, MPI_REQUEST_NULL);
    r.completed = true;
    r.status = st;
    if (!flag && r.peer != MPI_PROC_NULL) CountReceived();  // MPICH 4.0: no PROC_NULL source
    return MPI_SUCCESS;
  }
  if (r.kind == RequestInfo::kSend) NoteUnsupported("MPI_Cancel (of a send)");
  Lower l;
  return CAIRN_REAL(MPI_Cancel)(&real);
}
CAIRN_PMPI(MPI_Cancel)

CAIRN_API int MPI_Request_get_status(MPI_Request request, int* flag, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Request_get_status)(request, flag, status);
  Call c;
  size_t i;
  if (Requests().Index(request, &i) && Info(i).kind == RequestInfo::kPersistent) {
    if (Info(i).child < 0) {  // inactive: complete, with an empty status
      *flag = 1;
      EmptyStatus(status);
      return MPI_SUCCESS;
    }
    return MPI_Request_get_status(Requests().Virtual(static_cast<size_t>(Info(i).child)), flag,
                                  status);
  }
  if (Requests().Index(request, &i)) {
    RequestInfo& r = Info(i);
    if (r.completed) {
      *flag = 1;
      if (status != MPI_STATUS_IGNORE) *status = r.status;
      return MPI_SUCCESS;
    }
    if (r.repost) {
      *flag = 0;
      return MPI_SUCCESS;
    }
    request = Requests().Real(i);
  }
  Lower l;
  return CAIRN_REAL(MPI_Request_get_status)(request, flag, status);
}
CAIRN_PMPI(MPI_Request_get_status)

CAIRN_API int MPI_Testsome(int n, MPI_Request reqs[], int* outcount, int indices[],
                           MPI_Status stats[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Testsome)(n, reqs, outcount, indices, stats);
  Call c;
  *outcount = 0;
  bool active = false;
  for (int k = 0; k < n; ++k) {
    if (reqs[k] == MPI_REQUEST_NULL || InactivePersistent(reqs[k])) continue;
    active = true;
    int flag = 0;
    MPI_Status* st = stats == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &stats[*outcount];
    const int rc = MPI_Test(&reqs[k], &flag, st);
    if (rc != MPI_SUCCESS) return rc;
    if (flag) indices[(*outcount)++] = k;
  }
  if (!active) *outcount = MPI_UNDEFINED;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Testsome)

CAIRN_API int MPI_Waitsome(int n, MPI_Request reqs[], int* outcount, int indices[],
                           MPI_Status stats[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Waitsome)(n, reqs, outcount, indices, stats);
  Call c;
  for (unsigned spin = 0;; ++spin) {
    const int rc = MPI_Testsome(n, reqs, outcount, indices, stats);
    if (rc != MPI_SUCCESS || *outcount != 0) return rc;
    SafePoint();
    if ((spin & 63) == 63) ::sched_yield();
  }
}
CAIRN_PMPI(MPI_Waitsome)

// ------------------------------------------------------------------ matched probe / receive
CAIRN_API int MPI_Improbe(int source, int tag, MPI_Comm comm, int* flag, MPI_Message* msg,
                          MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Improbe)(source, tag, comm, flag, msg, status);
  Call c;
  if (source == MPI_PROC_NULL) {
    Lower l;
    return CAIRN_REAL(MPI_Improbe)(source, tag, C(comm), flag, msg, status);
  }
  return ImprobeOnce(source, tag, comm, flag, msg, status);
}
CAIRN_PMPI(MPI_Improbe)

CAIRN_API int MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message* msg, MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Mprobe)(source, tag, comm, msg, status);
  Call c;
  if (source == MPI_PROC_NULL) {
    Lower l;
    return CAIRN_REAL(MPI_Mprobe)(source, tag, C(comm), msg, status);
  }
  for (unsigned spin = 0;; ++spin) {
    int flag = 0;
    const int rc = ImprobeOnce(source, tag, comm, &flag, msg, status);
    if (rc != MPI_SUCCESS || flag) return rc;
    SafePoint();
    if ((spin & 63) == 63) ::sched_yield();
  }
}
CAIRN_PMPI(MPI_Mprobe)

CAIRN_API int MPI_Mrecv(void* buf, int count, MPI_Datatype type, MPI_Message* msg,
                        MPI_Status* status) {
  if (FromLower()) return CAIRN_REAL(MPI_Mrecv)(buf, count, type, msg, status);
  Call c;
  size_t i;
  if (!g_msgs.Index(*msg, &i)) {  // MPI_MESSAGE_NO_PROC
    Lower l;
    return CAIRN_REAL(MPI_Mrecv)(buf, count, T(type), msg, status);
  }
  const int rc = ReceiveMessage(i, buf, count, type, status);
  *msg = MPI_MESSAGE_NULL;
  return rc;
}
CAIRN_PMPI(MPI_Mrecv)

CAIRN_API int MPI_Imrecv(void* buf, int count, MPI_Datatype type, MPI_Message* msg,
                         MPI_Request* request) {
  if (FromLower()) return CAIRN_REAL(MPI_Imrecv)(buf, count, type, msg, request);
  Call c;
  size_t i;
  if (!g_msgs.Index(*msg, &i)) {
    int rc;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Imrecv)(buf, count, T(type), msg, request);
    }
    if (rc == MPI_SUCCESS) *request = gen::OutRequest(*request, "MPI_Imrecv");
    return rc;
  }
  MPI_Status st;
  const int rc = ReceiveMessage(i, buf, count, type, &st);
  *msg = MPI_MESSAGE_NULL;
  long r = AddRequest(RequestInfo::kOther, MPI_REQUEST_NULL, buf, count, type, st.MPI_SOURCE,
                      st.MPI_TAG, MPI_COMM_NULL);
  if (r < 0) return MPI_ERR_INTERN;
  Info(static_cast<size_t>(r)).completed = true;
  Info(static_cast<size_t>(r)).status = st;
  *request = Requests().Virtual(static_cast<size_t>(r));
  return rc == MPI_ERR_TRUNCATE ? MPI_SUCCESS : rc;  // the error is in the request's status
}
CAIRN_PMPI(MPI_Imrecv)

// ------------------------------------------------------------------ memory, profiling
// Memory for the program: upper-half memory, so that it is in the image.
CAIRN_API int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void* baseptr) {
  if (FromLower()) return CAIRN_REAL(MPI_Alloc_mem)(size, info, baseptr);
  Call c;
  void* p = nullptr;
  if (::posix_memalign(&p, 64, size > 0 ? static_cast<size_t>(size) : 1) != 0) {
    return MPI_ERR_NO_MEM;
  }
  *static_cast<void**>(baseptr) = p;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Alloc_mem)

CAIRN_API int MPI_Free_mem(void* base) {
  if (FromLower()) return CAIRN_REAL(MPI_Free_mem)(base);
  Call c;
  std::free(base);
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Free_mem)

CAIRN_API int MPI_Pcontrol(const int level, ...) {
  if (FromLower()) return CAIRN_REAL(MPI_Pcontrol)(level);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Pcontrol)(level);
}
CAIRN_PMPI(MPI_Pcontrol)
