// See inotify_paths.h.
#include "transparent/preload/inotify_paths.h"

#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace cairn::preload::inotify_paths {
namespace {

constexpr int kEntries = 4096;

struct Entry {
  int fd;  // -1: free
  int wd;
  char path[PATH_MAX];
};

// kEntries, made on first Record; only [0, g_used) was ever written (the rest of the mapping is
// never touched, so it costs neither memory nor image bytes).
Entry* g_table = nullptr;
int g_used = 0;
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;

struct Locked {
  Locked() {
    while (g_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~Locked() { g_lock.clear(std::memory_order_release); }
};

Entry* Lookup(int fd, int wd) {
  for (int i = 0; i < g_used; ++i) {
    if (g_table[i].fd == fd && g_table[i].wd == wd) return &g_table[i];
  }
  return nullptr;
}

}  // namespace

void Record(int fd, int wd, const char* path) {
  if (path == nullptr) return;
  Locked lock;
  if (g_table == nullptr) {
    void* p = ::mmap(nullptr, sizeof(Entry) * kEntries, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    g_table = static_cast<Entry*>(p);
  }
  Entry* e = Lookup(fd, wd);
  for (int i = 0; e == nullptr && i < g_used; ++i) {
    if (g_table[i].fd < 0) e = &g_table[i];
  }
  if (e == nullptr && g_used < kEntries) e = &g_table[g_used++];
  if (e == nullptr) return;  // full: the watch's path stays unknown
  char full[PATH_MAX];
  size_t at = 0;
  if (path[0] != '/') {
    if (::getcwd(full, sizeof full) == nullptr) return;
    at = std::strlen(full);
    if (at == 0 || full[at - 1] != '/') full[at++] = '/';
  }
  const size_t len = std::strlen(path);
  if (at + len + 1 > sizeof full) return;
  std::memcpy(full + at, path, len + 1);
  std::memcpy(e->path, full, at + len + 1);
  e->fd = fd;
  e->wd = wd;
}

void Forget(int fd, int wd) {
  Locked lock;
  if (Entry* e = Lookup(fd, wd)) e->fd = -1;
}

std::string Find(int fd, int wd) {
  Locked lock;
  const Entry* e = Lookup(fd, wd);
  return e == nullptr ? std::string() : std::string(e->path);
}

}  // namespace cairn::preload::inotify_paths
