// The shim's internal interface between objects.cc (the recipe log, communicator keys, the
// replay) and the files that add wrappers with recipes (types_extra.cc, comms_extra.cc,
// attrs.cc, p2p_extra.cc) or without them (gen_support.cc and the generated wrappers).
//
// Contract:
//   - Every creation of an object a restart must rebuild is logged, in program order, as a
//     Recipe: the virtual (or predefined) input handles, integer arguments, and arrays in the
//     arena (LogRecipe copies `bytes` bytes, rounded up to whole ints). ReplayObjects (shim.h)
//     runs the log on the new library, then ReplayState() (attrs.cc) restores the state that is
//     not a creation (attributes, error handlers, names).
//   - Callers hold ObjectLock() while they change a table and log.
//   - Objects made by functions without a recipe are in the tables too (gen::Out*), marked with
//     MarkNoRecipe: a restart cannot rebuild them, so the registry names the function while
//     one of them is alive (unsupported.cc).
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "mpi/shim.h"

namespace cairn::mpi {

enum class RecipeOp : uint8_t {
  kCommDup,
  kCommSplit,
  kCommCreate,
  kCommFree,
  kCommGroup,
  kGroupIncl,
  kGroupExcl,
  kGroupFree,
  kTypeContiguous,
  kTypeVector,
  kTypeHvector,
  kTypeResized,
  kTypeCommit,
  kTypeFree,
  kOpCreate,
  kOpFree,
  kCartCreate,
  // communicators
  kCommSplitType,
  kCommCreateGroup,
  kCartSub,
  kGraphCreate,
  kDistGraphAdjacent,
  kDistGraph,
  kIntercommCreate,
  kIntercommMerge,
  // groups
  kCommRemoteGroup,
  kGroupUnion,
  kGroupIntersection,
  kGroupDifference,
  kGroupRangeIncl,
  kGroupRangeExcl,
  // datatypes
  kTypeIndexed,
  kTypeHindexed,
  kTypeIndexedBlock,
  kTypeHindexedBlock,
  kTypeStruct,
  kTypeDup,
  kTypeSubarray,
  kTypeDarray,
  kTypeF90Integer,
  kTypeF90Real,
  kTypeF90Complex,
  // the rest of the library's state that is made in program order
  kErrhCreate,
  kAddErrorClass,
  kAddErrorCode,
  kAddErrorString,
  kBufferAttach,
  kBufferDetach,
};

struct Recipe {
  RecipeOp op;
  uint32_t out;               // table index of the object made (or freed)
  uint64_t h[2];              // input handles (Bits)
  int64_t v[4];               // integer arguments
  uint32_t arr_off, arr_len;  // into the arena, in ints
};

template <typename H>
uint64_t Bits(H h) {
  uint64_t b = 0;
  std::memcpy(&b, &h, sizeof h);
  return b;
}
template <typename H>
H FromBits(uint64_t b) {
  H h;
  std::memcpy(&h, &b, sizeof h);
  return h;
}

// Appends to the log (false, once reported on stderr, when it is full).
bool LogRecipe(const Recipe& r, const void* data = nullptr, size_t bytes = 0);

// How a new communicator's key (objects.cc: collective counts) is agreed on by its members.
enum class KeyMode : uint8_t {
  kParent,     // every member of the parent takes part: "<parent>.<n>"
  kRoot,       // only the new communicator's members: its rank 0's unique name, broadcast
  kIntercomm,  // an intercommunicator: both groups' names, exchanged
};

// Adds a communicator the library made from `parent` (virtual or predefined), logs its recipe
// and gives the program its virtual handle in *out (MPI_COMM_NULL stays). Also when `real` is
// MPI_COMM_NULL the recipe is kept (a collective on the parent that a restart repeats).
int MakeComm(RecipeOp op, MPI_Comm parent, MPI_Comm real, MPI_Comm* out, int64_t v0 = 0,
             int64_t v1 = 0, uint64_t h1 = 0, const void* data = nullptr, size_t bytes = 0,
             KeyMode mode = KeyMode::kParent, int64_t v2 = 0, int64_t v3 = 0);
// Adds a group / datatype the library made, with its recipe.
int MakeGroup(RecipeOp op, MPI_Group real, MPI_Group* out, uint64_t h0, uint64_t h1,
              const void* data = nullptr, size_t bytes = 0, int64_t v0 = 0);
int MakeType(RecipeOp op, MPI_Datatype real, MPI_Datatype* out, uint64_t h0, int64_t v0,
             int64_t v1 = 0, int64_t v2 = 0, int64_t v3 = 0, const void* data = nullptr,
             size_t bytes = 0);

// Objects without a recipe (unsupported.cc). Kinds index the per-kind marks.
enum ObjKind : int { kObjComm, kObjGroup, kObjType, kObjOp, kObjErrh, kObjKinds };
void MarkNoRecipe(ObjKind k, size_t index, const char* function);
void ClearNoRecipe(ObjKind k, size_t index);
bool NoRecipe(ObjKind k, size_t index);  // then its commit and free are not logged either

// attrs.cc: a new communicator inherits its parent's error handler; a dup also copies the
// attributes the library copied; a freed one loses its attributes, name and handler.
void OnNewComm(MPI_Comm parent_v, MPI_Comm new_v);
void OnCommDup(MPI_Comm parent_v, MPI_Comm new_v);
void OnCommFree(MPI_Comm v);
// Restores attributes, error handlers and names on the new library (after the recipes).
bool ReplayState(char* err, size_t err_len);
// MPI_Wtime goes on from where it was (wtime.cc; called by ReplayState).
void RestartClock();

// Error handlers: virtual like communicators (kind 7).
inline constexpr size_t kMaxErrhs = 1024;
using ErrhTable = Table<MPI_Errhandler, 7, kMaxErrhs>;
ErrhTable& Errhs();

// MPI_Info objects (info.cc): virtual (kind 9), made by the generated wrappers (gen::OutInfo).
// SaveInfos (checkpoint thread, after the drain, inside the lower half) reads every live
// info's keys and values; ReplayInfos (restart) makes each again with them.
inline constexpr size_t kMaxInfos = 4096;
using InfoTable = Table<MPI_Info, 9, kMaxInfos>;
InfoTable& Infos();
bool SaveInfos(char* err, size_t err_len);
bool ReplayInfos(char* err, size_t err_len);
// An info's keys and values (of the library's handle, inside the lower half), and a new
// library info made from them (MPI_INFO_NULL when it cannot be made; every key is tried);
// MPI error codes.
using InfoPairs = std::vector<std::pair<std::string, std::string>>;
int InfoContents(MPI_Info real, InfoPairs* kv);
int MakeInfo(const InfoPairs& kv, MPI_Info* real);

}  // namespace cairn::mpi
