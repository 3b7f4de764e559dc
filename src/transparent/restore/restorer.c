/* cairn-restorer: the static, libc-free program `cairn restart` execs to rebuild a process's
 * memory from a plan (plan.h). Linked at CAIRN_RESERVE_BASE, a range the checkpointed
 * process kept reserved, so nothing it restores collides with this code.
 *
 * Steps: parse argv (plan fd, data fd) on the kernel's stack, switch to a stack in .bss, map
 * the plan, move vDSO/vvar to a scratch place in the reserved range, unmap everything below
 * and above the reserved range, map every saved region, read its page runs (hashing each
 * batch of an uncompressed image as it is read: restorer_hash.c), set protections,
 * move vDSO/vvar to the saved addresses, close the fds, set the FS base and jump to the
 * library's restart entry. Any failure: a message on fd 2 and exit status 111.
 */
#include <stddef.h>
#include <stdint.h>

#include "transparent/restore/plan.h"
#include "transparent/restore/restorer_hash.h"

#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_OPEN 2
#define SYS_CLOSE 3
#define SYS_MMAP 9
#define SYS_MPROTECT 10
#define SYS_MUNMAP 11
#define SYS_PREAD64 17
#define SYS_MREMAP 25
#define SYS_MADVISE 28
#define SYS_FCNTL 72
#define SYS_ARCH_PRCTL 158
#define SYS_EXIT_GROUP 231

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MREMAP_MAYMOVE 1
#define MADV_HUGEPAGE 14
#define MREMAP_FIXED 2
#define ARCH_SET_FS 0x1002
#define F_SETFD 2
#define FD_CLOEXEC 1
#define TASK_TOP 0x7ffffffff000ULL

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define SYS3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

void* memset(void* d, int c, size_t n) {
  unsigned char* p = (unsigned char*)d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void* memcpy(void* d, const void* s, size_t n) {
  unsigned char* p = (unsigned char*)d;
  const unsigned char* q = (const unsigned char*)s;
  while (n--) *p++ = *q++;
  return d;
}

static size_t slen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}
static void puts2(const char* s) { SYS3(SYS_WRITE, 2, s, slen(s)); }
static void putnum(uint64_t v) {
  char b[24];
  int i = 23;
  b[i] = 0;
  do {
    int d = (int)(v & 15);
    b[--i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v >>= 4;
  } while (v && i > 2);
  b[--i] = 'x';
  b[--i] = '0';
  puts2(b + i);
}
static void die(const char* what, long err, uint64_t addr) {
  puts2("cairn-restorer: ");
  puts2(what);
  puts2(" at ");
  putnum(addr);
  puts2(" (errno ");
  putnum((uint64_t)-err);
  puts2(")\n");
  sys6(SYS_EXIT_GROUP, 111, 0, 0, 0, 0, 0);
  for (;;) {
  }
}
static int bad(long r) { return r < 0 && r > -4096; }

static long parse_int(const char* s) {
  long v = 0;
  if (!s || !*s) return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* vDSO-related areas of this process, from /proc/self/maps. */
struct Area {
  uint64_t start, end;
};
static struct Area g_areas[8];
static int g_nareas;
static uint64_t g_cur_vdso;
static uint64_t g_cur_vvar; /* lowest [vvar*] start */
static char g_maps[65536];

static uint64_t hex(const char** p) {
  uint64_t v = 0;
  for (;;) {
    char c = **p;
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      break;
    v = v * 16 + (uint64_t)d;
    ++*p;
  }
  return v;
}

static int has(const char* line, const char* end, const char* word) {
  size_t n = slen(word);
  for (const char* p = line; p + n <= end; ++p) {
    size_t i = 0;
    while (i < n && p[i] == word[i]) ++i;
    if (i == n) return 1;
  }
  return 0;
}

static void read_areas(void) {
  long fd = SYS3(SYS_OPEN, "/proc/self/maps", 0, 0);
  if (bad(fd)) die("open /proc/self/maps", fd, 0);
  size_t len = 0;
  for (;;) {
    long n = SYS3(SYS_READ, fd, g_maps + len, sizeof g_maps - 1 - len);
    if (bad(n)) die("read /proc/self/maps", n, 0);
    if (n == 0) break;
    len += (size_t)n;
    if (len >= sizeof g_maps - 1) die("/proc/self/maps too long", 0, len);
  }
  SYS3(SYS_CLOSE, fd, 0, 0);
  g_maps[len] = 0;
  const char* p = g_maps;
  while (*p) {
    const char* eol = p;
    while (*eol && *eol != '\n') ++eol;
    const char* q = p;
    uint64_t s = hex(&q);
    ++q;
    uint64_t e = hex(&q);
    int vdso = has(p, eol, "[vdso]");
    int vvar = has(p, eol, "[vvar");
    if ((vdso || vvar) && g_nareas < 8) {
      g_areas[g_nareas].start = s;
      g_areas[g_nareas].end = e;
      ++g_nareas;
      if (vdso) g_cur_vdso = s;
      if (vvar && (g_cur_vvar == 0 || s < g_cur_vvar)) g_cur_vvar = s;
    }
    p = *eol ? eol + 1 : eol;
  }
}

static void move_areas(uint64_t from_base, uint64_t to_base) {
  for (int i = 0; i < g_nareas; ++i) {
    uint64_t len = g_areas[i].end - g_areas[i].start;
    uint64_t off = g_areas[i].start - g_cur_vdso;
    long r = sys6(SYS_MREMAP, (long)(from_base + off), (long)len, (long)len,
                  MREMAP_MAYMOVE | MREMAP_FIXED, (long)(to_base + off), 0);
    if (bad(r)) die("mremap of vdso/vvar", r, to_base + off);
  }
}

#define STACK_SIZE (256 * 1024)
static char g_stack[STACK_SIZE] __attribute__((aligned(16)));
static long g_plan_fd;
static long g_data_fds[CAIRN_PLAN_MAX_SOURCES];
static long g_ndata;

/* Batch verification: the running hash, and where bytes that are hashed but not stored go.
 * Pieces of this size are hashed right after their read, while they are still in the cache. */
static char g_hash[CAIRN_RHASH_STATE_BYTES] __attribute__((aligned(64)));
#define HASH_PIECE (256 * 1024)
static char g_scratch[HASH_PIECE] __attribute__((aligned(64)));

static long data_fd(uint32_t source) {
  if ((long)source >= g_ndata) die("a plan names a data source it was not given", 0, source);
  return g_data_fds[source];
}

static void pread_all(long fd, char* to, uint64_t len, uint64_t at) {
  uint64_t done = 0;
  while (done < len) {
    long r = sys6(SYS_PREAD64, fd, (long)(to + done), (long)(len - done), (long)(at + done), 0, 0);
    if (bad(r) || r == 0) die("reading page data", r, (uint64_t)(to + done));
    done += (uint64_t)r;
  }
}

/* Reads `len` bytes of the data fd at `at` into `dst` (NULL: through the scratch buffer, for
 * bytes that are only hashed) and feeds them to the batch hash, piece by piece. */
static void read_hashed(long fd, char* dst, uint64_t len, uint64_t at) {
  for (uint64_t done = 0; done < len;) {
    const uint64_t n = len - done < HASH_PIECE ? len - done : HASH_PIECE;
    char* to = dst != 0 ? dst + done : g_scratch;
    pread_all(fd, to, n, at + done);
    cairn_rhash_update(g_hash, to, n);
    done += n;
  }
}

/* Reads run `u` into place; with `hash`, through read_hashed (a hash-only run is not stored). */
static void read_run(const struct CairnPlanRun* u, int hash) {
  const int store = !(u->flags & CAIRN_RUN_HASH_ONLY);
  const long fd = data_fd(CAIRN_RUN_SOURCE(u->flags));
  if (!hash) {
    if (store) pread_all(fd, (char*)u->addr, u->len, u->data_offset);
    return;
  }
  read_hashed(fd, store ? (char*)u->addr : 0, u->len, u->data_offset);
}

void restorer_main(void) __attribute__((noreturn, used));
void restorer_main(void) {
  long r;
  struct CairnPlan head;
  r = sys6(SYS_PREAD64, g_plan_fd, (long)&head, sizeof head, 0, 0, 0);
  if (r != (long)sizeof head || head.magic != CAIRN_PLAN_MAGIC ||
      head.version != CAIRN_PLAN_VERSION || head.total_bytes > CAIRN_PLAN_MAX_BYTES) {
    die("bad plan", r, 0);
  }
  r = sys6(SYS_MMAP, (long)CAIRN_PLAN_SCRATCH, (long)head.total_bytes, PROT_READ,
           MAP_PRIVATE | MAP_FIXED, g_plan_fd, 0);
  if (bad(r)) die("mmap of the plan", r, CAIRN_PLAN_SCRATCH);
  const struct CairnPlan* plan = (const struct CairnPlan*)CAIRN_PLAN_SCRATCH;
  const struct CairnPlanRegion* regions = (const struct CairnPlanRegion*)(plan + 1);
  const struct CairnPlanRun* runs = (const struct CairnPlanRun*)(regions + plan->nregions);

  read_areas();
  if (g_cur_vdso == 0) die("no [vdso] in this process", 0, 0);
  if (plan->vdso_addr != 0 && plan->vvar_addr != 0 && g_cur_vvar != 0 &&
      plan->vvar_addr - plan->vdso_addr != g_cur_vvar - g_cur_vdso) {
    die("vvar/vdso layout differs from the image's", 0, plan->vvar_addr);
  }
  move_areas(g_cur_vdso, CAIRN_VDSO_SCRATCH);

  /* Everything but the reserved range (this program, the plan, the vDSO scratch). */
  r = SYS3(SYS_MUNMAP, 0x10000, CAIRN_RESERVE_BASE - 0x10000, 0);
  if (bad(r)) die("munmap below the reserved range", r, 0);
  const uint64_t top = CAIRN_RESERVE_BASE + CAIRN_RESERVE_SIZE;
  r = SYS3(SYS_MUNMAP, top, TASK_TOP - top, 0);
  if (bad(r)) die("munmap above the reserved range", r, top);

  for (uint64_t i = 0; i < plan->nregions; ++i) {
    const struct CairnPlanRegion* g = &regions[i];
    const long prot = (g->flags & CAIRN_REGION_FINAL_PROT) ? (long)g->prot : PROT_READ | PROT_WRITE;
    const long kind = g->fd >= 0 ? 0 : MAP_ANONYMOUS;
    r = sys6(SYS_MMAP, (long)g->start, (long)(g->end - g->start), prot,
             (g->shared ? MAP_SHARED : MAP_PRIVATE) | kind | MAP_FIXED, g->fd >= 0 ? g->fd : -1,
             g->fd >= 0 ? (long)g->offset : 0);
    if (bad(r)) die("mmap of a region", r, g->start);
    /* Far fewer page faults while the data is copied in (best effort). */
    if (g->flags & CAIRN_REGION_HUGE) SYS3(SYS_MADVISE, g->start, g->end - g->start, MADV_HUGEPAGE);
  }
  for (uint64_t i = 0; i < plan->nregions; ++i) {
    if (regions[i].fd >= 0) SYS3(SYS_CLOSE, regions[i].fd, 0, 0);
  }
  if (plan->nbatches == 0) {
    for (uint64_t i = 0; i < plan->nruns; ++i) read_run(&runs[i], 0);
  } else {
    const struct CairnPlanBatch* batches = (const struct CairnPlanBatch*)(runs + plan->nruns);
    for (uint64_t b = 0; b < plan->nbatches; ++b) {
      const struct CairnPlanBatch* t = &batches[b];
      if ((uint64_t)t->first_run + t->nruns > plan->nruns) die("bad plan batch", 0, b);
      const long fd = data_fd(t->source);
      cairn_rhash_reset(g_hash);
      read_hashed(fd, 0, t->table_len, t->table_offset);
      for (uint32_t k = 0; k < t->nruns; ++k) read_run(&runs[t->first_run + k], 1);
      uint64_t want = 0;
      r = sys6(SYS_PREAD64, fd, (long)&want, 8, (long)t->digest_offset, 0, 0);
      if (r != 8) die("reading a batch digest", r, t->digest_offset);
      if (cairn_rhash_digest(g_hash) != want) {
        /* Nothing of the program has run: the process ends here. */
        puts2("cairn restart: '");
        puts2(plan->image_path);
        puts2("': the page data failed verification (batch at offset ");
        putnum(t->table_offset);
        puts2("); the program was not restarted\n");
        sys6(SYS_EXIT_GROUP, 1, 0, 0, 0, 0, 0);
      }
    }
  }
  for (uint64_t i = 0; i < plan->nregions; ++i) {
    const struct CairnPlanRegion* g = &regions[i];
    if (g->prot == (PROT_READ | PROT_WRITE) || (g->flags & CAIRN_REGION_FINAL_PROT)) continue;
    r = SYS3(SYS_MPROTECT, g->start, g->end - g->start, g->prot);
    if (bad(r)) die("mprotect of a region", r, g->start);
  }
  if (plan->vdso_addr != 0) move_areas(CAIRN_VDSO_SCRATCH, plan->vdso_addr);
  for (uint32_t i = 0; i < plan->ncloexec && i < CAIRN_PLAN_MAX_CLOEXEC; ++i) {
    SYS3(SYS_FCNTL, plan->cloexec_fds[i], F_SETFD, FD_CLOEXEC);
  }
  const uint64_t entry = plan->entry, stack_top = plan->stack_top, fs = plan->fs_base;
  for (long i = 0; i < g_ndata; ++i) SYS3(SYS_CLOSE, g_data_fds[i], 0, 0);
  SYS3(SYS_CLOSE, g_plan_fd, 0, 0);
  /* The plan stays mapped: the library replaces the whole reserved range. */
  r = SYS3(SYS_ARCH_PRCTL, ARCH_SET_FS, fs, 0);
  if (bad(r)) die("arch_prctl(ARCH_SET_FS)", r, fs);
  __asm__ volatile(
      "mov %0, %%rsp\n"
      "sub $8, %%rsp\n"
      "xor %%ebp, %%ebp\n"
      "xor %%edi, %%edi\n"
      "jmp *%1\n"
      :
      : "c"(stack_top & ~15ULL), "a"(entry)
      : "memory");
  __builtin_unreachable();
}

/* Called from _start with the kernel's initial stack pointer: reads argv, then switches to
 * g_stack (the kernel's stack is unmapped later). */
void restorer_start(long* sp) __attribute__((noreturn, used));
void restorer_start(long* sp) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  if (argc < 3 || argc > 2 + CAIRN_PLAN_MAX_SOURCES) {
    die("usage: cairn-restorer PLAN_FD DATA_FD... (run by cairn restart)", 0, 0);
  }
  g_plan_fd = parse_int(argv[1]);
  if (g_plan_fd < 0) die("bad fd arguments", 0, 0);
  for (long i = 2; i < argc; ++i) {
    g_data_fds[g_ndata] = parse_int(argv[i]);
    if (g_data_fds[g_ndata++] < 0) die("bad fd arguments", 0, 0);
  }
  __asm__ volatile(
      "mov %0, %%rsp\n"
      "call restorer_main\n"
      :
      : "r"(g_stack + STACK_SIZE)
      : "memory");
  __builtin_unreachable();
}

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call restorer_start\n"
    "  hlt\n");
