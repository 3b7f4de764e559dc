// Interposed calls that record what the lower half of a split process maps and opens
// (lower_half.h): mmap/munmap and the calls that create descriptors. Outside a lower half
// they only clear a descriptor's mark (its number was reused by the program).
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "transparent/preload/lower_api.h"
#include "transparent/preload/lower_half.h"

#define CAIRN_PRELOAD_API extern "C" __attribute__((visibility("default")))

namespace lw = cairn::preload::lower;

namespace {

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

inline int Fd(int fd) {
  if (fd >= 0 && lw::Possible()) lw::NoteFd(fd, lw::Inside());
  return fd;
}

}  // namespace

CAIRN_PRELOAD_API void* mmap(void* addr, size_t len, int prot, int flags, int fd,
                             off_t off) noexcept {
  long r = ::syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  void* p = reinterpret_cast<void*>(r);
  if (p != MAP_FAILED && lw::Possible() && lw::Inside()) lw::NoteMap(p, len);
  return p;
}

CAIRN_PRELOAD_API void* mmap64(void* addr, size_t len, int prot, int flags, int fd,
                               off_t off) noexcept {
  return mmap(addr, len, prot, flags, fd, off);
}

CAIRN_PRELOAD_API int munmap(void* addr, size_t len) noexcept {
  int r = static_cast<int>(::syscall(SYS_munmap, addr, len));
  if (r == 0 && lw::Possible()) lw::NoteUnmap(addr, len);
  return r;
}

CAIRN_PRELOAD_API int open(const char* path, int flags, ...) {
  static auto real = Next<int (*)(const char*, int, ...)>("open");
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return Fd(real(path, flags, mode));
}

CAIRN_PRELOAD_API int open64(const char* path, int flags, ...) {
  static auto real = Next<int (*)(const char*, int, ...)>("open64");
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return Fd(real(path, flags, mode));
}

CAIRN_PRELOAD_API int openat(int dir, const char* path, int flags, ...) {
  static auto real = Next<int (*)(int, const char*, int, ...)>("openat");
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return Fd(real(dir, path, flags, mode));
}

CAIRN_PRELOAD_API int socket(int domain, int type, int protocol) noexcept {
  static auto real = Next<int (*)(int, int, int)>("socket");
  return Fd(real(domain, type, protocol));
}

CAIRN_PRELOAD_API int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
  static auto real = Next<int (*)(int, int, int, int*)>("socketpair");
  int r = real(domain, type, protocol, sv);
  if (r == 0) {
    Fd(sv[0]);
    Fd(sv[1]);
  }
  return r;
}

CAIRN_PRELOAD_API int accept(int s, struct sockaddr* a, socklen_t* l) {
  static auto real = Next<int (*)(int, struct sockaddr*, socklen_t*)>("accept");
  return Fd(real(s, a, l));
}

CAIRN_PRELOAD_API int accept4(int s, struct sockaddr* a, socklen_t* l, int flags) {
  static auto real = Next<int (*)(int, struct sockaddr*, socklen_t*, int)>("accept4");
  return Fd(real(s, a, l, flags));
}

CAIRN_PRELOAD_API int eventfd(unsigned int initval, int flags) noexcept {
  static auto real = Next<int (*)(unsigned int, int)>("eventfd");
  return Fd(real(initval, flags));
}

CAIRN_PRELOAD_API int epoll_create(int size) noexcept {
  static auto real = Next<int (*)(int)>("epoll_create");
  return Fd(real(size));
}

CAIRN_PRELOAD_API int epoll_create1(int flags) noexcept {
  static auto real = Next<int (*)(int)>("epoll_create1");
  return Fd(real(flags));
}

CAIRN_PRELOAD_API int pipe(int fds[2]) noexcept {
  static auto real = Next<int (*)(int*)>("pipe");
  int r = real(fds);
  if (r == 0) {
    Fd(fds[0]);
    Fd(fds[1]);
  }
  return r;
}

CAIRN_PRELOAD_API int pipe2(int fds[2], int flags) noexcept {
  static auto real = Next<int (*)(int*, int)>("pipe2");
  int r = real(fds, flags);
  if (r == 0) {
    Fd(fds[0]);
    Fd(fds[1]);
  }
  return r;
}

CAIRN_PRELOAD_API int dup(int fd) noexcept {
  static auto real = Next<int (*)(int)>("dup");
  return Fd(real(fd));
}

CAIRN_PRELOAD_API int dup2(int fd, int to) noexcept {
  static auto real = Next<int (*)(int, int)>("dup2");
  return Fd(real(fd, to));
}

CAIRN_PRELOAD_API int dup3(int fd, int to, int flags) noexcept {
  static auto real = Next<int (*)(int, int, int)>("dup3");
  return Fd(real(fd, to, flags));
}

CAIRN_PRELOAD_API int memfd_create(const char* name, unsigned int flags) noexcept {
  static auto real = Next<int (*)(const char*, unsigned int)>("memfd_create");
  return Fd(real(name, flags));
}

CAIRN_PRELOAD_API int shm_open(const char* name, int flags, mode_t mode) {
  static auto real = Next<int (*)(const char*, int, mode_t)>("shm_open");
  return Fd(real(name, flags, mode));
}

// A library the lower half loads (an MPI plugin): its writable data is recorded as it is right
// after loading, so that a restart can bring it back to that state (lower_api.h).
CAIRN_PRELOAD_API void* dlopen(const char* file, int mode) {
  static auto real = Next<void* (*)(const char*, int)>("dlopen");
  lw::BeginLoading();
  void* h = real(file, mode);
  lw::EndLoading();
  if (h != nullptr && lw::Inside()) cairn_lower_snapshot_libs(nullptr);
  return h;
}
