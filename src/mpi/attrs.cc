// Communicator attributes and keyvals, error handlers, communicator names and user error
// classes/codes: the library state a restart must restore that is not an object creation
// (recipes.h: ReplayState), and the wrappers that record it.
//
//   - Keyvals are virtual ints (kKeyTag | index) mapped to the library's; a restart creates
//     them again with the same callbacks. Attribute values set by the program, and those the
//     library copied into a dup (asked back right after the dup), are kept per communicator and
//     set again after the communicators are rebuilt, so no callback of the program runs then.
//   - Error handlers are virtual (Errhs(), created from a recipe); each communicator's handler
//     is kept (set by the program, or inherited from its parent) and set again at restart.
//     MPI_Errhandler_free of a virtual or predefined handler only drops the program's handle:
//     communicators keep using it, and a restart may need it again.
//   - Names set with MPI_Comm_set_name are set again at restart.
#include <cstdio>
#include <cstring>
#include <mutex>

#include "mpi/coverage.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"

namespace cairn::mpi {
namespace {

ErrhTable g_errhs;

// Per-communicator state: slot = table index, kMaxComms for MPI_COMM_WORLD, +1 for SELF.
constexpr size_t kSlots = kMaxComms + 2;
MPI_Errhandler g_errh[kSlots];  // virtual or predefined, when g_errh_set
bool g_errh_set[kSlots];
char g_name[kSlots][MPI_MAX_OBJECT_NAME];
bool g_named[kSlots];

long Slot(MPI_Comm v) {
  size_t i;
  if (Comms().Index(v, &i)) return static_cast<long>(i);
  if (v == MPI_COMM_WORLD) return static_cast<long>(kMaxComms);
  if (v == MPI_COMM_SELF) return static_cast<long>(kMaxComms + 1);
  return -1;
}

// Keyvals.
constexpr int kKeyTag = 0x3A5C0000;
constexpr int kMaxKeyvals = 1024;
struct Keyval {
  bool used = false;
  bool freed = false;  // by the program (attributes may still use it)
  int real = 0;
  MPI_Comm_copy_attr_function* copy = nullptr;
  MPI_Comm_delete_attr_function* del = nullptr;
  void* extra = nullptr;
};
Keyval g_keyvals[kMaxKeyvals];
int g_nkeyvals = 0;

bool KeyIndex(int k, int* i) {
  if ((k & ~0xFFFF) != kKeyTag) return false;
  *i = k & 0xFFFF;
  return *i < g_nkeyvals && g_keyvals[*i].used;
}
int KeyReal(int k) {
  int i;
  return KeyIndex(k, &i) ? g_keyvals[i].real : k;
}

// Attribute values on communicators the shim knows.
struct Attr {
  bool used = false;
  uint64_t comm = 0;  // Bits of the virtual (or predefined) communicator
  int key = 0;        // keyval index
  void* value = nullptr;
};
constexpr size_t kMaxAttrs = 8192;
Attr g_attrs[kMaxAttrs];
size_t g_nattrs = 0;  // high-water mark

Attr* FindAttr(uint64_t comm, int key) {
  for (size_t i = 0; i < g_nattrs; ++i) {
    if (g_attrs[i].used && g_attrs[i].comm == comm && g_attrs[i].key == key) return &g_attrs[i];
  }
  return nullptr;
}

void SetAttr(uint64_t comm, int key, void* value) {
  if (Attr* a = FindAttr(comm, key); a != nullptr) {
    a->value = value;
    return;
  }
  for (size_t i = 0; i < kMaxAttrs; ++i) {
    if (g_attrs[i].used) continue;
    g_attrs[i] = Attr{true, comm, key, value};
    if (i >= g_nattrs) g_nattrs = i + 1;
    return;
  }
  NoteUnsupported("(more MPI attributes than the shim holds)");
}

void DropAttr(uint64_t comm, int key) {
  if (Attr* a = FindAttr(comm, key); a != nullptr) a->used = false;
  while (g_nattrs > 0 && !g_attrs[g_nattrs - 1].used) --g_nattrs;
}

MPI_Errhandler ErrhReal(MPI_Errhandler e) { return g_errhs.ToReal(e); }

bool Predefined(MPI_Errhandler e) {
  if (e == MPI_ERRORS_ARE_FATAL || e == MPI_ERRORS_RETURN) return true;
#ifdef MPI_ERRORS_ABORT
  if (e == MPI_ERRORS_ABORT) return true;
#endif
  return false;
}

int CreateKeyval(MPI_Comm_copy_attr_function* copy, MPI_Comm_delete_attr_function* del, int* key,
                 void* extra) {
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  if (g_nkeyvals == kMaxKeyvals) return MPI_ERR_INTERN;
  int real = MPI_KEYVAL_INVALID, rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_create_keyval)(copy, del, &real, extra);
  }
  if (rc != MPI_SUCCESS) return rc;
  const int i = g_nkeyvals++;
  g_keyvals[i] = Keyval{true, false, real, copy, del, extra};
  *key = kKeyTag | i;
  return MPI_SUCCESS;
}

int FreeKeyval(int* key) {
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int i;
  if (!KeyIndex(*key, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Comm_free_keyval)(key);
  }
  int real = g_keyvals[i].real, rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_free_keyval)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  g_keyvals[i].freed = true;
  *key = MPI_KEYVAL_INVALID;
  return MPI_SUCCESS;
}

int SetAttrCall(MPI_Comm comm, int key, void* value) {
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_set_attr)(Comms().ToReal(comm), KeyReal(key), value);
  }
  int i;
  if (rc == MPI_SUCCESS && KeyIndex(key, &i) && Slot(comm) >= 0) SetAttr(Bits(comm), i, value);
  return rc;
}

int GetAttrCall(MPI_Comm comm, int key, void* value, int* flag) {
  Call c;
  Lower l;
  return CAIRN_REAL(MPI_Comm_get_attr)(Comms().ToReal(comm), KeyReal(key), value, flag);
}

int DeleteAttrCall(MPI_Comm comm, int key) {
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_delete_attr)(Comms().ToReal(comm), KeyReal(key));
  }
  int i;
  if (rc == MPI_SUCCESS && KeyIndex(key, &i)) DropAttr(Bits(comm), i);
  return rc;
}

}  // namespace

ErrhTable& Errhs() { return g_errhs; }

void OnNewComm(MPI_Comm parent_v, MPI_Comm new_v) {
  const long p = Slot(parent_v), n = Slot(new_v);
  if (n < 0) return;
  g_errh_set[n] = p >= 0 && g_errh_set[p];
  if (g_errh_set[n]) g_errh[n] = g_errh[p];
  g_named[n] = false;
}

void OnCommDup(MPI_Comm parent_v, MPI_Comm new_v) {
  (void)parent_v;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  const MPI_Comm real = Comms().ToReal(new_v);
  if (real == MPI_COMM_NULL || Slot(new_v) < 0) return;
  for (int i = 0; i < g_nkeyvals; ++i) {
    if (!g_keyvals[i].used) continue;
    void* value = nullptr;
    int flag = 0;
    {
      Lower l;
      CAIRN_REAL(MPI_Comm_get_attr)(real, g_keyvals[i].real, &value, &flag);
    }
    if (flag) SetAttr(Bits(new_v), i, value);
  }
}

void OnCommFree(MPI_Comm v) {
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  const uint64_t b = Bits(v);
  for (size_t i = 0; i < g_nattrs; ++i) {
    if (g_attrs[i].used && g_attrs[i].comm == b) g_attrs[i].used = false;
  }
  while (g_nattrs > 0 && !g_attrs[g_nattrs - 1].used) --g_nattrs;
  const long s = Slot(v);
  if (s >= 0) {
    g_errh_set[s] = false;
    g_named[s] = false;
  }
}

// Runs inside the lower half, under the object lock, after the recipes (objects.cc).
bool ReplayState(char* err, size_t err_len) {
  // Keyvals that are still usable or still hold attributes.
  for (int i = 0; i < g_nkeyvals; ++i) {
    Keyval& k = g_keyvals[i];
    if (!k.used) continue;
    bool needed = !k.freed;
    for (size_t a = 0; a < g_nattrs && !needed; ++a)
      needed = g_attrs[a].used && g_attrs[a].key == i;
    if (!needed) {
      k.used = false;
      continue;
    }
    const int rc = CAIRN_REAL(MPI_Comm_create_keyval)(k.copy, k.del, &k.real, k.extra);
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "creating MPI keyval %d again failed: %d", i, rc);
      return false;
    }
  }
  for (size_t a = 0; a < g_nattrs; ++a) {
    const Attr& at = g_attrs[a];
    if (!at.used) continue;
    const MPI_Comm real = Comms().ToReal(FromBits<MPI_Comm>(at.comm));
    if (real == MPI_COMM_NULL) continue;
    const int rc = CAIRN_REAL(MPI_Comm_set_attr)(real, g_keyvals[at.key].real, at.value);
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "setting an MPI attribute again failed: %d", rc);
      return false;
    }
  }
  for (int i = 0; i < g_nkeyvals; ++i) {
    Keyval& k = g_keyvals[i];
    if (k.used && k.freed) {
      int real = k.real;
      CAIRN_REAL(MPI_Comm_free_keyval)(&real);
    }
  }
  for (size_t s = 0; s < kSlots; ++s) {
    MPI_Comm real = s == kMaxComms       ? MPI_COMM_WORLD
                    : s == kMaxComms + 1 ? MPI_COMM_SELF
                    : Comms().Used(s)    ? Comms().Real(s)
                                         : MPI_COMM_NULL;
    if (real == MPI_COMM_NULL) continue;
    if (g_errh_set[s]) {
      const int rc = CAIRN_REAL(MPI_Comm_set_errhandler)(real, ErrhReal(g_errh[s]));
      if (rc != MPI_SUCCESS) {
        std::snprintf(err, err_len, "setting an MPI error handler again failed: %d", rc);
        return false;
      }
    }
    if (g_named[s]) CAIRN_REAL(MPI_Comm_set_name)(real, g_name[s]);
  }
  RestartClock();
  return true;
}

}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

// MPI_Keyval_* and MPI_Attr_* are deprecated (still in MPI-3/4 and in both libraries).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

// ------------------------------------------------------------------ keyvals and attributes
CAIRN_API int MPI_Comm_create_keyval(MPI_Comm_copy_attr_function* copy,
                                     MPI_Comm_delete_attr_function* del, int* key, void* extra) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_create_keyval)(copy, del, key, extra);
  return CreateKeyval(copy, del, key, extra);
}
CAIRN_PMPI(MPI_Comm_create_keyval)

CAIRN_API int MPI_Keyval_create(MPI_Copy_function* copy, MPI_Delete_function* del, int* key,
                                void* extra) {
  if (FromLower()) return CAIRN_REAL(MPI_Keyval_create)(copy, del, key, extra);
  return CreateKeyval(reinterpret_cast<MPI_Comm_copy_attr_function*>(copy),
                      reinterpret_cast<MPI_Comm_delete_attr_function*>(del), key, extra);
}
CAIRN_PMPI(MPI_Keyval_create)

CAIRN_API int MPI_Comm_free_keyval(int* key) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_free_keyval)(key);
  return FreeKeyval(key);
}
CAIRN_PMPI(MPI_Comm_free_keyval)

CAIRN_API int MPI_Keyval_free(int* key) {
  if (FromLower()) return CAIRN_REAL(MPI_Keyval_free)(key);
  return FreeKeyval(key);
}
CAIRN_PMPI(MPI_Keyval_free)

CAIRN_API int MPI_Comm_set_attr(MPI_Comm comm, int key, void* value) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_set_attr)(comm, key, value);
  return SetAttrCall(comm, key, value);
}
CAIRN_PMPI(MPI_Comm_set_attr)

CAIRN_API int MPI_Attr_put(MPI_Comm comm, int key, void* value) {
  if (FromLower()) return CAIRN_REAL(MPI_Attr_put)(comm, key, value);
  return SetAttrCall(comm, key, value);
}
CAIRN_PMPI(MPI_Attr_put)

CAIRN_API int MPI_Comm_get_attr(MPI_Comm comm, int key, void* value, int* flag) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_get_attr)(comm, key, value, flag);
  return GetAttrCall(comm, key, value, flag);
}
CAIRN_PMPI(MPI_Comm_get_attr)

CAIRN_API int MPI_Attr_get(MPI_Comm comm, int key, void* value, int* flag) {
  if (FromLower()) return CAIRN_REAL(MPI_Attr_get)(comm, key, value, flag);
  return GetAttrCall(comm, key, value, flag);
}
CAIRN_PMPI(MPI_Attr_get)

CAIRN_API int MPI_Comm_delete_attr(MPI_Comm comm, int key) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_delete_attr)(comm, key);
  return DeleteAttrCall(comm, key);
}
CAIRN_PMPI(MPI_Comm_delete_attr)

CAIRN_API int MPI_Attr_delete(MPI_Comm comm, int key) {
  if (FromLower()) return CAIRN_REAL(MPI_Attr_delete)(comm, key);
  return DeleteAttrCall(comm, key);
}
CAIRN_PMPI(MPI_Attr_delete)

// ------------------------------------------------------------------ error handlers
CAIRN_API int MPI_Comm_create_errhandler(MPI_Comm_errhandler_function* fn, MPI_Errhandler* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_create_errhandler)(fn, out);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  MPI_Errhandler real = MPI_ERRHANDLER_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_create_errhandler)(fn, &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  long i = g_errhs.Add(real);
  if (i < 0) return MPI_ERR_INTERN;
  LogRecipe({RecipeOp::kErrhCreate,
             static_cast<uint32_t>(i),
             {0, 0},
             {static_cast<int64_t>(reinterpret_cast<intptr_t>(fn)), 0, 0, 0},
             0,
             0});
  *out = g_errhs.Virtual(static_cast<size_t>(i));
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_create_errhandler)

CAIRN_API int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler e) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_set_errhandler)(comm, e);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_set_errhandler)(Comms().ToReal(comm), ErrhReal(e));
  }
  if (rc != MPI_SUCCESS) return rc;
  if (const long s = Slot(comm); s >= 0) {
    size_t i;
    const bool known = Predefined(e) || g_errhs.Index(e, &i);
    g_errh[s] = e;
    g_errh_set[s] = known;
    if (!known) NoteUnsupported("MPI_Comm_set_errhandler");
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_set_errhandler)

CAIRN_API int MPI_Comm_get_errhandler(MPI_Comm comm, MPI_Errhandler* e) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_get_errhandler)(comm, e);
  Call c;
  {
    std::lock_guard<std::recursive_mutex> g(ObjectLock());
    if (const long s = Slot(comm); s >= 0 && g_errh_set[s]) {
      *e = g_errh[s];  // no reference taken: MPI_Errhandler_free of it only drops the handle
      return MPI_SUCCESS;
    }
  }
  MPI_Errhandler real = MPI_ERRHANDLER_NULL;
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_get_errhandler)(Comms().ToReal(comm), &real);
  }
  if (rc != MPI_SUCCESS) return rc;
  *e = gen::OutErrh(real, "MPI_Comm_get_errhandler", false);
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_get_errhandler)

CAIRN_API int MPI_Errhandler_free(MPI_Errhandler* e) {
  if (FromLower()) return CAIRN_REAL(MPI_Errhandler_free)(e);
  Call c;
  size_t i;
  if (g_errhs.Index(*e, &i) || Predefined(*e)) {
    *e = MPI_ERRHANDLER_NULL;
    return MPI_SUCCESS;
  }
  Lower l;
  return CAIRN_REAL(MPI_Errhandler_free)(e);
}
CAIRN_PMPI(MPI_Errhandler_free)

#ifndef MPI_Errhandler_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Errhandler_c2f(MPI_Errhandler e) {
  if (FromLower()) return CAIRN_REAL(MPI_Errhandler_c2f)(e);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (g_errhs.Index(e, &i)) return ErrhTable::FortranOf(i);
  return CAIRN_REAL(MPI_Errhandler_c2f)(e);
}
CAIRN_PMPI(MPI_Errhandler_c2f)
#endif

#ifndef MPI_Errhandler_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Errhandler MPI_Errhandler_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Errhandler_f2c)(f);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (ErrhTable::IndexOfFortran(f, &i) && g_errhs.Used(i)) return g_errhs.Virtual(i);
  return CAIRN_REAL(MPI_Errhandler_f2c)(f);
}
CAIRN_PMPI(MPI_Errhandler_f2c)
#endif

// ------------------------------------------------------------------ names
CAIRN_API int MPI_Comm_set_name(MPI_Comm comm, const char* name) {
  if (FromLower()) return CAIRN_REAL(MPI_Comm_set_name)(comm, name);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Comm_set_name)(Comms().ToReal(comm), name);
  }
  if (rc != MPI_SUCCESS) return rc;
  if (const long s = Slot(comm); s >= 0) {
    std::snprintf(g_name[s], sizeof g_name[s], "%s", name);
    g_named[s] = true;
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Comm_set_name)

// ------------------------------------------------------------------ user error classes
CAIRN_API int MPI_Add_error_class(int* cls) {
  if (FromLower()) return CAIRN_REAL(MPI_Add_error_class)(cls);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Add_error_class)(cls);
  }
  if (rc == MPI_SUCCESS) LogRecipe({RecipeOp::kAddErrorClass, 0, {0, 0}, {0, *cls, 0, 0}, 0, 0});
  return rc;
}
CAIRN_PMPI(MPI_Add_error_class)

CAIRN_API int MPI_Add_error_code(int cls, int* code) {
  if (FromLower()) return CAIRN_REAL(MPI_Add_error_code)(cls, code);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Add_error_code)(cls, code);
  }
  if (rc == MPI_SUCCESS) LogRecipe({RecipeOp::kAddErrorCode, 0, {0, 0}, {cls, *code, 0, 0}, 0, 0});
  return rc;
}
CAIRN_PMPI(MPI_Add_error_code)

CAIRN_API int MPI_Add_error_string(int code, const char* text) {
  if (FromLower()) return CAIRN_REAL(MPI_Add_error_string)(code, text);
  Call c;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Add_error_string)(code, text);
  }
  if (rc == MPI_SUCCESS) {
    LogRecipe({RecipeOp::kAddErrorString, 0, {0, 0}, {code, 0, 0, 0}, 0, 0}, text,
              std::strlen(text) + 1);
  }
  return rc;
}
CAIRN_PMPI(MPI_Add_error_string)
