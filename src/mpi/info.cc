// MPI_Info objects across a restart (recipes.h: Infos): virtual handles; their keys and values
// are read at every checkpoint (SaveInfos) and set again on new objects at restart
// (ReplayInfos), so an info the program keeps stays valid with the same contents.
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"

namespace cairn::mpi {
namespace {

InfoTable g_infos;
// The keys and values of each live info at the last checkpoint.
InfoPairs g_contents[kMaxInfos];

}  // namespace

InfoTable& Infos() { return g_infos; }

int InfoContents(MPI_Info real, InfoPairs* kv) {
  kv->clear();
  int nkeys = 0;
  int rc = CAIRN_REAL(MPI_Info_get_nkeys)(real, &nkeys);
  for (int k = 0; rc == MPI_SUCCESS && k < nkeys; ++k) {
    char key[MPI_MAX_INFO_KEY + 1] = {};
    int len = 0, flag = 0;
    rc = CAIRN_REAL(MPI_Info_get_nthkey)(real, k, key);
    if (rc == MPI_SUCCESS) rc = CAIRN_REAL(MPI_Info_get_valuelen)(real, key, &len, &flag);
    if (rc != MPI_SUCCESS || !flag) continue;
    std::string value(static_cast<size_t>(len) + 1, '\0');
    rc = CAIRN_REAL(MPI_Info_get)(real, key, len + 1, value.data(), &flag);
    value.resize(static_cast<size_t>(len));
    if (rc == MPI_SUCCESS && flag) kv->emplace_back(key, value);
  }
  return rc;
}

int MakeInfo(const InfoPairs& kv, MPI_Info* real) {
  *real = MPI_INFO_NULL;
  int rc = CAIRN_REAL(MPI_Info_create)(real);
  if (rc != MPI_SUCCESS) {
    *real = MPI_INFO_NULL;
    return rc;
  }
  for (auto& [k, v] : kv) {  // every key; the first error is the result
    const int set = CAIRN_REAL(MPI_Info_set)(*real, k.c_str(), v.c_str());
    if (rc == MPI_SUCCESS) rc = set;
  }
  return rc;
}

bool SaveInfos(char* err, size_t err_len) {
  for (size_t i = 0; i < g_infos.Limit(); ++i) {
    if (!g_infos.Used(i)) continue;
    const int rc = InfoContents(g_infos.Real(i), &g_contents[i]);
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "reading an MPI_Info object's keys failed (%d)", rc);
      return false;
    }
  }
  return true;
}

bool ReplayInfos(char* err, size_t err_len) {
  for (size_t i = 0; i < g_infos.Limit(); ++i) {
    if (!g_infos.Used(i)) continue;
    MPI_Info real = MPI_INFO_NULL;
    const int rc = MakeInfo(g_contents[i], &real);
    if (rc != MPI_SUCCESS) {
      std::snprintf(err, err_len, "making an MPI_Info object again failed (%d)", rc);
      return false;
    }
    g_infos.SetReal(i, real);
  }
  return true;
}

namespace gen {

MPI_Info OutInfo(MPI_Info real, const char* fn) {
  if (real == MPI_INFO_NULL) return real;
#ifdef MPI_INFO_ENV
  if (real == MPI_INFO_ENV) return real;
#endif
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  const long i = g_infos.Add(real);
  if (i < 0) {
    NoteUnsupported(fn);
    return real;
  }
  g_contents[i].clear();
  return g_infos.Virtual(static_cast<size_t>(i));
}

}  // namespace gen
}  // namespace cairn::mpi

using namespace cairn::mpi;  // NOLINT

CAIRN_API int MPI_Info_free(MPI_Info* info) {
  if (FromLower()) return CAIRN_REAL(MPI_Info_free)(info);
  Call c;
  size_t i;
  if (!g_infos.Index(*info, &i)) {
    Lower l;
    return CAIRN_REAL(MPI_Info_free)(info);
  }
  MPI_Info real = g_infos.Real(i);
  int rc;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Info_free)(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  g_contents[i].clear();
  g_infos.SetReal(i, MPI_INFO_NULL);
  g_infos.Free(i);
  *info = MPI_INFO_NULL;
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Info_free)

#ifndef MPI_Info_c2f  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Fint MPI_Info_c2f(MPI_Info info) {
  if (FromLower()) return CAIRN_REAL(MPI_Info_c2f)(info);
  Call c;  // not before a restarted lower half is up
  size_t i;
  if (g_infos.Index(info, &i)) return InfoTable::FortranOf(i);
  Lower l;
  return CAIRN_REAL(MPI_Info_c2f)(info);
}
CAIRN_PMPI(MPI_Info_c2f)
#endif

#ifndef MPI_Info_f2c  // MPICH: a macro (Fortran and C handles are equal)
CAIRN_API MPI_Info MPI_Info_f2c(MPI_Fint f) {
  if (FromLower()) return CAIRN_REAL(MPI_Info_f2c)(f);
  Call c;
  size_t i;
  if (InfoTable::IndexOfFortran(f, &i) && g_infos.Used(i)) return g_infos.Virtual(i);
  Lower l;
  return CAIRN_REAL(MPI_Info_f2c)(f);
}
CAIRN_PMPI(MPI_Info_f2c)
#endif
