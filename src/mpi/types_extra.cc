// Datatype constructors beyond objects.cc's, with recipes (recipes.h): indexed, hindexed,
// indexed_block, hindexed_block, struct, dup, subarray, darray, the Fortran 90 parameterized
// types, and MPI_Type_get_contents (whose derived datatypes become dups of the program's).
#include <cstring>
#include <mutex>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/recipes.h"
#include "mpi/shim.h"

using namespace cairn::mpi;  // NOLINT

namespace {

// Bytes of arrays laid end to end for a recipe's arena.
struct Blob {
  std::vector<char> bytes;
  template <typename T>
  void Add(const T* p, size_t n) {
    const size_t at = bytes.size();
    bytes.resize(at + n * sizeof(T));
    if (n > 0) std::memcpy(bytes.data() + at, p, n * sizeof(T));
  }
  void AddTypes(const MPI_Datatype* t, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t b = Bits(t[i]);
      Add(&b, 1);
    }
  }
};

MPI_Datatype T(MPI_Datatype t) { return Types().ToReal(t); }

// Runs `make` (the real constructor, given the place for the real result) in the lower half and
// adds the result with its recipe.
template <typename Fn>
int Construct(RecipeOp op, MPI_Datatype* out, uint64_t h0, int64_t v0, int64_t v1, int64_t v2,
              int64_t v3, const Blob& blob, Fn&& make) {
  Call c;
  MPI_Datatype real = MPI_DATATYPE_NULL;
  int rc;
  {
    Lower l;
    rc = make(&real);
  }
  if (rc != MPI_SUCCESS) return rc;
  return MakeType(op, real, out, h0, v0, v1, v2, v3, blob.bytes.data(), blob.bytes.size());
}

}  // namespace

CAIRN_API int MPI_Type_indexed(int count, const int blens[], const int displs[], MPI_Datatype old,
                               MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_indexed)(count, blens, displs, old, out);
  Blob b;
  b.Add(blens, static_cast<size_t>(count));
  b.Add(displs, static_cast<size_t>(count));
  return Construct(RecipeOp::kTypeIndexed, out, Bits(old), count, 0, 0, 0, b, [&](MPI_Datatype* r) {
    return CAIRN_REAL(MPI_Type_indexed)(count, blens, displs, T(old), r);
  });
}
CAIRN_PMPI(MPI_Type_indexed)

CAIRN_API int MPI_Type_create_hindexed(int count, const int blens[], const MPI_Aint displs[],
                                       MPI_Datatype old, MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_hindexed)(count, blens, displs, old, out);
  Blob b;
  b.Add(blens, static_cast<size_t>(count));
  b.Add(displs, static_cast<size_t>(count));
  return Construct(RecipeOp::kTypeHindexed, out, Bits(old), count, 0, 0, 0, b,
                   [&](MPI_Datatype* r) {
                     return CAIRN_REAL(MPI_Type_create_hindexed)(count, blens, displs, T(old), r);
                   });
}
CAIRN_PMPI(MPI_Type_create_hindexed)

CAIRN_API int MPI_Type_create_indexed_block(int count, int blen, const int displs[],
                                            MPI_Datatype old, MPI_Datatype* out) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Type_create_indexed_block)(count, blen, displs, old, out);
  }
  Blob b;
  b.Add(displs, static_cast<size_t>(count));
  return Construct(
      RecipeOp::kTypeIndexedBlock, out, Bits(old), count, blen, 0, 0, b, [&](MPI_Datatype* r) {
        return CAIRN_REAL(MPI_Type_create_indexed_block)(count, blen, displs, T(old), r);
      });
}
CAIRN_PMPI(MPI_Type_create_indexed_block)

CAIRN_API int MPI_Type_create_hindexed_block(int count, int blen, const MPI_Aint displs[],
                                             MPI_Datatype old, MPI_Datatype* out) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Type_create_hindexed_block)(count, blen, displs, old, out);
  }
  Blob b;
  b.Add(displs, static_cast<size_t>(count));
  return Construct(
      RecipeOp::kTypeHindexedBlock, out, Bits(old), count, blen, 0, 0, b, [&](MPI_Datatype* r) {
        return CAIRN_REAL(MPI_Type_create_hindexed_block)(count, blen, displs, T(old), r);
      });
}
CAIRN_PMPI(MPI_Type_create_hindexed_block)

CAIRN_API int MPI_Type_create_struct(int count, const int blens[], const MPI_Aint displs[],
                                     const MPI_Datatype types[], MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_struct)(count, blens, displs, types, out);
  const size_t n = count > 0 ? static_cast<size_t>(count) : 0;
  Blob b;
  b.Add(blens, n);
  b.Add(displs, n);
  b.AddTypes(types, n);
  std::vector<MPI_Datatype> real_types(n);
  for (size_t i = 0; i < n; ++i) real_types[i] = T(types[i]);
  return Construct(RecipeOp::kTypeStruct, out, 0, count, 0, 0, 0, b, [&](MPI_Datatype* r) {
    return CAIRN_REAL(MPI_Type_create_struct)(count, blens, displs, real_types.data(), r);
  });
}
CAIRN_PMPI(MPI_Type_create_struct)

CAIRN_API int MPI_Type_dup(MPI_Datatype old, MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_dup)(old, out);
  return Construct(RecipeOp::kTypeDup, out, Bits(old), 0, 0, 0, 0, Blob{},
                   [&](MPI_Datatype* r) { return CAIRN_REAL(MPI_Type_dup)(T(old), r); });
}
CAIRN_PMPI(MPI_Type_dup)

CAIRN_API int MPI_Type_create_subarray(int ndims, const int sizes[], const int subsizes[],
                                       const int starts[], int order, MPI_Datatype old,
                                       MPI_Datatype* out) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Type_create_subarray)(ndims, sizes, subsizes, starts, order, old, out);
  }
  const size_t n = ndims > 0 ? static_cast<size_t>(ndims) : 0;
  Blob b;
  b.Add(sizes, n);
  b.Add(subsizes, n);
  b.Add(starts, n);
  return Construct(RecipeOp::kTypeSubarray, out, Bits(old), ndims, order, 0, 0, b,
                   [&](MPI_Datatype* r) {
                     return CAIRN_REAL(MPI_Type_create_subarray)(ndims, sizes, subsizes, starts,
                                                                 order, T(old), r);
                   });
}
CAIRN_PMPI(MPI_Type_create_subarray)

CAIRN_API int MPI_Type_create_darray(int size, int rank, int ndims, const int gsizes[],
                                     const int distribs[], const int dargs[], const int psizes[],
                                     int order, MPI_Datatype old, MPI_Datatype* out) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Type_create_darray)(size, rank, ndims, gsizes, distribs, dargs, psizes,
                                              order, old, out);
  }
  const size_t n = ndims > 0 ? static_cast<size_t>(ndims) : 0;
  Blob b;
  b.Add(gsizes, n);
  b.Add(distribs, n);
  b.Add(dargs, n);
  b.Add(psizes, n);
  return Construct(RecipeOp::kTypeDarray, out, Bits(old), size, rank, ndims, order, b,
                   [&](MPI_Datatype* r) {
                     return CAIRN_REAL(MPI_Type_create_darray)(size, rank, ndims, gsizes, distribs,
                                                               dargs, psizes, order, T(old), r);
                   });
}
CAIRN_PMPI(MPI_Type_create_darray)

CAIRN_API int MPI_Type_create_f90_integer(int r, MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_f90_integer)(r, out);
  return Construct(RecipeOp::kTypeF90Integer, out, 0, 0, r, 0, 0, Blob{},
                   [&](MPI_Datatype* t) { return CAIRN_REAL(MPI_Type_create_f90_integer)(r, t); });
}
CAIRN_PMPI(MPI_Type_create_f90_integer)

CAIRN_API int MPI_Type_create_f90_real(int p, int r, MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_f90_real)(p, r, out);
  return Construct(RecipeOp::kTypeF90Real, out, 0, p, r, 0, 0, Blob{},
                   [&](MPI_Datatype* t) { return CAIRN_REAL(MPI_Type_create_f90_real)(p, r, t); });
}
CAIRN_PMPI(MPI_Type_create_f90_real)

CAIRN_API int MPI_Type_create_f90_complex(int p, int r, MPI_Datatype* out) {
  if (FromLower()) return CAIRN_REAL(MPI_Type_create_f90_complex)(p, r, out);
  return Construct(RecipeOp::kTypeF90Complex, out, 0, p, r, 0, 0, Blob{}, [&](MPI_Datatype* t) {
    return CAIRN_REAL(MPI_Type_create_f90_complex)(p, r, t);
  });
}
CAIRN_PMPI(MPI_Type_create_f90_complex)

// The datatypes it returns are the program's own (the library may return its own handles of
// them, or new references the program must free): predefined ones as they are, the program's
// virtual handle when the library's object is one, else a virtual dup of it (a recipe).
CAIRN_API int MPI_Type_get_contents(MPI_Datatype type, int max_ints, int max_addrs, int max_types,
                                    int ints[], MPI_Aint addrs[], MPI_Datatype types[]) {
  if (FromLower()) {
    return CAIRN_REAL(MPI_Type_get_contents)(type, max_ints, max_addrs, max_types, ints, addrs,
                                             types);
  }
  Call c;
  int rc, ni = 0, na = 0, nd = 0, combiner = MPI_COMBINER_NAMED;
  {
    Lower l;
    rc = CAIRN_REAL(MPI_Type_get_contents)(T(type), max_ints, max_addrs, max_types, ints, addrs,
                                           types);
    if (rc == MPI_SUCCESS)
      rc = CAIRN_REAL(MPI_Type_get_envelope)(T(type), &ni, &na, &nd, &combiner);
  }
  if (rc != MPI_SUCCESS) return rc;
  // Map the library's handles back: by the real handles of the table.
  std::lock_guard<std::recursive_mutex> g(ObjectLock());
  TypeTable& t = Types();
  for (int k = 0; k < nd && k < max_types; ++k) {
    const MPI_Datatype real = types[k];
    int comb = MPI_COMBINER_NAMED;
    {
      Lower l;
      int i1, i2, i3;
      CAIRN_REAL(MPI_Type_get_envelope)(real, &i1, &i2, &i3, &comb);
    }
    if (comb == MPI_COMBINER_NAMED) continue;
    size_t found = t.Limit();
    for (size_t i = 0; i < t.Limit(); ++i) {
      if (t.Used(i) && t.Real(i) == real) {
        found = i;
        break;
      }
    }
    if (found == t.Limit()) {
      types[k] = gen::OutType(real, "MPI_Type_get_contents");
      continue;
    }
    // A new handle the program may free: a dup of the program's type, so that freeing it
    // leaves the original alone. The library's reference is dropped.
    MPI_Datatype dup = MPI_DATATYPE_NULL;
    {
      Lower l;
      rc = CAIRN_REAL(MPI_Type_dup)(real, &dup);
      MPI_Datatype drop = real;
      CAIRN_REAL(MPI_Type_free)(&drop);
    }
    if (rc != MPI_SUCCESS) return rc;
    rc = MakeType(RecipeOp::kTypeDup, dup, &types[k], Bits(t.Virtual(found)), 0);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}
CAIRN_PMPI(MPI_Type_get_contents)
