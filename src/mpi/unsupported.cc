// The registry of MPI functions whose effects a restart cannot rebuild (shim.h:
// NoteUnsupported / UnsupportedUsed), of objects without a recipe (recipes.h: MarkNoRecipe)
// and of live objects of kinds the shim does not virtualize (coverage.h: gen::Live).
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "mpi/coverage.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"

namespace cairn::mpi {
namespace {

constexpr int kKept = 8;
std::atomic<const char*> g_names[kKept];
std::atomic<int> g_distinct{0};  // distinct names noted (kept or not)
std::mutex g_note_lock;

// Objects without a recipe, per kind and table index: the function that made each.
const char* g_comm_marks[kMaxComms];
const char* g_group_marks[kMaxGroups];
const char* g_type_marks[kMaxTypes];
const char* g_op_marks[kMaxOps];
const char* g_errh_marks[kMaxErrhs];
std::atomic<long> g_marked[kObjKinds];

const char** Marks(ObjKind k, size_t* n) {
  switch (k) {
    case kObjComm:
      *n = kMaxComms;
      return g_comm_marks;
    case kObjGroup:
      *n = kMaxGroups;
      return g_group_marks;
    case kObjType:
      *n = kMaxTypes;
      return g_type_marks;
    case kObjOp:
      *n = kMaxOps;
      return g_op_marks;
    default:
      *n = kMaxErrhs;
      return g_errh_marks;
  }
}

// Live objects of the kinds the shim passes through, and the last function that made one.
std::atomic<long> g_live[gen::kLiveKinds];
std::atomic<const char*> g_live_fn[gen::kLiveKinds];
const char* const kLiveNames[gen::kLiveKinds] = {"MPI_Win", "MPI_Message", "MPI_Session"};

void Append(char* msg, size_t len, size_t* used, int* listed, const char* s) {
  if (*used >= len) return;
  const int n = std::snprintf(msg + *used, len - *used, "%s%s", *listed > 0 ? ", " : "", s);
  if (n > 0) *used += static_cast<size_t>(n);
  if (*used >= len) *used = len - 1;
  ++*listed;
}

}  // namespace

void NoteUnsupported(const char* function) {
  // Fast path: already noted (pointer or text equal), or the kept slots are full.
  for (int i = 0; i < kKept; ++i) {
    const char* s = g_names[i].load(std::memory_order_acquire);
    if (s == nullptr) break;
    if (s == function || std::strcmp(s, function) == 0) return;
  }
  std::lock_guard<std::mutex> g(g_note_lock);
  for (int i = 0; i < kKept; ++i) {
    const char* s = g_names[i].load(std::memory_order_relaxed);
    if (s == nullptr) {
      g_names[i].store(function, std::memory_order_release);
      g_distinct.fetch_add(1);
      return;
    }
    if (s == function || std::strcmp(s, function) == 0) return;
  }
  g_distinct.fetch_add(1);  // beyond the kept names: counted only (may count one twice)
}

void MarkNoRecipe(ObjKind k, size_t index, const char* function) {
  size_t n;
  const char** m = Marks(k, &n);
  if (index >= n) return;
  if (m[index] == nullptr) g_marked[k].fetch_add(1);
  m[index] = function;
}

void ClearNoRecipe(ObjKind k, size_t index) {
  size_t n;
  const char** m = Marks(k, &n);
  if (index >= n || m[index] == nullptr) return;
  m[index] = nullptr;
  g_marked[k].fetch_sub(1);
}

bool NoRecipe(ObjKind k, size_t index) {
  size_t n;
  const char** m = Marks(k, &n);
  return index < n && m[index] != nullptr;
}

bool UnsupportedUsed(char* msg, size_t len) {
  char scratch[8];
  if (len == 0) {  // callers that only ask
    msg = scratch;
    len = sizeof scratch;
  }
  msg[0] = '\0';
  size_t used = 0;
  int listed = 0, more = 0;
  for (int i = 0; i < kKept; ++i) {
    const char* s = g_names[i].load(std::memory_order_acquire);
    if (s == nullptr) break;
    Append(msg, len, &used, &listed, s);
  }
  more += g_distinct.load() - listed;
  // Objects without a recipe: name each distinct maker once.
  for (int k = 0; k < kObjKinds; ++k) {
    if (g_marked[k].load() <= 0) continue;
    size_t n;
    const char** m = Marks(static_cast<ObjKind>(k), &n);
    const char* last = nullptr;
    for (size_t i = 0; i < n; ++i) {
      if (m[i] == nullptr || m[i] == last) continue;
      last = m[i];
      if (std::strstr(msg, m[i]) != nullptr) continue;
      Append(msg, len, &used, &listed, m[i]);
    }
  }
  for (int k = 0; k < gen::kLiveKinds; ++k) {
    const long live = g_live[k].load();
    if (live <= 0) continue;
    char buf[160];
    const char* fn = g_live_fn[k].load();
    std::snprintf(buf, sizeof buf, "%s (%ld %s object%s alive)", fn != nullptr ? fn : "?", live,
                  kLiveNames[k], live == 1 ? "" : "s");
    Append(msg, len, &used, &listed, buf);
  }
  if (more > 0 && used < len) {
    std::snprintf(msg + used, len - used, " (and %d more)", more);
  }
  return listed > 0;
}

namespace gen {

void Live(LiveKind k, const char* fn, int delta) {
  if (delta > 0) g_live_fn[k].store(fn);
  g_live[k].fetch_add(delta);
}

}  // namespace gen
}  // namespace cairn::mpi
