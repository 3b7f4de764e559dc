// See lower_half.h and lower_api.h.
#include "transparent/preload/lower_half.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/log.h"
#include "transparent/preload/gate.h"
#include "transparent/preload/lower_api.h"
#include "transparent/preload/private_heap.h"

namespace cairn::preload::lower {
namespace {

__thread int tl_inside __attribute__((tls_model("initial-exec"))) = 0;
__thread bool tl_lower_thread __attribute__((tls_model("initial-exec"))) = false;

// A tiny spin lock: the tables are touched from wrappers that may run in any context.
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
struct SpinGuard {
  SpinGuard() {
    while (g_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~SpinGuard() { g_lock.clear(std::memory_order_release); }
};

struct Range {
  uintptr_t start, end;
};
constexpr size_t kMaxRanges = 4096;
Range g_ranges[kMaxRanges];
size_t g_nranges = 0;
bool g_overflow_logged = false;

// The executable segments of the lower half's libraries: a malloc called from there is the
// lower half's own (CallerIsLower).
constexpr size_t kMaxText = 1024;
Range g_text[kMaxText];
std::atomic<size_t> g_ntext{0};

constexpr int kMaxFd = 65536;
std::atomic<uint64_t> g_fd_bits[kMaxFd / 64];

}  // namespace

bool Inside() { return tl_inside > 0 || tl_lower_thread; }

namespace detail {
std::atomic<int> g_possible{-1};
bool ReadPossible() {
  const char* roots = std::getenv("CAIRN_LOWER_ROOTS");
  const bool yes = roots != nullptr && *roots != '\0';
  g_possible.store(yes ? 1 : 0, std::memory_order_relaxed);
  return yes;
}
}  // namespace detail

void MarkThreadLower() { tl_lower_thread = true; }

namespace {
__thread int tl_loading __attribute__((tls_model("initial-exec"))) = 0;
}

void BeginLoading() { ++tl_loading; }
void EndLoading() { --tl_loading; }

namespace {
// The range the calling thread's last lower-half caller was in: most calls come from the
// same library (the MPI library's own allocations, call after call).
__thread size_t tl_last_text __attribute__((tls_model("initial-exec"))) = 0;
}  // namespace

bool CallerIsLower(const void* ret) {
  if (tl_loading > 0) return false;
  const auto a = reinterpret_cast<uintptr_t>(ret);
  const size_t n = g_ntext.load(std::memory_order_acquire);
  if (const size_t last = tl_last_text; last < n) {
    if (a >= g_text[last].start && a < g_text[last].end) return true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a >= g_text[i].start && a < g_text[i].end) {
      tl_last_text = i;
      return true;
    }
  }
  return false;
}

void NoteMap(const void* addr, size_t len) {
  if (addr == nullptr || addr == MAP_FAILED || len == 0) return;
  const uintptr_t s = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t e = (s + len + 4095) & ~uintptr_t{4095};
  SpinGuard g;
  if (g_nranges == kMaxRanges) {
    if (!g_overflow_logged) {
      g_overflow_logged = true;
      log::Warn("preload: more than ", kMaxRanges,
                " lower-half mappings; further ones are saved like the program's memory");
    }
    return;
  }
  g_ranges[g_nranges++] = {s, e};
}

void NoteUnmap(const void* addr, size_t len) {
  if (g_nranges == 0) return;
  const uintptr_t s = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t e = (s + len + 4095) & ~uintptr_t{4095};
  SpinGuard g;
  static Range scratch[kMaxRanges];
  size_t out = 0;
  for (size_t i = 0; i < g_nranges && out < kMaxRanges; ++i) {
    const Range r = g_ranges[i];
    if (r.end <= s || r.start >= e) {
      scratch[out++] = r;
      continue;
    }
    if (r.start < s) scratch[out++] = {r.start, s};
    if (e < r.end && out < kMaxRanges) scratch[out++] = {e, r.end};
  }
  std::memcpy(g_ranges, scratch, out * sizeof(Range));
  g_nranges = out;
}

void FilterMaps(std::vector<transparent::MapRegion>* maps) {
  SpinGuard g;
  if (g_nranges == 0) return;
  auto inside = [](const transparent::MapRegion& m) {
    for (size_t i = 0; i < g_nranges; ++i) {
      if (m.start >= g_ranges[i].start && m.end <= g_ranges[i].end) return true;
    }
    return false;
  };
  maps->erase(std::remove_if(maps->begin(), maps->end(), inside), maps->end());
}

void ForgetOldProcess() {
  SpinGuard g;
  g_nranges = 0;
  for (auto& bits : g_fd_bits) bits.store(0, std::memory_order_relaxed);
}

void NoteFd(int fd, bool inside) {
  if (fd < 0 || fd >= kMaxFd) return;
  const uint64_t bit = uint64_t{1} << (fd % 64);
  if (inside) {
    g_fd_bits[fd / 64].fetch_or(bit, std::memory_order_relaxed);
  } else if (g_fd_bits[fd / 64].load(std::memory_order_relaxed) & bit) {
    g_fd_bits[fd / 64].fetch_and(~bit, std::memory_order_relaxed);
  }
}

bool IsLowerFd(int fd) {
  if (fd < 0 || fd >= kMaxFd) return false;
  return (g_fd_bits[fd / 64].load(std::memory_order_relaxed) >> (fd % 64)) & 1;
}

// ------------------------------------------------------------------ lower-half libraries
namespace {

constexpr size_t kMaxLibs = 512;
struct PristineLib {
  char name[256];   // the loaded object's path
  uintptr_t base;   // dlpi_addr
  uintptr_t start;  // the writable bytes after RELRO
  size_t len;
  unsigned char* copy;  // mmap()ed: part of every image
};
PristineLib g_libs[kMaxLibs];
size_t g_nlibs = 0;

// The objects loaded at the previous snapshot (by load address): an object that appeared
// since was loaded from inside the lower half (the shims snapshot again after such a dlopen).
// (By load address and name: a plugin unloaded meanwhile may have left its address to another.)
struct SeenObj {
  uintptr_t addr;
  uint64_t name_hash;
};
SeenObj g_seen[kMaxLibs];
size_t g_nseen = 0;
bool g_snapshot_done = false;

uint64_t NameHash(std::string_view n) {
  uint64_t h = 1469598103934665603ull;
  for (char c : n) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

bool Seen(uintptr_t addr, std::string_view name) {
  const uint64_t h = NameHash(name);
  for (size_t i = 0; i < g_nseen; ++i) {
    if (g_seen[i].addr == addr && g_seen[i].name_hash == h) return true;
  }
  return false;
}

struct Obj {
  std::string_view name;  // path as loaded
  std::string_view base_name;
  uintptr_t addr;
  const ElfW(Phdr) * phdr;
  int phnum;
  std::vector<std::string_view> needed;
  bool lower = false, upper = false;
};

std::string_view BaseName(std::string_view p) {
  size_t s = p.rfind('/');
  return s == std::string_view::npos ? p : p.substr(s + 1);
}

int Collect(struct dl_phdr_info* info, size_t, void* data) {
  auto* objs = static_cast<std::vector<Obj>*>(data);
  Obj o;
  o.name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  o.base_name = BaseName(o.name);
  o.addr = info->dlpi_addr;
  o.phdr = info->dlpi_phdr;
  o.phnum = info->dlpi_phnum;
  if (o.base_name.starts_with("linux-vdso")) return 0;
  for (int i = 0; i < o.phnum; ++i) {
    if (o.phdr[i].p_type != PT_DYNAMIC) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(o.addr + o.phdr[i].p_vaddr);
    const char* strtab = nullptr;
    for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(d->d_un.d_ptr);
    }
    if (strtab == nullptr) break;
    for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_NEEDED) o.needed.emplace_back(strtab + d->d_un.d_val);
    }
  }
  objs->push_back(std::move(o));
  return 0;
}

bool Recorded(const Obj& o) {
  for (size_t i = 0; i < g_nlibs; ++i) {
    if (g_libs[i].base == o.addr && o.name == g_libs[i].name) return true;
  }
  return false;
}

// Records the executable segments of `o` as lower-half code (CallerIsLower).
void AddTextRanges(const Obj& o) {
  for (int i = 0; i < o.phnum; ++i) {
    const ElfW(Phdr)& ph = o.phdr[i];
    const size_t nt = g_ntext.load();
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0 && nt < kMaxText) {
      g_text[nt] = {o.addr + ph.p_vaddr, o.addr + ph.p_vaddr + ph.p_memsz};
      g_ntext.store(nt + 1);
    }
  }
}

void Record(const Obj& o) {
  uintptr_t relro_end = 0;
  for (int i = 0; i < o.phnum; ++i) {
    if (o.phdr[i].p_type == PT_GNU_RELRO) {
      relro_end = o.addr + o.phdr[i].p_vaddr + o.phdr[i].p_memsz;
    }
  }
  AddTextRanges(o);
  for (int i = 0; i < o.phnum && g_nlibs < kMaxLibs; ++i) {
    const ElfW(Phdr)& ph = o.phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) == 0) continue;
    uintptr_t s = o.addr + ph.p_vaddr, e = s + ph.p_memsz;
    if (relro_end > s && relro_end <= e) s = (relro_end + 4095) & ~uintptr_t{4095};
    if (relro_end > e) continue;
    if (e <= s) continue;
    // A raw mmap: upper-half memory even when called from inside (the mmap wrapper would
    // record it as the lower half's).
    void* copy = reinterpret_cast<void*>(::syscall(SYS_mmap, nullptr, e - s, PROT_READ | PROT_WRITE,
                                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (copy == MAP_FAILED) {
      log::Warn("preload: cannot keep the pristine data of ", o.name);
      continue;
    }
    std::memcpy(copy, reinterpret_cast<const void*>(s), e - s);
    PristineLib& l = g_libs[g_nlibs++];
    std::snprintf(l.name, sizeof l.name, "%.*s", static_cast<int>(o.name.size()), o.name.data());
    l.base = o.addr;
    l.start = s;
    l.len = e - s;
    l.copy = static_cast<unsigned char*>(copy);
  }
}

// The program's copy relocations of data the lower half defines (with Open MPI, the
// predefined objects behind MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM, ...: a program built
// without -fPIC holds their only live copy in its own .bss). They are lower-half state in
// upper-half memory: recorded and reset like the libraries' data.
void RecordCopyRelocations(const std::vector<Obj>& objs) {
  const Obj* exe = nullptr;
  for (const auto& o : objs) {
    if (o.name.empty()) exe = &o;
  }
  if (exe == nullptr) return;
  const ElfW(Rela)* rela = nullptr;
  size_t relasz = 0;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  for (int i = 0; i < exe->phnum; ++i) {
    if (exe->phdr[i].p_type != PT_DYNAMIC) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(exe->addr + exe->phdr[i].p_vaddr);
    for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_RELA) rela = reinterpret_cast<const ElfW(Rela)*>(d->d_un.d_ptr);
      if (d->d_tag == DT_RELASZ) relasz = d->d_un.d_val;
      if (d->d_tag == DT_SYMTAB) symtab = reinterpret_cast<const ElfW(Sym)*>(d->d_un.d_ptr);
      if (d->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(d->d_un.d_ptr);
    }
  }
  if (rela == nullptr || symtab == nullptr || strtab == nullptr) return;
  std::vector<void*> handles;
  for (const auto& o : objs) {
    if (!o.lower || o.upper) continue;
    if (void* h = ::dlopen(std::string(o.name).c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
      handles.push_back(h);
    }
  }
  for (size_t k = 0; k < relasz / sizeof(ElfW(Rela)); ++k) {
#if defined(__x86_64__)
    if (ELF64_R_TYPE(rela[k].r_info) != R_X86_64_COPY) continue;
#elif defined(__aarch64__)
    if (ELF64_R_TYPE(rela[k].r_info) != R_AARCH64_COPY) continue;
#else
    continue;
#endif
    const ElfW(Sym)& sym = symtab[ELF64_R_SYM(rela[k].r_info)];
    const char* name = strtab + sym.st_name;
    bool lower = false;
    for (void* h : handles) lower = lower || ::dlsym(h, name) != nullptr;
    if (!lower || sym.st_size == 0 || g_nlibs == kMaxLibs) continue;
    const uintptr_t start = exe->addr + rela[k].r_offset;
    void* copy =
        reinterpret_cast<void*>(::syscall(SYS_mmap, nullptr, sym.st_size, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (copy == MAP_FAILED) continue;
    std::memcpy(copy, reinterpret_cast<const void*>(start), sym.st_size);
    PristineLib& l = g_libs[g_nlibs++];
    l.name[0] = '\0';  // the program
    l.base = exe->addr;
    l.start = start;
    l.len = sym.st_size;
    l.copy = static_cast<unsigned char*>(copy);
  }
  for (void* h : handles) ::dlclose(h);
}

}  // namespace
}  // namespace cairn::preload::lower

namespace lw = cairn::preload::lower;

extern "C" __attribute__((visibility("default"))) void cairn_lower_enter(void) { ++lw::tl_inside; }

extern "C" __attribute__((visibility("default"))) void cairn_lower_exit(void) { --lw::tl_inside; }

extern "C" __attribute__((visibility("default"))) void cairn_preload_set_internal(int on) {
  cairn::preload::gate::SetInternalThread(on != 0);
}

extern "C" __attribute__((visibility("default"))) int cairn_lower_inside(void) {
  return lw::Inside() ? 1 : 0;
}

extern "C" __attribute__((visibility("default"))) void cairn_lower_mark_fds_since(const int* before,
                                                                                  size_t n) {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return;
  const int dfd = ::dirfd(d);
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == dfd || std::find(before, before + n, fd) != before + n) continue;
    lw::NoteFd(fd, true);
  }
  ::closedir(d);
}

extern "C" __attribute__((visibility("default"))) void cairn_lower_mark_fd(int fd) {
  lw::NoteFd(fd, true);
}

namespace cairn::preload::lower {
namespace {

// Marks every object of `objs` lower (o.lower && !o.upper) or not: the closure of the roots
// (objects named by a prefix in `roots`, or, after the first snapshot, new since the last one)
// minus the closure of everything else.
void Classify(std::vector<Obj>& objs, const char* const* roots) {
  auto find = [&](std::string_view needed) -> Obj* {
    for (auto& o : objs) {
      if (o.base_name == needed) return &o;
    }
    return nullptr;
  };
  auto is_root = [&](const Obj& o) {
    if (g_snapshot_done && !Seen(o.addr, o.name)) return true;
    for (const char* const* r = roots; *r != nullptr; ++r) {
      if (o.base_name.starts_with(*r)) return true;
    }
    return false;
  };
  std::vector<Obj*> stack;
  for (auto& o : objs) {
    if (is_root(o)) {
      o.lower = true;
      stack.push_back(&o);
    }
  }
  while (!stack.empty()) {
    Obj* o = stack.back();
    stack.pop_back();
    for (auto n : o->needed) {
      Obj* d = find(n);
      if (d != nullptr && !d->lower) {
        d->lower = true;
        stack.push_back(d);
      }
    }
  }
  for (auto& o : objs) {
    if (!o.lower && !is_root(o)) {
      o.upper = true;
      stack.push_back(&o);
    }
  }
  while (!stack.empty()) {
    Obj* o = stack.back();
    stack.pop_back();
    for (auto n : o->needed) {
      Obj* d = find(n);
      if (d != nullptr && !d->upper && !is_root(*d)) {
        d->upper = true;
        stack.push_back(d);
      }
    }
  }
}

// ------------------------------------------------------------------ the pristine arena
// Before the first snapshot (MPI_Init), what the lower half's libraries allocate (their
// constructors, at load time) goes to this arena; the snapshot keeps a copy of it and a reset
// brings it back, so the libraries' pristine data and what it points to stay consistent.
heap::Arena g_pristine;
heap::Arena g_pristine_meta;  // the arena's bookkeeping as it was at the snapshot
unsigned char* g_pristine_copy = nullptr;
size_t g_pristine_len = 0;
std::atomic<int> g_early{0};  // 0 unknown, 1 computing/off, 2 on (text ranges known)
__thread int tl_early_busy __attribute__((tls_model("initial-exec"))) = 0;
const char* g_early_roots[16];
char g_early_roots_buf[256];

// The lower half's text, computed at the first allocation, from CAIRN_LOWER_ROOTS ("a,b").
bool EarlyReady() {
  int st = g_early.load(std::memory_order_acquire);
  if (st != 0) return st == 2;
  int expected = 0;
  if (!g_early.compare_exchange_strong(expected, 1)) return false;
  const char* env = std::getenv("CAIRN_LOWER_ROOTS");
  if (env == nullptr || *env == '\0' || std::getenv("CAIRN_CKPT_DIR") == nullptr) return false;
  std::snprintf(g_early_roots_buf, sizeof g_early_roots_buf, "%s", env);
  size_t n = 0;
  for (char* p = g_early_roots_buf; p != nullptr && *p != '\0' && n + 1 < 16;) {
    g_early_roots[n++] = p;
    p = std::strchr(p, ',');
    if (p != nullptr) *p++ = '\0';
  }
  g_early_roots[n] = nullptr;
  ++tl_early_busy;  // the vectors below allocate from glibc
  {
    std::vector<Obj> objs;
    ::dl_iterate_phdr(&Collect, &objs);
    Classify(objs, g_early_roots);
    for (const auto& o : objs) {
      if (o.lower && !o.upper) AddTextRanges(o);
    }
  }
  --tl_early_busy;
  const bool ok = g_pristine.Init(size_t{4} << 30);
  g_early.store(ok ? 2 : 1, std::memory_order_release);
  return ok;
}

}  // namespace

bool PristinePhase(const void* ret) {
  if (g_snapshot_done || tl_early_busy > 0 || tl_inside > 0) return false;
  return EarlyReady() && CallerIsLower(ret);
}

heap::Arena& PristineArena() { return g_pristine; }

}  // namespace cairn::preload::lower

extern "C" __attribute__((visibility("default"))) int cairn_lower_snapshot_libs(
    const char* const* roots) {
  static const char* const* s_roots = nullptr;  // remembered for later calls with nullptr
  if (roots != nullptr) s_roots = roots;
  roots = s_roots;
  if (roots == nullptr) return -1;
  std::vector<lw::Obj> objs;
  ::dl_iterate_phdr(&lw::Collect, &objs);
  lw::Classify(objs, roots);
  int added = 0;
  for (auto& o : objs) {
    if (!o.lower || o.upper || lw::Recorded(o)) continue;
    lw::Record(o);
    ++added;
  }
  if (!lw::g_snapshot_done) {
    lw::RecordCopyRelocations(objs);
    // The pristine arena as it is now (what the libraries' constructors allocated).
    lw::g_pristine_len = lw::g_pristine.Used();
    if (lw::g_pristine_len > 0) {
      void* c = reinterpret_cast<void*>(::syscall(SYS_mmap, nullptr, lw::g_pristine_len,
                                                  PROT_READ | PROT_WRITE,
                                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (c != MAP_FAILED) {
        std::memcpy(c, reinterpret_cast<void*>(lw::g_pristine.Base()), lw::g_pristine_len);
        lw::g_pristine_copy = static_cast<unsigned char*>(c);
      }
    }
    std::memcpy(static_cast<void*>(&lw::g_pristine_meta), &lw::g_pristine, sizeof lw::g_pristine);
  }
  lw::g_nseen = 0;
  for (const auto& o : objs) {
    if (lw::g_nseen < lw::kMaxLibs) lw::g_seen[lw::g_nseen++] = {o.addr, lw::NameHash(o.name)};
  }
  lw::g_snapshot_done = true;
  return added;
}

extern "C" __attribute__((visibility("default"))) int cairn_lower_reset_libs(void) {
  lw::ForgetOldProcess();
  if (lw::g_pristine_copy != nullptr) {
    std::memcpy(reinterpret_cast<void*>(lw::g_pristine.Base()), lw::g_pristine_copy,
                lw::g_pristine_len);
  }
  if (lw::g_snapshot_done) {
    std::memcpy(static_cast<void*>(&lw::g_pristine), &lw::g_pristine_meta, sizeof lw::g_pristine);
  }
  std::vector<lw::Obj> objs;
  ::dl_iterate_phdr(&lw::Collect, &objs);
  int n = 0;
  for (size_t i = 0; i < lw::g_nlibs; ++i) {
    const lw::PristineLib& l = lw::g_libs[i];
    bool loaded = false;
    for (const auto& o : objs) {
      if (o.addr == l.base && o.name == l.name) loaded = true;
    }
    if (!loaded) continue;
    std::memcpy(reinterpret_cast<void*>(l.start), l.copy, l.len);
    if (std::getenv("CAIRN_LOWER_DEBUG") != nullptr) {
      cairn::log::Info("preload: lower half: reset ", l.len, " bytes of ",
                       l.name[0] != '\0' ? l.name : "(the program)");
    }
    ++n;
  }
  return n;
}
