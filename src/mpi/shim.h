// The MPI shim: cairn's upper-half face of an MPI library (the lower half). Built once per
// MPI ABI (libcairn_mpi_ompi.so against Open MPI's mpi.h, libcairn_mpi_mpich.so against
// MPICH's) and LD_PRELOADed by `cairn launch --mpi` after libcairn_preload.so, so that the
// program's MPI_* and PMPI_* calls (and those of the MPI's own Fortran bindings) come here.
//
// Contract (docs/mpi.md has the whole design):
//   - Every wrapper called from inside the lower half (cairn_lower_inside()) goes straight to
//     the real function: the library calling its own public symbols sees no translation.
//   - Otherwise a wrapper (1) waits at the entry while a checkpoint holds MPI frozen, (2)
//     translates virtual handles (handles.h) to the library's, (3) calls the real function
//     between cairn_lower_enter()/exit(), (4) records what a restart must rebuild (objects)
//     and what the drain must know (messages sent and received, requests in flight), and
//     (5) returns virtual handles.
//   - Blocking point-to-point calls and waits are nonblocking calls plus a test loop, so a
//     thread waiting for a message is always at a safe point. Collectives are the library's
//     blocking ones: a checkpoint first runs every rank forward until the collectives started
//     anywhere are complete everywhere (protocol.cc).
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "mpi/handles.h"

namespace cairn::mpi {

// The real functions, looked up with dlsym(RTLD_NEXT) (the library behind this shim).
#define CAIRN_REAL(name)                                                                \
  ([] {                                                                                 \
    static auto real_fn_ = reinterpret_cast<decltype(&P##name)>(RealSymbol("P" #name)); \
    return real_fn_;                                                                    \
  }())
void* RealSymbol(const char* name);

// Defines the PMPI_ name of a wrapper as an alias of its MPI_ name.
#define CAIRN_PMPI(name) \
  extern "C" __attribute__((visibility("default"), alias(#name))) decltype(name) P##name;
#define CAIRN_API extern "C" __attribute__((visibility("default")))

// Brackets a call into the lower half (cairn_lower_enter / cairn_lower_exit).
struct Lower {
  Lower();
  ~Lower();
  Lower(const Lower&) = delete;
  Lower& operator=(const Lower&) = delete;
};

// Entry/exit of every wrapper on an upper-half thread (counts calls under way, waits while a
// checkpoint freezes MPI). Blocking loops call SafePoint() between tests.
struct Call {
  Call();
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
};
void SafePoint();

bool FromLower();  // cairn_lower_inside()

// --- objects (objects.cc)
inline constexpr size_t kMaxComms = 4096, kMaxGroups = 4096, kMaxTypes = 16384, kMaxOps = 1024,
                        kMaxRequests = 1 << 18;
using CommTable = Table<MPI_Comm, 1, kMaxComms>;
using GroupTable = Table<MPI_Group, 2, kMaxGroups>;
using TypeTable = Table<MPI_Datatype, 3, kMaxTypes>;
using OpTable = Table<MPI_Op, 6, kMaxOps>;
using RequestTable = Table<MPI_Request, 11, kMaxRequests>;
namespace detail {  // objects.cc; inline accessors: they are on the path of every call
extern CommTable comms;
extern GroupTable groups;
extern TypeTable types;
extern OpTable ops;
}  // namespace detail
inline CommTable& Comms() { return detail::comms; }
inline GroupTable& Groups() { return detail::groups; }
inline TypeTable& Types() { return detail::types; }
inline OpTable& Ops() { return detail::ops; }
std::recursive_mutex& ObjectLock();

// Collective counts per communicator: index kMaxComms stands for MPI_COMM_WORLD, kMaxComms+1
// for MPI_COMM_SELF; others by table index.
size_t CommKey(MPI_Comm v);
void CountCollective(MPI_Comm v);  // also waits if a checkpoint holds collectives back
void CompleteCollective(MPI_Comm v);
// The same by key (files have keys of their own: io.cc).
void CountKey(size_t key);
void CompleteKey(size_t key);
// A file opened on `parent_v` takes key `key` (named like a child of the parent; counted when
// the file's group has more than one rank); dropped when it is closed.
void NewFileKey(MPI_Comm parent_v, size_t key, int size);
void DropFileKey(size_t key);
void InitCommKeys(int world_size);

// Replays every recorded object creation on the new library (restart). Empty Status string
// on success, else the reason.
bool ReplayObjects(char* err, size_t err_len);

// --- point to point (p2p.cc)
struct RequestInfo {
  enum Kind : uint8_t { kNone, kSend, kRecv, kOther, kPersistent } kind = kNone;
  bool repost = false;     // cancelled by a drain: post again before use
  bool completed = false;  // completed by a drain / from the drain store: `status` holds it
  void* buf = nullptr;
  int count = 0;
  MPI_Datatype type = MPI_DATATYPE_NULL;  // virtual
  int peer = 0;
  int tag = 0;
  MPI_Comm comm = MPI_COMM_NULL;  // virtual
  MPI_Status status;
  // kOther: a nonblocking collective on `comm` (coverage.h: counted complete when started; the
  // drain completes it, FinishCollectiveRequests).
  bool collective = false;
  // kPersistent (MPI_Send_init, _Ssend_init, _Rsend_init, _Bsend_init, _Recv_init): the
  // program's handle, never a real request; MPI_Start posts the operation as an ordinary
  // request of the table (`child`, -1 while inactive), which the drain treats like any other.
  // Completion makes it inactive again instead of freeing it.
  enum Op : uint8_t { kPSend, kPSsend, kPRecv } pop = kPSend;
  long child = -1;
  // Posting order (p2p.cc): cancelled receives are posted again in it, so that the one the
  // program posted first still matches first (MPI's ordering), not the lowest table slot.
  uint64_t seq = 0;
};
RequestTable& Requests();
RequestInfo& Info(size_t i);
// Held while an entry of the request table is added or freed (any thread may).
std::recursive_mutex& RequestLock();
// The status of an inactive or null request (MPI: source and tag ANY, no elements).
void EmptyStatus(MPI_Status* st);
// A persistent request that is not started (MPI: ignored by Testany/Testsome/Waitany).
bool InactivePersistent(MPI_Request v);
// Delivers `bytes` bytes received as MPI_PACKED (a drained or matched message) into a
// receive of (buf, count, real type rtype), as a receive of the message itself would: a
// message shorter than the buffer fills its first elements (MPI_Unpack of `count` elements
// would fail with MPI_ERR_TRUNCATE), a longer one fills the buffer and returns
// MPI_ERR_TRUNCATE. Caller is inside the lower half or takes it.
int UnpackReceived(const void* data, int bytes, void* buf, int count, MPI_Datatype rtype,
                   MPI_Comm rcomm);
// A receive that a drained message can satisfy: copies it, fills status, true.
// (`rc` gets UnpackReceived's result.)
bool TakeDrained(void* buf, int count, MPI_Datatype rtype, int source, int tag, MPI_Comm rcomm,
                 MPI_Comm vcomm, MPI_Status* status, int* rc);
bool PeekDrained(int source, int tag, MPI_Comm vcomm, MPI_Status* status);
// Posts (again) the real receive of request i, or satisfies it from the drain store.
int PostRecv(size_t i);

// For the drain (protocol.cc), MPI frozen, inside the lower half: receives the message
// `probe` found on (vcomm, rcomm) into the drain store; settles pending requests (receives
// cancelled or completed, sends tested or, with finish_sends, waited for); reposts.
bool StoreDrained(MPI_Comm vcomm, MPI_Comm rcomm, const MPI_Status& probe, char* err,
                  size_t err_len);
bool SettleRequests(bool cancel_receives, bool finish_sends, char* err, size_t err_len);
void RepostReceives();
size_t DrainedCount();

// Message counts for the drain's termination test (gate.cc: per thread, plain stores; a thread
// without a slot of its own, like the checkpoint thread, counts in a shared atomic).
void CountSent();
void CountReceived();
uint64_t TotalSent();
uint64_t TotalReceived();

// --- checkpoint protocol (protocol.cc)
void OnInit(int world_rank, int world_size);  // after the real MPI_Init*
void OnFinalize();
void OnCoordinator(int fd);  // the checkpoint thread: the coordinator's socket is readable
// The drain: on the checkpoint thread, MPI frozen. Receives every message in flight into the
// drain store and cancels pending receives. False with a reason on failure.
bool Drain(char* err, size_t err_len);
void AfterDrainResume();  // reposts cancelled receives

// Thread level the program asked for / the library gave.
extern int g_required_level, g_provided_level;

// --- coverage of the whole MPI API (unsupported.cc, gen_support.cc, the generated wrappers)
// Functions whose effects a restart cannot rebuild: NoteUnsupported(name) records one for good
// (thread-safe; `function` must be a string literal; the first few distinct names are kept,
// no allocation); objects made by such functions are counted while alive (recipes.h,
// coverage.h). UnsupportedUsed: true, with "MPI_X, MPI_Y (and N more)" in msg, when any
// was used, so a checkpoint must fail naming them.
void NoteUnsupported(const char* function);
bool UnsupportedUsed(char* msg, size_t len);
// For the drain (MPI frozen, inside the lower half, on every rank): completes the nonblocking
// collectives the program started (all ranks started the same ones: the run-forward), so that
// none is left in the library. False with a reason on failure.
bool FinishCollectiveRequests(char* err, size_t err_len);

}  // namespace cairn::mpi
