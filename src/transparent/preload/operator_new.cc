// The library's own operator new and delete, over malloc and free (wrappers.cc), so that the
// library's C++ code never calls a program's replacement of them. A program may define its
// own global operator new (SPAdes' spades-hammer does, over its own allocator, whose
// per-thread state the checkpoint thread of a restarted process does not have: it crashed
// there while writing the next image). These definitions are local to libcairn_preload.so
// (preload.map): the library's references bind to them at link time; the program and every
// other library keep theirs. They call the library's own malloc and free (wrappers.cc; bound
// there by -Bsymbolic-functions even when the program defines malloc too), so an allocation
// on the library's own threads goes to its private heap and never touches the program's.
#include <cstdlib>
#include <new>

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
