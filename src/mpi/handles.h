// Virtual MPI handles: what the program holds instead of the MPI library's own handles, so that
// every handle stays valid when a restart brings up a new MPI library (a new lower half) whose
// objects live elsewhere.
//
// Contract:
//   - One Table per handle kind. Add(real) gives a new virtual handle; ToReal(v) translates a
//     virtual handle and passes any other value (the library's predefined handles such as
//     MPI_COMM_WORLD or MPI_INT, and null handles) through unchanged; SetReal() rebinds an entry
//     at restart; Free() recycles it.
//   - Virtual values never equal a predefined or null handle of either ABI: with pointer
//     handles (Open MPI) a virtual handle is the address of a byte in this table's own marker
//     array; with integer handles (MPICH) it is 0xFC000000 | kind << 20 | index, outside the
//     ranges MPICH uses for builtin and null handles.
//   - Fortran: FortranOf(index) / IndexOfFortran(f) map an entry to the integer a Fortran
//     program holds (0x10000000 | kind << 20 | index), distinct from every predefined Fortran
//     handle.
//   - Tables live in the upper half (static storage), so they are part of every image.
//     Not thread-safe by themselves: callers serialize with the shim's object lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace cairn::mpi {

template <typename H, int kKind, size_t kMax>
class Table {
 public:
  static constexpr uint32_t kIntTag = 0xFC000000u | (static_cast<uint32_t>(kKind) << 20);
  static constexpr int32_t kFortranTag = 0x10000000 | (kKind << 20);
  static_assert(kMax <= (1u << 20));

  H Virtual(size_t i) const {
    if constexpr (std::is_pointer_v<H>) {
      return reinterpret_cast<H>(const_cast<char*>(&marks_[i]));
    } else {
      return static_cast<H>(kIntTag | static_cast<uint32_t>(i));
    }
  }

  bool Index(H v, size_t* i) const {
    if constexpr (std::is_pointer_v<H>) {
      const auto p = reinterpret_cast<uintptr_t>(v);
      const auto b = reinterpret_cast<uintptr_t>(&marks_[0]);
      if (p < b || p >= b + kMax) return false;
      *i = p - b;
    } else {
      const auto u = static_cast<uint32_t>(v);
      if ((u & 0xFFF00000u) != kIntTag) return false;
      *i = u & 0xFFFFFu;
      if (*i >= kMax) return false;
    }
    return used_[*i];
  }

  H ToReal(H v) const {
    size_t i;
    return Index(v, &i) ? real_[i] : v;
  }

  // -1 when the table is full.
  long Add(H real) {
    size_t i;
    if (free_top_ > 0) {
      i = free_[--free_top_];
    } else if (next_ < kMax) {
      i = next_++;
    } else {
      return -1;
    }
    used_[i] = true;
    real_[i] = real;
    return static_cast<long>(i);
  }

  void Free(size_t i) {
    if (i >= kMax || !used_[i]) return;
    used_[i] = false;
    free_[free_top_++] = static_cast<uint32_t>(i);
  }

  bool Used(size_t i) const { return i < kMax && used_[i]; }
  H Real(size_t i) const { return real_[i]; }
  void SetReal(size_t i, H real) { real_[i] = real; }
  size_t Limit() const { return next_; }

  static int32_t FortranOf(size_t i) { return kFortranTag | static_cast<int32_t>(i); }
  static bool IndexOfFortran(int32_t f, size_t* i) {
    if ((f & ~0xFFFFF) != kFortranTag) return false;
    *i = static_cast<size_t>(f & 0xFFFFF);
    return true;
  }

 private:
  char marks_[kMax] = {};
  bool used_[kMax] = {};
  H real_[kMax] = {};
  uint32_t free_[kMax] = {};
  size_t free_top_ = 0;
  size_t next_ = 0;
};

}  // namespace cairn::mpi
