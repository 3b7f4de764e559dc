// Communicators, groups, datatypes and ops: virtual handles, the log of how each was made, and
// its replay on a new library at restart (shim.h).
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/protocol_state.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"
#include "transparent/preload/futex.h"

namespace cairn::mpi {
namespace detail {
CommTable comms;
GroupTable groups;
TypeTable types;
OpTable ops;
}  // namespace detail
namespace {

using Op = RecipeOp;

CommTable& g_comms = detail::comms;
GroupTable& g_groups = detail::groups;
TypeTable& g_types = detail::types;
OpTable& g_ops = detail::ops;
std::recursive_mutex g_lock;

// The recipe log: every creation and free, in program order, with its arguments. Handles are
// stored as the program saw them (virtual or predefined); arrays go to an arena of ints.
constexpr size_t kMaxRecipes = 1 << 16;
Recipe g_log[kMaxRecipes];
size_t g_nlog = 0;
int g_arena[1 << 18];
size_t g_arena_used = 0;
bool g_log_full_reported = false;

// The table slot a handle in a recipe names (whether or not it is in use now).
template <typename T, typename H>
bool SlotOf(const T& t, H v, size_t* i) {
  if constexpr (std::is_pointer_v<H>) {
    const auto p = reinterpret_cast<uintptr_t>(v);
    const auto b = reinterpret_cast<uintptr_t>(t.Virtual(0));
    if (p < b || p - b >= t.Limit()) return false;
    *i = p - b;
  } else {
    const auto u = static_cast<uint32_t>(v);
    if ((u & 0xFFF00000u) != T::kIntTag) return false;
    *i = u & 0xFFFFFu;
    if (*i >= t.Limit()) return false;
  }
  return true;
}

// Compaction of the log when it is full: the recipes of datatypes, groups and ops (local
// objects) that were freed and that no kept recipe needs are dropped, with their commits and
// frees. Communicator recipes (collective: every rank must replay the same ones) all stay.
enum LocalKind { kLocalNone = -1, kLocalGroup = 0, kLocalType = 1, kLocalOp = 2 };

LocalKind MadeKind(Op op) {
  switch (op) {
    case Op::kCommGroup:
    case Op::kGroupIncl:
    case Op::kGroupExcl:
    case Op::kCommRemoteGroup:
    case Op::kGroupUnion:
    case Op::kGroupIntersection:
    case Op::kGroupDifference:
    case Op::kGroupRangeIncl:
    case Op::kGroupRangeExcl:
      return kLocalGroup;
    case Op::kTypeContiguous:
    case Op::kTypeVector:
    case Op::kTypeHvector:
    case Op::kTypeResized:
    case Op::kTypeIndexed:
    case Op::kTypeHindexed:
    case Op::kTypeIndexedBlock:
    case Op::kTypeHindexedBlock:
    case Op::kTypeStruct:
    case Op::kTypeDup:
    case Op::kTypeSubarray:
    case Op::kTypeDarray:
    case Op::kTypeF90Integer:
    case Op::kTypeF90Real:
    case Op::kTypeF90Complex:
      return kLocalType;
    case Op::kOpCreate:
      return kLocalOp;
    default:
      return kLocalNone;
  }
}

LocalKind TouchedKind(Op op) {  // commits and frees of local objects
  switch (op) {
    case Op::kGroupFree:
      return kLocalGroup;
    case Op::kTypeCommit:
    case Op::kTypeFree:
      return kLocalType;
    case Op::kOpFree:
      return kLocalOp;
    default:
      return kLocalNone;
  }
}

// The local objects recipe r takes as input: (kind, slot) pairs.
void Inputs(const Recipe& r, std::vector<std::pair<int, size_t>>* in) {
  in->clear();
  size_t i;
  auto type = [&](uint64_t b) {
    if (SlotOf(g_types, FromBits<MPI_Datatype>(b), &i)) in->push_back({kLocalType, i});
  };
  auto group = [&](uint64_t b) {
    if (SlotOf(g_groups, FromBits<MPI_Group>(b), &i)) in->push_back({kLocalGroup, i});
  };
  switch (r.op) {
    case Op::kTypeContiguous:
    case Op::kTypeVector:
    case Op::kTypeHvector:
    case Op::kTypeResized:
    case Op::kTypeIndexed:
    case Op::kTypeHindexed:
    case Op::kTypeIndexedBlock:
    case Op::kTypeHindexedBlock:
    case Op::kTypeDup:
    case Op::kTypeSubarray:
    case Op::kTypeDarray:
      type(r.h[0]);
      break;
    case Op::kTypeStruct: {
      const auto n = static_cast<size_t>(r.v[0]);
      const int* p = &g_arena[r.arr_off] + n + n * sizeof(MPI_Aint) / sizeof(int);
      for (size_t k = 0; k < n; ++k) {
        uint64_t b;
        std::memcpy(&b, p + k * sizeof(uint64_t) / sizeof(int), sizeof b);
        type(b);
      }
      break;
    }
    case Op::kGroupIncl:
    case Op::kGroupExcl:
    case Op::kGroupRangeIncl:
    case Op::kGroupRangeExcl:
      group(r.h[0]);
      break;
    case Op::kGroupUnion:
    case Op::kGroupIntersection:
    case Op::kGroupDifference:
      group(r.h[0]);
      group(r.h[1]);
      break;
    case Op::kCommCreate:
    case Op::kCommCreateGroup:
      group(r.h[1]);
      break;
    default:
      break;
  }
}

void Compact() {
  const size_t n = g_nlog;
  std::vector<std::vector<int64_t>> cur(3);
  cur[kLocalGroup].assign(g_groups.Limit(), -1);
  cur[kLocalType].assign(g_types.Limit(), -1);
  cur[kLocalOp].assign(g_ops.Limit(), -1);
  std::vector<int64_t> owner(n, -1);  // commits/frees: the creation they belong to
  std::vector<char> freed(n, 0), needed(n, 0);
  std::vector<std::vector<int64_t>> deps(n);
  std::vector<std::pair<int, size_t>> in;
  for (size_t p = 0; p < n; ++p) {
    const Recipe& r = g_log[p];
    Inputs(r, &in);
    for (auto [k, slot] : in) {
      if (slot < cur[k].size() && cur[k][slot] >= 0) deps[p].push_back(cur[k][slot]);
    }
    if (const LocalKind k = MadeKind(r.op); k != kLocalNone) {
      if (r.out < cur[k].size()) cur[k][r.out] = static_cast<int64_t>(p);
    } else if (const LocalKind t = TouchedKind(r.op); t != kLocalNone) {
      const int64_t c = r.out < cur[t].size() ? cur[t][r.out] : -1;
      owner[p] = c;
      if (c >= 0 && (r.op == Op::kGroupFree || r.op == Op::kTypeFree || r.op == Op::kOpFree)) {
        freed[static_cast<size_t>(c)] = 1;
      }
    } else {
      needed[p] = 1;  // communicators and everything else stay
    }
  }
  for (size_t q = n; q-- > 0;) {
    if (MadeKind(g_log[q].op) != kLocalNone && !freed[q]) needed[q] = 1;
    if (!needed[q]) continue;
    for (int64_t d : deps[q]) needed[static_cast<size_t>(d)] = 1;
  }
  // Rewrite the log and the arena in place (both only shrink, front to back).
  size_t out = 0, arena = 0;
  for (size_t p = 0; p < n; ++p) {
    const bool keep = owner[p] >= 0 ? needed[static_cast<size_t>(owner[p])] != 0
                      : TouchedKind(g_log[p].op) != kLocalNone ? false
                                                               : needed[p] != 0;
    if (!keep) continue;
    Recipe r = g_log[p];
    if (r.arr_len > 0) std::memmove(&g_arena[arena], &g_arena[r.arr_off], r.arr_len * sizeof(int));
    r.arr_off = static_cast<uint32_t>(arena);
    arena += r.arr_len;
    g_log[out++] = r;
  }
  g_nlog = out;
  g_arena_used = arena;
}

bool Log(const Recipe& r, const int* arr = nullptr, size_t n = 0) {
  if (g_nlog == kMaxRecipes || g_arena_used + n > sizeof g_arena / sizeof(int)) {
    std::lock_guard<std::recursive_mutex> g(g_lock);
    Compact();
  }
  if (g_nlog == kMaxRecipes || g_arena_used + n > sizeof g_arena / sizeof(int)) {
    if (!g_log_full_reported) {
      g_log_full_reported = true;
      std::fprintf(stderr, "cairn mpi: the object log is full; checkpoints will fail\n");
    }
    NoteUnsupported("(the MPI object log is full)");
    return false;
  }
  Recipe& x = g_log[g_nlog++];
  x = r;
  x.arr_off = static_cast<uint32_t>(g_arena_used);
  x.arr_len = static_cast<uint32_t>(n);
  if (n > 0) std::memcpy(&g_arena[g_arena_used], arr, n * sizeof(int));
  g_arena_used += n;
  return true;
}

// Communicator keys: "w" for MPI_COMM_WORLD, "<parent>.<n>" for the n-th communicator made
// from a parent, which every member of the parent computes alike (KeyMode::kParent); names
// agreed on by communication otherwise (recipes.h).
uint32_t g_children[kMaxCommKeys];
uint32_t g_root_names = 0;  // KeyMode::kRoot names this process handed out

void SetKey(size_t index, const char* name, bool counted) {
  ProtocolState& s = State();
  std::memcpy(s.name[index], name, sizeof s.name[index] - 1);
  s.name[index][sizeof s.name[index] - 1] = '\0';
  s.counted[index] = counted;
  s.started[index] = 0;
  s.completed[index] = 0;
  // A communicator made during a round's run-forward: its first collective is beyond target.
  s.target[index] = 0;
  s.wanted[index] = 0;
  g_children[index] = 0;
}

uint64_t Fnv(const char* s, uint64_t h = 1469598103934665603ull) {
  for (; *s != '\0'; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
  return h;
}

// The key of a new communicator (index in the table; real: the library's handle).
// `child` is the number the parent handed out (kParent, and the local name of kIntercomm).
void NewCommKey(MPI_Comm parent_v, uint32_t child, size_t index, MPI_Comm real, KeyMode mode) {
  ProtocolState& s = State();
  char name[sizeof s.name[0] + 24];
  std::snprintf(name, sizeof name, "%s.%u", s.name[CommKey(parent_v)], child);
  Lower l;
  int size = 1, inter = 0;
  CAIRN_REAL(MPI_Comm_test_inter)(real, &inter);
  CAIRN_REAL(MPI_Comm_size)(real, &size);
  if (mode == KeyMode::kRoot) {
    int rank = 0, wrank = 0;
    CAIRN_REAL(MPI_Comm_rank)(real, &rank);
    CAIRN_REAL(MPI_Comm_rank)(MPI_COMM_WORLD, &wrank);
    char mine[sizeof s.name[0]] = {};
    if (rank == 0) std::snprintf(mine, sizeof mine, "r%d.%u", wrank, g_root_names++);
    CAIRN_REAL(MPI_Bcast)(mine, sizeof mine, MPI_CHAR, 0, real);
    mine[sizeof mine - 1] = '\0';
    std::snprintf(name, sizeof name, "%s", mine);
  } else if (mode == KeyMode::kParent && !inter && size > 1) {
    // One call on the parent can make several communicators (split by color, split_type,
    // create with disjoint groups): each is named also by its rank 0's rank in
    // MPI_COMM_WORLD, which its members share and the others' do not.
    MPI_Group g = MPI_GROUP_NULL, wg = MPI_GROUP_NULL;
    int zero = 0, wr0 = -1;
    CAIRN_REAL(MPI_Comm_group)(real, &g);
    CAIRN_REAL(MPI_Comm_group)(MPI_COMM_WORLD, &wg);
    CAIRN_REAL(MPI_Group_translate_ranks)(g, 1, &zero, wg, &wr0);
    CAIRN_REAL(MPI_Group_free)(&g);
    CAIRN_REAL(MPI_Group_free)(&wg);
    const size_t at = std::strlen(name);
    std::snprintf(name + at, sizeof name - at, "r%d", wr0);
  } else if (mode == KeyMode::kIntercomm && inter) {
    int remote = 1;
    CAIRN_REAL(MPI_Comm_remote_size)(real, &remote);
    std::vector<char> theirs(static_cast<size_t>(remote) * sizeof s.name[0]);
    char mine[sizeof s.name[0]] = {};
    std::snprintf(mine, sizeof mine, "%.47s", name);
    CAIRN_REAL(MPI_Allgather)
    (mine, sizeof mine, MPI_CHAR, theirs.data(), sizeof mine, MPI_CHAR, real);
    theirs[sizeof mine - 1] = '\0';
    const char* a = mine;
    const char* b = theirs.data();
    if (std::strcmp(a, b) > 0) std::swap(a, b);
    std::snprintf(name, sizeof name, "x%016llx",
                  static_cast<unsigned long long>(Fnv(b, Fnv("|", Fnv(a)))));
    size += remote;
  }
  // Deep nesting: a hash of the whole name rather than a truncated (maybe shared) one.
  if (std::strlen(name) >= sizeof s.name[0]) {
    std::snprintf(name, sizeof name, "h%016llx", static_cast<unsigned long long>(Fnv(name)));
  }
  SetKey(index, name, size > 1);
}

MPI_Comm AddComm(MPI_Comm parent_v, uint32_t child, MPI_Comm real, KeyMode mode) {
  if (real == MPI_COMM_NULL) return real;
  long i = g_comms.Add(real);
  if (i < 0) {  // table full: the program gets the real handle
    NoteUnsupported("(more MPI communicators than the shim's table holds)");
    return real;
  }
  NewCommKey(parent_v, child, static_cast<size_t>(i), real, mode);
  const MPI_Comm v = g_comms.Virtual(static_cast<size_t>(i));
  OnNewComm(parent_v, v);
  return v;
}

}  // namespace

std::recursive_mutex& ObjectLock() { return g_lock; }

size_t CommKey(MPI_Comm v) {
  size_t i;
  if (g_comms.Index(v, &i)) return i;
  if (v == MPI_COMM_WORLD) return kMaxComms;
  return kMaxComms + 1;  // MPI_COMM_SELF and anything unknown: never counted
}

void InitCommKeys(int world_size) {
  ProtocolState& s = State();
  std::snprintf(s.name[kMaxComms], sizeof s.name[0], "w");
  s.counted[kMaxComms] = world_size > 1;
  std::snprintf(s.name[kMaxComms + 1], sizeof s.name[0], "s");
  s.counted[kMaxComms + 1] = false;
}

void CountCollective(MPI_Comm v) { CountKey(CommKey(v)); }
void CompleteCollective(MPI_Comm v) { CompleteKey(CommKey(v)); }

void CountKey(size_t k) {
  ProtocolState& s = State();
  if (!s.counted[k]) return;
  if (!s.pending.load(std::memory_order_relaxed)) {  // no round: the common case
    BumpCount(s.started[k]);
    return;
  }
  // During a round, a collective beyond the round's target waits for the round's end.
  for (;;) {
    const uint32_t epoch = s.freeze_epoch.load();
    if (!s.pending.load() || (s.targets_known.load() && s.started[k].load() < s.target[k])) {
      break;
    }
    if (!s.targets_known.load() || s.started[k].load() >= s.target[k]) {
      if (s.targets_known.load()) {  // tell the checkpoint thread what this thread waits for
        const uint64_t need = s.started[k].load() + 1;
        if (s.wanted[k].load() < need) s.wanted[k].store(need);
      }
      SafePoint();
      if (!s.pending.load()) break;
      // Other ranks may wait for nonblocking collectives that need this rank's progress.
      ProgressCollectiveRequests();
      preload::FutexWait(&s.freeze_epoch, epoch, 20);
    }
  }
  BumpCount(s.started[k]);
}

void CompleteKey(size_t k) {
  ProtocolState& s = State();
  if (!s.counted[k]) return;
  BumpCount(s.completed[k]);
  // Only a checkpoint round waits for this (a futex wake is a system call: not on every call).
  if (s.pending.load(std::memory_order_relaxed)) {
    s.active_changes.fetch_add(1);
    preload::FutexWakeAll(&s.active_changes);
  }
}

void NewFileKey(MPI_Comm parent_v, size_t key, int size) {
  std::lock_guard<std::recursive_mutex> g(g_lock);
  ProtocolState& s = State();
  // Every member of the parent opens the file (a collective on it): all take the same number.
  const uint32_t child = g_children[CommKey(parent_v)]++;
  char name[sizeof s.name[0] + 24];
  std::snprintf(name, sizeof name, "%s.f%u", s.name[CommKey(parent_v)], child);
  if (std::strlen(name) >= sizeof s.name[0]) {
    std::snprintf(name, sizeof name, "h%016llx", static_cast<unsigned long long>(Fnv(name)));
  }
  SetKey(key, name, size > 1);
}

void DropFileKey(size_t key) {
  ProtocolState& s = State();
  s.counted[key] = false;
}

namespace {

// At replay, a handle in a recipe names the object in its table slot at that point of the log,
// also when the program freed it later (a datatype made from a freed one): no `used` check.
template <typename T, typename H>
H ReplayReal(const T& t, H v) {
  size_t i;
  if constexpr (std::is_pointer_v<H>) {
    const auto p = reinterpret_cast<uintptr_t>(v);
    const auto b = reinterpret_cast<uintptr_t>(t.Virtual(0));
    if (p < b || p - b >= t.Limit()) return v;
    i = p - b;
  } else {
    const auto u = static_cast<uint32_t>(v);
    if ((u & 0xFFF00000u) != T::kIntTag) return v;
    i = u & 0xFFFFFu;
    if (i >= t.Limit()) return v;
  }
  return t.Real(i);
}
MPI_Comm RComm(uint64_t b) { return ReplayReal(g_comms, FromBits<MPI_Comm>(b)); }
MPI_Group RGroup(uint64_t b) { return ReplayReal(g_groups, FromBits<MPI_Group>(b)); }
MPI_Datatype RType(uint64_t b) { return ReplayReal(g_types, FromBits<MPI_Datatype>(b)); }

// Arena readers: n ints / MPI_Aints / handles from `*p`, advancing it.
const int* Ints(const int** p, size_t n) {
  const int* a = *p;
  *p += n;
  return a;
}
std::vector<MPI_Aint> Aints(const int** p, size_t n) {
  std::vector<MPI_Aint> a(n);
  if (n > 0) std::memcpy(a.data(), *p, n * sizeof(MPI_Aint));
  *p += n * sizeof(MPI_Aint) / sizeof(int);
  return a;
}
std::vector<MPI_Datatype> TypesAt(const int** p, size_t n) {
  std::vector<uint64_t> b(n);
  if (n > 0) std::memcpy(b.data(), *p, n * sizeof(uint64_t));
  *p += n * sizeof(uint64_t) / sizeof(int);
  std::vector<MPI_Datatype> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = RType(b[i]);
  return t;
}

}  // namespace

bool ReplayObjects(char* err, size_t err_len) {
  std::lock_guard<std::recursive_mutex> g(g_lock);
  Lower l;
  for (size_t n = 0; n < g_nlog; ++n) {
    const Recipe& r = g_log[n];
    const int* arr = &g_arena[r.arr_off];
    const int* cur = arr;
    int rc = MPI_SUCCESS;
    switch (r.op) {
      case Op::kCommDup: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Comm_dup)(RComm(r.h[0]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCommSplit: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Comm_split)(RComm(r.h[0]), static_cast<int>(r.v[0]),
                                        static_cast<int>(r.v[1]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCommCreate: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Comm_create)(RComm(r.h[0]), RGroup(r.h[1]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCartCreate: {
        MPI_Comm c = MPI_COMM_NULL;
        const int nd = static_cast<int>(r.v[0]);
        rc = CAIRN_REAL(MPI_Cart_create)(RComm(r.h[0]), nd, arr, arr + nd, static_cast<int>(r.v[1]),
                                         &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCommFree: {
        MPI_Comm c = g_comms.Real(r.out);
        if (c != MPI_COMM_NULL) rc = CAIRN_REAL(MPI_Comm_free)(&c);
        break;
      }
      case Op::kCommGroup: {
        MPI_Group gr = MPI_GROUP_NULL;
        rc = CAIRN_REAL(MPI_Comm_group)(RComm(r.h[0]), &gr);
        g_groups.SetReal(r.out, gr);
        break;
      }
      case Op::kGroupIncl:
      case Op::kGroupExcl: {
        MPI_Group gr = MPI_GROUP_NULL;
        auto fn = r.op == Op::kGroupIncl ? CAIRN_REAL(MPI_Group_incl) : CAIRN_REAL(MPI_Group_excl);
        rc = fn(RGroup(r.h[0]), static_cast<int>(r.arr_len), arr, &gr);
        g_groups.SetReal(r.out, gr);
        break;
      }
      case Op::kGroupFree: {
        MPI_Group gr = g_groups.Real(r.out);
        if (gr != MPI_GROUP_NULL) rc = CAIRN_REAL(MPI_Group_free)(&gr);
        break;
      }
      case Op::kTypeContiguous: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        rc = CAIRN_REAL(MPI_Type_contiguous)(static_cast<int>(r.v[0]), RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeVector: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        rc = CAIRN_REAL(MPI_Type_vector)(static_cast<int>(r.v[0]), static_cast<int>(r.v[1]),
                                         static_cast<int>(r.v[2]), RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeHvector: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        rc = CAIRN_REAL(MPI_Type_create_hvector)(static_cast<int>(r.v[0]), static_cast<int>(r.v[1]),
                                                 static_cast<MPI_Aint>(r.v[2]), RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeResized: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        rc = CAIRN_REAL(MPI_Type_create_resized)(RType(r.h[0]), static_cast<MPI_Aint>(r.v[0]),
                                                 static_cast<MPI_Aint>(r.v[1]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeCommit: {
        MPI_Datatype t = g_types.Real(r.out);
        rc = CAIRN_REAL(MPI_Type_commit)(&t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeFree: {
        MPI_Datatype t = g_types.Real(r.out);
        if (t != MPI_DATATYPE_NULL) rc = CAIRN_REAL(MPI_Type_free)(&t);
        break;
      }
      case Op::kOpCreate: {
        MPI_Op o = MPI_OP_NULL;
        rc = CAIRN_REAL(MPI_Op_create)(reinterpret_cast<MPI_User_function*>(r.v[0]),
                                       static_cast<int>(r.v[1]), &o);
        g_ops.SetReal(r.out, o);
        break;
      }
      case Op::kOpFree: {
        MPI_Op o = g_ops.Real(r.out);
        if (o != MPI_OP_NULL) rc = CAIRN_REAL(MPI_Op_free)(&o);
        break;
      }
      case Op::kCommSplitType: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Comm_split_type)(RComm(r.h[0]), static_cast<int>(r.v[0]),
                                             static_cast<int>(r.v[1]), MPI_INFO_NULL, &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCommCreateGroup: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Comm_create_group)(RComm(r.h[0]), RGroup(r.h[1]),
                                               static_cast<int>(r.v[0]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCartSub: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Cart_sub)(RComm(r.h[0]), arr, &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kGraphCreate: {
        MPI_Comm c = MPI_COMM_NULL;
        const int nn = static_cast<int>(r.v[0]);
        rc = CAIRN_REAL(MPI_Graph_create)(RComm(r.h[0]), nn, arr, arr + nn,
                                          static_cast<int>(r.v[1]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kDistGraphAdjacent: {
        MPI_Comm c = MPI_COMM_NULL;
        const auto in = static_cast<size_t>(r.v[0]), outd = static_cast<size_t>(r.v[1]);
        const int* src = Ints(&cur, in);
        const int* srcw = Ints(&cur, in);
        const int* dst = Ints(&cur, outd);
        const int* dstw = Ints(&cur, outd);
        const int64_t f = r.v[3];
        rc =
            CAIRN_REAL(MPI_Dist_graph_create_adjacent)(RComm(r.h[0]), static_cast<int>(in), src,
                                                       (f & 1)   ? MPI_UNWEIGHTED
                                                       : (f & 2) ? MPI_WEIGHTS_EMPTY
                                                                 : srcw,
                                                       static_cast<int>(outd), dst,
                                                       (f & 4)   ? MPI_UNWEIGHTED
                                                       : (f & 8) ? MPI_WEIGHTS_EMPTY
                                                                 : dstw,
                                                       MPI_INFO_NULL, static_cast<int>(r.v[2]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kDistGraph: {
        MPI_Comm c = MPI_COMM_NULL;
        const auto nn = static_cast<size_t>(r.v[0]), total = static_cast<size_t>(r.v[3]);
        const int* src = Ints(&cur, nn);
        const int* deg = Ints(&cur, nn);
        const int* dst = Ints(&cur, total);
        const int* w = Ints(&cur, total);
        const int64_t f = r.v[2];
        rc = CAIRN_REAL(MPI_Dist_graph_create)(RComm(r.h[0]), static_cast<int>(nn), src, deg, dst,
                                               (f & 1)   ? MPI_UNWEIGHTED
                                               : (f & 2) ? MPI_WEIGHTS_EMPTY
                                                         : w,
                                               MPI_INFO_NULL, static_cast<int>(r.v[1]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kIntercommCreate: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Intercomm_create)(RComm(r.h[0]), static_cast<int>(r.v[0]),
                                              RComm(r.h[1]), static_cast<int>(r.v[1]),
                                              static_cast<int>(r.v[2]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kIntercommMerge: {
        MPI_Comm c = MPI_COMM_NULL;
        rc = CAIRN_REAL(MPI_Intercomm_merge)(RComm(r.h[0]), static_cast<int>(r.v[0]), &c);
        g_comms.SetReal(r.out, c);
        break;
      }
      case Op::kCommRemoteGroup: {
        MPI_Group gr = MPI_GROUP_NULL;
        rc = CAIRN_REAL(MPI_Comm_remote_group)(RComm(r.h[0]), &gr);
        g_groups.SetReal(r.out, gr);
        break;
      }
      case Op::kGroupUnion:
      case Op::kGroupIntersection:
      case Op::kGroupDifference: {
        MPI_Group gr = MPI_GROUP_NULL;
        auto fn = r.op == Op::kGroupUnion          ? CAIRN_REAL(MPI_Group_union)
                  : r.op == Op::kGroupIntersection ? CAIRN_REAL(MPI_Group_intersection)
                                                   : CAIRN_REAL(MPI_Group_difference);
        rc = fn(RGroup(r.h[0]), RGroup(r.h[1]), &gr);
        g_groups.SetReal(r.out, gr);
        break;
      }
      case Op::kGroupRangeIncl:
      case Op::kGroupRangeExcl: {
        MPI_Group gr = MPI_GROUP_NULL;
        std::vector<int> ranges(arr, arr + r.arr_len);
        auto fn = r.op == Op::kGroupRangeIncl ? CAIRN_REAL(MPI_Group_range_incl)
                                              : CAIRN_REAL(MPI_Group_range_excl);
        rc = fn(RGroup(r.h[0]), static_cast<int>(r.arr_len / 3),
                reinterpret_cast<int(*)[3]>(ranges.data()), &gr);
        g_groups.SetReal(r.out, gr);
        break;
      }
      case Op::kTypeIndexed: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const auto cnt = static_cast<size_t>(r.v[0]);
        const int* bl = Ints(&cur, cnt);
        const int* dp = Ints(&cur, cnt);
        rc = CAIRN_REAL(MPI_Type_indexed)(static_cast<int>(cnt), bl, dp, RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeHindexed: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const auto cnt = static_cast<size_t>(r.v[0]);
        const int* bl = Ints(&cur, cnt);
        const std::vector<MPI_Aint> dp = Aints(&cur, cnt);
        rc = CAIRN_REAL(MPI_Type_create_hindexed)(static_cast<int>(cnt), bl, dp.data(),
                                                  RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeIndexedBlock: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        rc = CAIRN_REAL(MPI_Type_create_indexed_block)(
            static_cast<int>(r.v[0]), static_cast<int>(r.v[1]), arr, RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeHindexedBlock: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const std::vector<MPI_Aint> dp = Aints(&cur, static_cast<size_t>(r.v[0]));
        rc = CAIRN_REAL(MPI_Type_create_hindexed_block)(
            static_cast<int>(r.v[0]), static_cast<int>(r.v[1]), dp.data(), RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeStruct: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const auto cnt = static_cast<size_t>(r.v[0]);
        const int* bl = Ints(&cur, cnt);
        const std::vector<MPI_Aint> dp = Aints(&cur, cnt);
        const std::vector<MPI_Datatype> ty = TypesAt(&cur, cnt);
        rc =
            CAIRN_REAL(MPI_Type_create_struct)(static_cast<int>(cnt), bl, dp.data(), ty.data(), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeDup: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        rc = CAIRN_REAL(MPI_Type_dup)(RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeSubarray: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const auto cnt = static_cast<size_t>(r.v[0]);
        rc = CAIRN_REAL(MPI_Type_create_subarray)(static_cast<int>(cnt), arr, arr + cnt,
                                                  arr + 2 * cnt, static_cast<int>(r.v[1]),
                                                  RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeDarray: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const auto cnt = static_cast<size_t>(r.v[2]);
        rc = CAIRN_REAL(MPI_Type_create_darray)(
            static_cast<int>(r.v[0]), static_cast<int>(r.v[1]), static_cast<int>(cnt), arr,
            arr + cnt, arr + 2 * cnt, arr + 3 * cnt, static_cast<int>(r.v[3]), RType(r.h[0]), &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kTypeF90Integer:
      case Op::kTypeF90Real:
      case Op::kTypeF90Complex: {
        MPI_Datatype t = MPI_DATATYPE_NULL;
        const int p = static_cast<int>(r.v[0]), q = static_cast<int>(r.v[1]);
        rc = r.op == Op::kTypeF90Integer ? CAIRN_REAL(MPI_Type_create_f90_integer)(q, &t)
             : r.op == Op::kTypeF90Real  ? CAIRN_REAL(MPI_Type_create_f90_real)(p, q, &t)
                                         : CAIRN_REAL(MPI_Type_create_f90_complex)(p, q, &t);
        g_types.SetReal(r.out, t);
        break;
      }
      case Op::kErrhCreate: {
        MPI_Errhandler e = MPI_ERRHANDLER_NULL;
        rc = CAIRN_REAL(MPI_Comm_create_errhandler)(
            reinterpret_cast<MPI_Comm_errhandler_function*>(r.v[0]), &e);
        Errhs().SetReal(r.out, e);
        break;
      }
      case Op::kAddErrorClass:
      case Op::kAddErrorCode: {
        int got = -1;
        rc = r.op == Op::kAddErrorClass
                 ? CAIRN_REAL(MPI_Add_error_class)(&got)
                 : CAIRN_REAL(MPI_Add_error_code)(static_cast<int>(r.v[0]), &got);
        if (rc == MPI_SUCCESS && got != static_cast<int>(r.v[1])) {
          std::snprintf(err, err_len, "the new MPI library gave the user error %s %d instead of %d",
                        r.op == Op::kAddErrorClass ? "class" : "code", got,
                        static_cast<int>(r.v[1]));
          return false;
        }
        break;
      }
      case Op::kAddErrorString: {
        std::string text(reinterpret_cast<const char*>(arr), r.arr_len * sizeof(int));
        text.resize(std::strlen(text.c_str()));
        rc = CAIRN_REAL(MPI_Add_error_string)(static_cast<int>(r.v[0]), text.c_str());
        break;
      }
      case Op::kBufferAttach:
        rc = CAIRN_REAL(MPI_Buffer_attach)(reinterpret_cast<void*>(r.v[0]),
                                           static_cast<int>(r.v[1]));
        break;
      case Op::kBufferDetach: {
        void* b = nullptr;
        int size = 0;
        rc = CAIRN_REAL(MPI_Buffer_detach)(&b, &size);
        break;
      }
    }
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "rebuilding MPI object %zu of %zu (operation %d) failed: %d", n,
                    g_nlog, static_cast<int>(r.op), rc);
      return false;
    }
  }
  return ReplayState(err, err_len);
}

bool LogRecipe(const Recipe& r, const void* data, size_t bytes) {
  const size_t n = (bytes + sizeof(int) - 1) / sizeof(int);
  std::vector<int> tmp(n);
  if (bytes > 0) std::memcpy(tmp.data(), data, bytes);
  return Log(r, tmp.data(), n);
}

int MakeComm(RecipeOp op, MPI_Comm parent, MPI_Comm real, MPI_Comm* out, int64_t v0, int64_t v1,
             uint64_t h1, const void* data, size_t bytes, KeyMode mode, int64_t v2, int64_t v3) {
  std::lock_guard<std::recursive_mutex> g(g_lock);
  // Every member of the parent takes a child number, also when it gets MPI_COMM_NULL, so that
  // all agree on the next one.
  uint32_t child = 0;
  if (mode != KeyMode::kRoot) child = g_children[CommKey(parent)]++;
  *out = AddComm(parent, child, real, mode);
  size_t i;
  const Recipe r{op, 0, {Bits(parent), h1}, {v0, v1, v2, v3}, 0, 0};
  if (real != MPI_COMM_NULL && g_comms.Index(*out, &i)) {
    Recipe x = r;
    x.out = static_cast<uint32_t>(i);
    LogRecipe(x, data, bytes);
  } else if (real == MPI_COMM_NULL && op != Op::kCommDup) {
    // Still a collective on the parent: replayed so that every rank calls it again.
    long j = g_comms.Add(MPI_COMM_NULL);
    if (j >= 0) {
      Recipe x = r;
      x.out = static_cast<uint32_t>(j);
      LogRecipe(x, data, bytes);
      State().counted[j] = false;
      Log({Op::kCommFree, static_cast<uint32_t>(j), {0, 0}, {0, 0, 0, 0}, 0, 0});
      g_comms.Free(static_cast<size_t>(j));
    }
  }
  return MPI_SUCCESS;
}

int MakeGroup(RecipeOp op, MPI_Group real, MPI_Group* out, uint64_t h0, uint64_t h1,
              const void* data, size_t bytes, int64_t v0) {
  std::lock_guard<std::recursive_mutex> g(g_lock);
  if (real == MPI_GROUP_NULL || real == MPI_GROUP_EMPTY) {
    // MPI_GROUP_EMPTY is predefined: nothing to rebuild (the real handle is the same).
    *out = real;
    return MPI_SUCCESS;
  }
  long i = g_groups.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  LogRecipe({op, static_cast<uint32_t>(i), {h0, h1}, {v0, 0, 0, 0}, 0, 0}, data, bytes);
  *out = g_groups.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

int MakeType(RecipeOp op, MPI_Datatype real, MPI_Datatype* out, uint64_t h0, int64_t v0, int64_t v1,
             int64_t v2, int64_t v3, const void* data, size_t bytes) {
  std::lock_guard<std::recursive_mutex> g(g_lock);
  long i = g_types.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  LogRecipe({op, static_cast<uint32_t>(i), {h0, 0}, {v0, v1, v2, v3}, 0, 0}, data, bytes);
  *out = g_types.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

// ------------------------------------------------------------------ communicators
CAIRN_API int MPI_Comm_dup(MPI_Comm comm, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_dup)(comm, newcomm);
  Call c;
  CountCollective(comm);
  MPI_Comm real = MPI_COMM_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_dup)(g_comms.ToReal(comm), &real);
  }
  CompleteCollective(comm);
  if (rc != MPI_SUCCESS) return rc;
  rc = MakeComm(Op::kCommDup, comm, real, newcomm);
  OnCommDup(comm, *newcomm);
  return rc;
}
CAIRN_PMPI(MPI_Comm_dup)

CAIRN_API int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_split)(comm, color, key, newcomm);
  Call c;
  CountCollective(comm);
  MPI_Comm real = MPI_COMM_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_split)(g_comms.ToReal(comm), color, key, &real);
  }
  CompleteCollective(comm);
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(Op::kCommSplit, comm, real, newcomm, color, key);
}
CAIRN_PMPI(MPI_Comm_split)

CAIRN_API int MPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_create)(comm, group, newcomm);
  Call c;
  CountCollective(comm);
  MPI_Comm real = MPI_COMM_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_create)(g_comms.ToReal(comm), g_groups.ToReal(group), &real);
  }
  CompleteCollective(comm);
  if (rc != MPI_SUCCESS) return rc;
  return MakeComm(Op::kCommCreate, comm, real, newcomm, 0, 0, Bits(group));
}
CAIRN_PMPI(MPI_Comm_create)

CAIRN_API int MPI_Cart_create(MPI_Comm comm, int ndims, const int dims[], const int periods[],
                              int reorder, MPI_Comm* newcomm) {
  if (FromLower()) return CAIRN_REAL(MPI_Cart_create)(comm, ndims, dims, periods, reorder, newcomm);
  Call c;
  CountCollective(comm);
  MPI_Comm real = MPI_COMM_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Cart_create)(g_comms.ToReal(comm), ndims, dims, periods, reorder, &real);
  }
  CompleteCollective(comm);
  if (rc != MPI_SUCCESS) return rc;
  std::vector<int> arr(dims, dims + ndims);
  arr.insert(arr.end(), periods, periods + ndims);
  return MakeComm(Op::kCartCreate, comm, real, newcomm, ndims, reorder, 0, arr.data(),
                  arr.size() * sizeof(int));
}
CAIRN_PMPI(MPI_Cart_create)

CAIRN_API int MPI_Comm_free(MPI_Comm* comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_free)(comm);
  Call c;
  size_t i;
  if (!g_comms.Index(*comm, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Comm_free)(comm);
  }
  // Not under the object lock: a checkpoint may hold the thread here (and a restart replays
  // the objects under that lock).
  CountCollective(*comm);
  MPI_Comm real = g_comms.Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_free)(&real);
  }
  CompleteCollective(*comm);
  if (rc != MPI_SUCCESS) return rc;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  if (!NoRecipe(kObjComm, i)) {
    Log({Op::kCommFree, static_cast<uint32_t>(i), {0, 0}, {0, 0, 0, 0}, 0, 0});
  }
  OnCommFree(*comm);
  ClearNoRecipe(kObjComm, i);
  State().counted[i] = false;
  g_comms.SetReal(i, MPI_COMM_NULL);
  g_comms.Free(i);
  *comm = MPI_COMM_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_free)

// Queries: translate and pass through.
#define CAIRN_COMM_QUERY(name, T)                        \
  CAIRN_API int name(MPI_Comm comm, T out) {             \
    if (FromLower()) return CAIRN_REAL(name)(comm, out); \
    Call c;                                              \
    Lower l;                                             \
    return CAIRN_REAL(name)(g_comms.ToReal(comm), out);  \
  }                                                      \
  CAIRN_PMPI(name)

CAIRN_COMM_QUERY(MPI_Comm_rank, int*)
CAIRN_COMM_QUERY(MPI_Comm_size, int*)
CAIRN_COMM_QUERY(MPI_Comm_test_inter, int*)
CAIRN_COMM_QUERY(MPI_Topo_test, int*)
CAIRN_COMM_QUERY(MPI_Cartdim_get, int*)

CAIRN_API int MPI_Cart_coords(MPI_Comm comm, int rank, int maxdims, int coords[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Cart_coords)(comm, rank, maxdims, coords);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Cart_coords)(g_comms.ToReal(comm), rank, maxdims, coords);
}
CAIRN_PMPI(MPI_Cart_coords)

CAIRN_API int MPI_Cart_rank(MPI_Comm comm, const int coords[], int* rank) {
  if (FromLower()) return CAIRN_REAL(MPI_Cart_rank)(comm, coords, rank);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Cart_rank)(g_comms.ToReal(comm), coords, rank);
}
CAIRN_PMPI(MPI_Cart_rank)

CAIRN_API int MPI_Cart_shift(MPI_Comm comm, int dir, int disp, int* src, int* dst) {
  if (FromLower()) return CAIRN_REAL(MPI_Cart_shift)(comm, dir, disp, src, dst);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Cart_shift)(g_comms.ToReal(comm), dir, disp, src, dst);
}
CAIRN_PMPI(MPI_Cart_shift)

CAIRN_API int MPI_Cart_get(MPI_Comm comm, int maxdims, int dims[], int periods[], int coords[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Cart_get)(comm, maxdims, dims, periods, coords);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Cart_get)(g_comms.ToReal(comm), maxdims, dims, periods, coords);
}
CAIRN_PMPI(MPI_Cart_get)

CAIRN_API int MPI_Comm_compare(MPI_Comm a, MPI_Comm b, int* result) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_compare)(a, b, result);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Comm_compare)(g_comms.ToReal(a), g_comms.ToReal(b), result);
}
CAIRN_PMPI(MPI_Comm_compare)

#ifndef MPI_Comm_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Comm_c2f(MPI_Comm comm) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_c2f)(comm);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (g_comms.Index(comm, &i)) return CommTable::FortranOf(i);
  return CAIRN_REAL(MPI_Comm_c2f)(comm);
}
CAIRN_PMPI(MPI_Comm_c2f)
#endif

#ifndef MPI_Comm_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Comm MPI_Comm_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_f2c)(f);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (CommTable::IndexOfFortran(f, &i) && g_comms.Used(i)) return g_comms.Virtual(i);
  return CAIRN_REAL(MPI_Comm_f2c)(f);
}
CAIRN_PMPI(MPI_Comm_f2c)
#endif

// ------------------------------------------------------------------ groups
CAIRN_API int MPI_Comm_group(MPI_Comm comm, MPI_Group* group) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_group)(comm, group);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Group real;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_group)(g_comms.ToReal(comm), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  long i = g_groups.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  Log({Op::kCommGroup, static_cast<uint32_t>(i), {Bits(comm), 0}, {0, 0, 0, 0}, 0, 0});
  *group = g_groups.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_group)

static int GroupRanks(Op op, MPI_Group group, int n, const int ranks[], MPI_Group* out) {
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Group real;
  int rc;
  {
    Lower l;
    rc = op == Op::kGroupIncl ? CAIRN_REAL(MPI_Group_incl)(g_groups.ToReal(group), n, ranks, &real)
                              : CAIRN_REAL(MPI_Group_excl)(g_groups.ToReal(group), n, ranks, &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  long i = g_groups.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  Log({op, static_cast<uint32_t>(i), {Bits(group), 0}, {0, 0, 0, 0}, 0, 0}, ranks,
      static_cast<size_t>(n));
  *out = g_groups.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

CAIRN_API int MPI_Group_incl(MPI_Group group, int n, const int ranks[], MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_incl)(group, n, ranks, out);
  return GroupRanks(Op::kGroupIncl, group, n, ranks, out);
}
CAIRN_PMPI(MPI_Group_incl)

CAIRN_API int MPI_Group_excl(MPI_Group group, int n, const int ranks[], MPI_Group* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_excl)(group, n, ranks, out);
  return GroupRanks(Op::kGroupExcl, group, n, ranks, out);
}
CAIRN_PMPI(MPI_Group_excl)

CAIRN_API int MPI_Group_free(MPI_Group* group) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_free)(group);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  size_t i;
  if (!g_groups.Index(*group, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Group_free)(group);
  }
  MPI_Group real = g_groups.Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Group_free)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  if (!NoRecipe(kObjGroup, i)) {
    Log({Op::kGroupFree, static_cast<uint32_t>(i), {0, 0}, {0, 0, 0, 0}, 0, 0});
  }
  ClearNoRecipe(kObjGroup, i);
  g_groups.SetReal(i, MPI_GROUP_NULL);
  g_groups.Free(i);
  *group = MPI_GROUP_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Group_free)

CAIRN_API int MPI_Group_size(MPI_Group group, int* size) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_size)(group, size);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Group_size)(g_groups.ToReal(group), size);
}
CAIRN_PMPI(MPI_Group_size)

CAIRN_API int MPI_Group_rank(MPI_Group group, int* rank) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_rank)(group, rank);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Group_rank)(g_groups.ToReal(group), rank);
}
CAIRN_PMPI(MPI_Group_rank)

CAIRN_API int MPI_Group_translate_ranks(MPI_Group a, int n, const int ra[], MPI_Group b, int rb[]) {
  if (FromLower()) return CAIRN_REAL(MPI_Group_translate_ranks)(a, n, ra, b, rb);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Group_translate_ranks)(g_groups.ToReal(a), n, ra, g_groups.ToReal(b), rb);
}
CAIRN_PMPI(MPI_Group_translate_ranks)

// ------------------------------------------------------------------ datatypes
static int NewType(Op op, MPI_Datatype old, MPI_Datatype real, MPI_Datatype* out, int64_t v0,
                   int64_t v1, int64_t v2) {
  long i = g_types.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  Log({op, static_cast<uint32_t>(i), {Bits(old), 0}, {v0, v1, v2, 0}, 0, 0});
  *out = g_types.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}

CAIRN_API int MPI_Type_contiguous(int count, MPI_Datatype old, MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_contiguous)(count, old, out);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Datatype real;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_contiguous)(count, g_types.ToReal(old), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return NewType(Op::kTypeContiguous, old, real, out, count, 0, 0);
}
CAIRN_PMPI(MPI_Type_contiguous)

CAIRN_API int MPI_Type_vector(int count, int blocklength, int stride, MPI_Datatype old,
                              MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_vector)(count, blocklength, stride, old, out);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Datatype real;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_vector)(count, blocklength, stride, g_types.ToReal(old), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return NewType(Op::kTypeVector, old, real, out, count, blocklength, stride);
}
CAIRN_PMPI(MPI_Type_vector)

CAIRN_API int MPI_Type_create_hvector(int count, int blocklength, MPI_Aint stride, MPI_Datatype old,
                                      MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_hvector)(count, blocklength, stride, old, out);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Datatype real;
  int rc;
  {
    Lower l;
    rc =
        CAIRN_REAL(MPI_Type_create_hvector)(count, blocklength, stride, g_types.ToReal(old), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return NewType(Op::kTypeHvector, old, real, out, count, blocklength, stride);
}
CAIRN_PMPI(MPI_Type_create_hvector)

CAIRN_API int MPI_Type_create_resized(MPI_Datatype old, MPI_Aint lb, MPI_Aint extent,
                                      MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_resized)(old, lb, extent, out);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Datatype real;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_create_resized)(g_types.ToReal(old), lb, extent, &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return NewType(Op::kTypeResized, old, real, out, lb, extent, 0);
}
CAIRN_PMPI(MPI_Type_create_resized)

CAIRN_API int MPI_Type_commit(MPI_Datatype* type) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_commit)(type);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  size_t i;
  if (!g_types.Index(*type, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Type_commit)(type);
  }
  MPI_Datatype real = g_types.Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_commit)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  g_types.SetReal(i, real);
  if (!NoRecipe(kObjType, i)) {
    Log({Op::kTypeCommit, static_cast<uint32_t>(i), {0, 0}, {0, 0, 0, 0}, 0, 0});
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Type_commit)

CAIRN_API int MPI_Type_free(MPI_Datatype* type) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_free)(type);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  size_t i;
  if (!g_types.Index(*type, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Type_free)(type);
  }
  MPI_Datatype real = g_types.Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_free)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  if (!NoRecipe(kObjType, i)) {
    Log({Op::kTypeFree, static_cast<uint32_t>(i), {0, 0}, {0, 0, 0, 0}, 0, 0});
  }
  ClearNoRecipe(kObjType, i);
  g_types.SetReal(i, MPI_DATATYPE_NULL);
  g_types.Free(i);
  *type = MPI_DATATYPE_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Type_free)

CAIRN_API int MPI_Type_size(MPI_Datatype type, int* size) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_size)(type, size);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Type_size)(g_types.ToReal(type), size);
}
CAIRN_PMPI(MPI_Type_size)

CAIRN_API int MPI_Type_get_extent(MPI_Datatype type, MPI_Aint* lb, MPI_Aint* extent) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_get_extent)(type, lb, extent);
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Type_get_extent)(g_types.ToReal(type), lb, extent);
}
CAIRN_PMPI(MPI_Type_get_extent)

#ifndef MPI_Type_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Type_c2f(MPI_Datatype t) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_c2f)(t);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (g_types.Index(t, &i)) return TypeTable::FortranOf(i);
  return CAIRN_REAL(MPI_Type_c2f)(t);
}
CAIRN_PMPI(MPI_Type_c2f)
#endif

#ifndef MPI_Type_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Datatype MPI_Type_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_f2c)(f);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (TypeTable::IndexOfFortran(f, &i) && g_types.Used(i)) return g_types.Virtual(i);
  return CAIRN_REAL(MPI_Type_f2c)(f);
}
CAIRN_PMPI(MPI_Type_f2c)
#endif

// ------------------------------------------------------------------ ops
CAIRN_API int MPI_Op_create(MPI_User_function* fn, int commute, MPI_Op* op) {
  if (FromLower()) return CAIRN_REAL(MPI_Op_create)(fn, commute, op);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  MPI_Op real;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Op_create)(fn, commute, &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  long i = g_ops.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  Log({Op::kOpCreate,
       static_cast<uint32_t>(i),
       {0, 0},
       {static_cast<int64_t>(reinterpret_cast<intptr_t>(fn)), commute, 0, 0},
       0,
       0});
  *op = g_ops.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Op_create)

CAIRN_API int MPI_Op_free(MPI_Op* op) {
  if (FromLower()) return CAIRN_REAL(MPI_Op_free)(op);
  Call c;
  std::lock_guard<std::recursive_mutex> g(g_lock);
  size_t i;
  if (!g_ops.Index(*op, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Op_free)(op);
  }
  MPI_Op real = g_ops.Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Op_free)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  if (!NoRecipe(kObjOp, i)) {
    Log({Op::kOpFree, static_cast<uint32_t>(i), {0, 0}, {0, 0, 0, 0}, 0, 0});
  }
  ClearNoRecipe(kObjOp, i);
  g_ops.SetReal(i, MPI_OP_NULL);
  g_ops.Free(i);
  *op = MPI_OP_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Op_free)
