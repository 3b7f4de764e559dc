/* cairn_bench_transparent_app: the target programs of cairn_bench_transparent (run plainly
 * or under `cairn launch`; never linked against cairn).
 *
 *   hold SIZE_MIB READY STOP
 *     Maps SIZE_MIB MiB of private anonymous memory and fills every byte with non-zero,
 *     incompressible data (splitmix64), creates the file READY, then ticks: it sleeps about
 *     100 us, records every gap between two ticks longer than 500 us (its end and length on
 *     CLOCK_MONOTONIC, the newest 4096 kept) and checks every 5 ms whether the file STOP
 *     exists. Once it does, it checksums the memory and prints, on stdout:
 *         gap END_NS LEN_NS                     (one line per recorded gap)
 *         done ticks=N maxgap_ns=N checksum=HEX sum_ns=N
 *     and exits 0. A checkpoint stops the ticking thread, so the gap that overlaps it is the
 *     pause the program saw; after a restart the first check sees STOP (the caller creates
 *     it first) and the checksum shows whether the memory came back intact.
 *
 *   syscalls ITERS ROUNDS [IDLE_THREADS]
 *     A syscall-heavy loop timed inside the program (startup excluded): ROUNDS rounds of
 *     ITERS iterations of a mix (getppid via syscall(), 1-byte write to /dev/null,
 *     clock_gettime, stat, open+close, malloc+free, sigprocmask block+restore: 7 system
 *     calls, one vDSO call and a malloc/free pair; the malloc family and sigprocmask are what
 *     the preload library wraps), then each kind alone. Prints one line:
 *         syscalls iters=N rounds=N mix_ns=X getppid_ns=X ... (ns per iteration, best round)
 *     IDLE_THREADS (default 0) threads that only sleep are started first: a second thread
 *     alone changes what system calls and glibc cost (the kernel refcounts descriptors of a
 *     multi-threaded process, glibc leaves its single-thread fast paths), which is what the
 *     preload library's checkpoint thread does to a single-threaded program.
 *
 *   tree NPROC SIZE_MIB READY STOP / rawwrite SIZE_MIB FILE [READY GO] / rawread FILE /
 *   evict FILE...
 *     The targets and raw baselines of bench/run_tree_bench.sh (process trees, issue 11).
 *
 *   dirty SIZE_MIB PERCENT DIR [BLOCK_PAGES]
 *     The target of bench/run_incremental_bench.sh (incremental images, issue 12; see Dirty).
 *
 * Exit status 0 on success, 1 on any failure (with a message on stderr), 2 on usage errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void Fail(const char* what) {
  fprintf(stderr, "cairn_bench_transparent_app: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long ParseLong(const char* s, long lo, long hi, const char* what) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "cairn_bench_transparent_app: %s must be %ld..%ld, got '%s'\n", what, lo, hi,
            s);
    exit(2);
  }
  return v;
}

/* ------------------------------------------------------------------------- hold */

static uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Fletcher-style over 64-bit words in four independent lanes (memory-bound, not
 * latency-bound; b makes it order-sensitive). */
static uint64_t Checksum(const uint64_t* w, size_t n) {
  uint64_t a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) {
      a[k] += w[i + k];
      b[k] += a[k];
    }
  }
  for (; i < n; ++i) {
    a[0] += w[i];
    b[0] += a[0];
  }
  uint64_t h = 0;
  for (int k = 0; k < 4; ++k) h = (h ^ a[k] ^ (b[k] << 17 | b[k] >> 47)) * 0x100000001B3ull;
  return h;
}

#define kMaxGaps 4096
static int64_t g_gap_end[kMaxGaps];
static int64_t g_gap_len[kMaxGaps];

static int Hold(long mib, const char* ready, const char* stop) {
  const size_t bytes = (size_t)mib << 20;
  uint64_t* mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Fail("mmap");
  uint64_t seed = 0x1234567887654321ull;
  for (size_t i = 0; i < bytes / 8; ++i) mem[i] = SplitMix(&seed) | 1; /* never zero */

  int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || close(fd) != 0) Fail("cannot create the ready file");

  const struct timespec tick = {0, 100000};
  const int64_t kRecord = 500000, kCheckEvery = 5000000;
  int64_t last = NowNs(), last_check = last, max_gap = 0, ticks = 0, ngaps = 0;
  for (;;) {
    nanosleep(&tick, NULL); /* EINTR (a checkpoint signal) only shortens a tick */
    int64_t now = NowNs();
    int64_t gap = now - last;
    last = now;
    ++ticks;
    if (gap > max_gap) max_gap = gap;
    if (gap > kRecord) {
      g_gap_end[ngaps % kMaxGaps] = now;
      g_gap_len[ngaps % kMaxGaps] = gap;
      ++ngaps;
    }
    if (now - last_check >= kCheckEvery) {
      last_check = now;
      if (access(stop, F_OK) == 0) break;
      /* time spent in access() counts toward the next gap, as it would for the app */
    }
  }
  int64_t t0 = NowNs();
  uint64_t sum = Checksum(mem, bytes / 8);
  int64_t sum_ns = NowNs() - t0;
  for (int64_t i = ngaps > kMaxGaps ? ngaps - kMaxGaps : 0; i < ngaps; ++i) {
    printf("gap %lld %lld\n", (long long)g_gap_end[i % kMaxGaps],
           (long long)g_gap_len[i % kMaxGaps]);
  }
  printf("done ticks=%lld maxgap_ns=%lld checksum=%016llx sum_ns=%lld\n", (long long)ticks,
         (long long)max_gap, (unsigned long long)sum, (long long)sum_ns);
  if (fflush(stdout) != 0) Fail("cannot write the result");
  return 0;
}

/* ------------------------------------------------------------------------- syscalls */

enum Kind { kMix, kGetppid, kWrite, kClock, kStat, kOpenClose, kMalloc, kSigmask, kKinds };
static const char* const kKindNames[kKinds] = {"mix",  "getppid",   "write1",     "clock_gettime",
                                               "stat", "openclose", "mallocfree", "sigprocmask"};

static int g_null = -1;
static volatile uint64_t g_sink;

static void OneGetppid(void) { g_sink += (uint64_t)syscall(SYS_getppid); }
static void OneWrite(void) {
  if (write(g_null, "x", 1) != 1) Fail("write to /dev/null");
}
static void OneClock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  g_sink += (uint64_t)ts.tv_nsec;
}
static void OneStat(void) {
  struct stat st;
  if (stat("/dev/null", &st) != 0) Fail("stat /dev/null");
  g_sink += (uint64_t)st.st_ino;
}
static void OneOpenClose(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || close(fd) != 0) Fail("open/close /dev/null");
}
static void OneMalloc(size_t i) {
  /* volatile: the compiler may not pair and elide malloc/free */
  char* volatile p = malloc(16 + (i & 255) * 8);
  if (p == NULL) Fail("malloc");
  p[0] = (char)i;
  g_sink += (uint64_t)(unsigned char)p[0];
  free(p);
}
static void OneSigmask(void) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  if (sigprocmask(SIG_BLOCK, &set, &old) != 0 || sigprocmask(SIG_SETMASK, &old, NULL) != 0) {
    Fail("sigprocmask");
  }
}

static void Run(enum Kind k, long iters) {
  for (long i = 0; i < iters; ++i) {
    switch (k) {
      case kMix:
        OneGetppid();
        OneWrite();
        OneClock();
        OneStat();
        OneOpenClose();
        OneMalloc((size_t)i);
        OneSigmask();
        break;
      case kGetppid:
        OneGetppid();
        break;
      case kWrite:
        OneWrite();
        break;
      case kClock:
        OneClock();
        break;
      case kStat:
        OneStat();
        break;
      case kOpenClose:
        OneOpenClose();
        break;
      case kMalloc:
        OneMalloc((size_t)i);
        break;
      case kSigmask:
        OneSigmask();
        break;
      case kKinds:
        break;
    }
  }
}

static void* IdleThread(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static int Syscalls(long iters, long rounds, long idle_threads) {
  for (long i = 0; i < idle_threads; ++i) {
    pthread_t t;
    int rc = pthread_create(&t, NULL, IdleThread, NULL);
    if (rc != 0) {
      errno = rc;
      Fail("pthread_create");
    }
  }
  g_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (g_null < 0) Fail("open /dev/null");
  Run(kMix, iters / 10 + 1); /* warm-up: first calls, page faults, malloc arenas */
  double best[kKinds];
  for (int k = 0; k < kKinds; ++k) best[k] = 1e300;
  for (long r = 0; r < rounds; ++r) {
    for (int k = 0; k < kKinds; ++k) {
      /* single kinds run 2x the iterations of the mix's share to stay well above noise */
      long n = k == kMix ? iters : iters * 2;
      int64_t t0 = NowNs();
      Run((enum Kind)k, n);
      double ns = (double)(NowNs() - t0) / (double)n;
      if (ns < best[k]) best[k] = ns;
    }
  }
  printf("syscalls iters=%ld rounds=%ld idle_threads=%ld", iters, rounds, idle_threads);
  for (int k = 0; k < kKinds; ++k) printf(" %s_ns=%.2f", kKindNames[k], best[k]);
  printf("\n");
  if (fflush(stdout) != 0) Fail("cannot write the result");
  close(g_null);
  return 0;
}

/* ------------------------------------------------------------------------- tree */

/* Fills `bytes` of fresh memory with incompressible, non-zero data from `seed`. */
static uint64_t* FilledMemory(size_t bytes, uint64_t seed) {
  uint64_t* mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Fail("mmap");
  for (size_t i = 0; i < bytes / 8; ++i) mem[i] = SplitMix(&seed) | 1;
  return mem;
}

/* NPROC processes (the parent and NPROC-1 forked children), each holding SIZE_MIB MiB;
 * READY once all are filled; each checks every ~5 ms for STOP, then checksums its memory;
 * the parent prints "done nproc=N checksum=HEX" (the children's sums through a pipe). */
static int Tree(long nproc, long mib, const char* ready, const char* stop) {
  const size_t bytes = (size_t)mib << 20;
  int sums[2], filled[2];
  if (pipe(sums) != 0 || pipe(filled) != 0) Fail("pipe");
  for (long i = 1; i < nproc; ++i) {
    pid_t pid = fork();
    if (pid < 0) Fail("fork");
    if (pid == 0) {
      uint64_t* mem = FilledMemory(bytes, 0x1000 + (uint64_t)i);
      if (write(filled[1], "f", 1) != 1) Fail("write");
      const struct timespec nap = {0, 5000000};
      while (access(stop, F_OK) != 0) nanosleep(&nap, NULL);
      uint64_t sum = Checksum(mem, bytes / 8);
      if (write(sums[1], &sum, sizeof sum) != (ssize_t)sizeof sum) Fail("write");
      _exit(0);
    }
  }
  close(sums[1]);
  close(filled[1]);
  uint64_t* mem = FilledMemory(bytes, 0x1000);
  for (long i = 1; i < nproc; ++i) {
    char c;
    if (read(filled[0], &c, 1) != 1) Fail("a child died while filling its memory");
  }
  int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || close(fd) != 0) Fail("cannot create the ready file");
  const struct timespec nap = {0, 5000000};
  while (access(stop, F_OK) != 0) nanosleep(&nap, NULL);
  uint64_t total = Checksum(mem, bytes / 8);
  for (long i = 1; i < nproc; ++i) {
    uint64_t sum;
    if (read(sums[0], &sum, sizeof sum) != (ssize_t)sizeof sum) Fail("a child died");
    total ^= sum;
  }
  while (wait(NULL) > 0) {
  }
  printf("done nproc=%ld checksum=%016llx\n", nproc, (unsigned long long)total);
  return fflush(stdout) == 0 ? 0 : 1;
}

/* The raw baselines of the tree benchmark: SIZE_MIB MiB of filled memory written to FILE
 * with pwrite + fdatasync, or FILE read back (after evicting it from the page cache) into
 * touched memory; prints the nanoseconds the I/O took. */
static int RawWrite(long mib, const char* path, const char* ready, const char* go) {
  const size_t bytes = (size_t)mib << 20;
  uint64_t* mem = FilledMemory(bytes, 77);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("open");
  if (ready != NULL) { /* parallel writers start together */
    int r = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (r < 0 || close(r) != 0) Fail("cannot create the ready file");
    const struct timespec nap = {0, 1000000};
    while (access(go, F_OK) != 0) nanosleep(&nap, NULL);
  }
  /* Through a 1 MiB buffer, as cairn's writers do: on this VM the kernel copies from a large,
   * cold user buffer several times slower than from a cached one (1 GiB to tmpfs in one
   * pwrite: 1.8-3.4 s; in 1 MiB pieces through a reused buffer: 0.22-0.28 s), so a direct
   * pwrite would be a baseline that flatters cairn. */
  const size_t kWindow = (size_t)1 << 20;
  char* window = malloc(kWindow);
  if (window == NULL) Fail("malloc");
  int64_t t0 = NowNs();
  for (size_t done = 0; done < bytes;) {
    const size_t want = bytes - done < kWindow ? bytes - done : kWindow;
    memcpy(window, (char*)mem + done, want);
    for (size_t put = 0; put < want;) {
      ssize_t n = pwrite(fd, window + put, want - put, (off_t)(done + put));
      if (n <= 0) Fail("pwrite");
      put += (size_t)n;
    }
    done += want;
  }
  if (fdatasync(fd) != 0) Fail("fdatasync");
  free(window);
  printf("ns=%lld\n", (long long)(NowNs() - t0));
  close(fd);
  return 0;
}

/* The baseline of an image write: copy SIZE_MIB MiB of memory to another buffer that was
 * touched before; prints the best of 3 copies. */
static int Memcpy(long mib) {
  const size_t bytes = (size_t)mib << 20;
  uint64_t* src = FilledMemory(bytes, 78);
  char* dst = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (dst == MAP_FAILED) Fail("mmap");
  memset(dst, 1, bytes);
  int64_t best = -1;
  for (int r = 0; r < 3; ++r) {
    int64_t t0 = NowNs();
    memcpy(dst, src, bytes);
    int64_t t = NowNs() - t0;
    if (best < 0 || t < best) best = t;
  }
  printf("ns=%lld check=%d\n", (long long)best, dst[bytes / 2]);
  return 0;
}

static int Evict(int n, char** paths) {
  for (int i = 0; i < n; ++i) {
    int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail("open");
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
  return 0;
}

static int RawRead(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) Fail("open");
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  const size_t bytes = (size_t)st.st_size;
  char* mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Fail("mmap");
  memset(mem, 1, bytes);
  int64_t t0 = NowNs();
  for (size_t done = 0; done < bytes;) {
    ssize_t n = pread(fd, mem + done, bytes - done, (off_t)done);
    if (n <= 0) Fail("pread");
    done += (size_t)n;
  }
  printf("ns=%lld\n", (long long)(NowNs() - t0));
  close(fd);
  return 0;
}

/* ------------------------------------------------------------------------- dirty */

/* Incremental images: fills SIZE_MIB MiB as Hold does, creates DIR/ready, then for n = 1, 2,
 * ... waits for DIR/write<n> and rewrites PERCENT % of the pages in blocks of BLOCK_PAGES
 * (default 1) spread across the whole range, a different set each time: page i when
 * ((i / BLOCK_PAGES) * 7919 + n) % 100 < PERCENT; then creates DIR/wrote<n> holding
 * "checksum=HEX" of the memory now; exits 0 printing "done checksum=HEX" when DIR/stop
 * exists. */
static int Dirty(long mib, long percent, long block, const char* dir) {
  const size_t bytes = (size_t)mib << 20, page = 4096, pages = bytes / page;
  uint64_t* mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Fail("mmap");
  uint64_t seed = 0x1234567887654321ull;
  for (size_t i = 0; i < bytes / 8; ++i) mem[i] = SplitMix(&seed) | 1;
  char path[4096];
  snprintf(path, sizeof path, "%s/ready", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || close(fd) != 0) Fail("cannot create the ready file");
  const struct timespec nap = {0, 2000000};
  for (long n = 1;; ++n) {
    for (;;) {
      snprintf(path, sizeof path, "%s/stop", dir);
      if (access(path, F_OK) == 0) {
        printf("done checksum=%016llx\n", (unsigned long long)Checksum(mem, bytes / 8));
        return 0;
      }
      snprintf(path, sizeof path, "%s/write%ld", dir, n);
      if (access(path, F_OK) == 0) break;
      nanosleep(&nap, NULL);
    }
    for (size_t i = 0; i < pages; ++i) {
      if (((i / (size_t)block) * 7919 + (size_t)n) % 100 >= (size_t)percent) continue;
      uint64_t* w = mem + i * (page / 8);
      for (size_t k = 0; k < page / 8; ++k) w[k] = SplitMix(&seed) | 1;
    }
    char sum[64], tmp[4096];
    const int len = snprintf(sum, sizeof sum, "checksum=%016llx\n",
                             (unsigned long long)Checksum(mem, bytes / 8));
    snprintf(tmp, sizeof tmp, "%s/wrote%ld.tmp", dir, n);
    snprintf(path, sizeof path, "%s/wrote%ld", dir, n);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, sum, (size_t)len) != len || close(fd) != 0 || rename(tmp, path) != 0) {
      Fail("cannot create the wrote file");
    }
  }
}

int main(int argc, char** argv) {
  if (argc == 6 && strcmp(argv[1], "tree") == 0) {
    return Tree(ParseLong(argv[2], 1, 4096, "NPROC"), ParseLong(argv[3], 1, 1L << 20, "SIZE_MIB"),
                argv[4], argv[5]);
  }
  if ((argc == 4 || argc == 6) && strcmp(argv[1], "rawwrite") == 0) {
    return RawWrite(ParseLong(argv[2], 1, 1L << 20, "SIZE_MIB"), argv[3],
                    argc == 6 ? argv[4] : NULL, argc == 6 ? argv[5] : NULL);
  }
  if (argc >= 3 && strcmp(argv[1], "evict") == 0) return Evict(argc - 2, argv + 2);
  if (argc == 3 && strcmp(argv[1], "rawread") == 0) return RawRead(argv[2]);
  if (argc == 3 && strcmp(argv[1], "memcpy") == 0) {
    return Memcpy(ParseLong(argv[2], 1, 1L << 20, "SIZE_MIB"));
  }
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "dirty") == 0) {
    return Dirty(ParseLong(argv[2], 1, 1L << 20, "SIZE_MIB"), ParseLong(argv[3], 0, 100, "PERCENT"),
                 argc == 6 ? ParseLong(argv[5], 1, 1L << 20, "BLOCK_PAGES") : 1, argv[4]);
  }
  if (argc == 5 && strcmp(argv[1], "hold") == 0) {
    return Hold(ParseLong(argv[2], 1, 1L << 20, "SIZE_MIB"), argv[3], argv[4]);
  }
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "syscalls") == 0) {
    return Syscalls(ParseLong(argv[2], 1, 1L << 30, "ITERS"), ParseLong(argv[3], 1, 1000, "ROUNDS"),
                    argc == 5 ? ParseLong(argv[4], 0, 64, "IDLE_THREADS") : 0);
  }
  fprintf(stderr,
          "usage: cairn_bench_transparent_app hold SIZE_MIB READY STOP\n"
          "       cairn_bench_transparent_app syscalls ITERS ROUNDS [IDLE_THREADS]\n"
          "       cairn_bench_transparent_app tree NPROC SIZE_MIB READY STOP\n"
          "       cairn_bench_transparent_app rawwrite SIZE_MIB FILE [READY GO] | rawread FILE\n"
          "       cairn_bench_transparent_app evict FILE... | memcpy SIZE_MIB\n"
          "       cairn_bench_transparent_app dirty SIZE_MIB PERCENT DIR [BLOCK_PAGES]\n");
  return 2;
}
