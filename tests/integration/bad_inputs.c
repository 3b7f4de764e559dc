/* bad_inputs: a table of wrong inputs and misuse of the VeloC API (independent mode,
 * VELOC_Init_single). Each row runs in its own child process and its own directory:
 *
 *   1. baseline: commits versions 1 and 2 of checkpoint "base" (distinct data);
 *   2. the row's bad call(s): each must return VELOC_FAILURE, plus row-specific checks
 *      (memory left untouched, nothing created outside scratch, the client still usable);
 *   3. then, in a new client, the last committed version must still restart with the right
 *      data (and version 1 too), and no "*.tmp" file may be left anywhere in the directory.
 *
 * The parent also fails a row when the child crashed, called exit() or hung (it reports
 * through a pipe only when the row ran to its end), or when anything was written to the
 * child's stdout (cairn must log to stderr only).
 *
 *   bad_inputs [WORKDIR]      (default: a new directory under $TMPDIR or /tmp)
 *
 * Prints "row -> PASS/FAIL/SKIP" and exits 1 when a row failed. The disk-full rows mount a
 * 1 MiB tmpfs and are skipped (with the reason) when mounting is not permitted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <veloc.h>

enum { ROW_PASS = 0, ROW_FAIL = 1, ROW_SKIP = 2 };

typedef struct ctx {
  char dir[1024];     /* this row's directory */
  char cfg[PATH_MAX]; /* its good configuration: <dir>/scratch, <dir>/persistent */
  int latest;         /* newest committed version of "base" */
  int latest_seed;    /* the data pattern it holds */
  char msg[2048];     /* why the row failed or was skipped */
} ctx_t;

#define NDATA 1024 /* ints in region 0 of "base" */
static int g_buf[NDATA];

/* ------------------------------------------------------------------ helpers */

static void set_msg(ctx_t* c, int line, const char* fmt, ...) {
  char what[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(c->msg, sizeof c->msg, "line %d: %s", line, what);
}

#define CHECK(cond, ...)                 \
  do {                                   \
    if (!(cond)) {                       \
      set_msg(c, __LINE__, __VA_ARGS__); \
      return ROW_FAIL;                   \
    }                                    \
  } while (0)

/* Runs a check that returns ROW_* and propagates anything but ROW_PASS. */
#define RUN(expr)                    \
  do {                               \
    int rc_ = (expr);                \
    if (rc_ != ROW_PASS) return rc_; \
  } while (0)

static void pattern(int* a, size_t n, int seed) {
  for (size_t i = 0; i < n; ++i) a[i] = seed * 1000003 + (int)i * 7 + 1;
}

static int matches(const int* a, size_t n, int seed) {
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != seed * 1000003 + (int)i * 7 + 1) return 0;
  }
  return 1;
}

static int all_bytes(const void* p, size_t n, unsigned char v) {
  const unsigned char* b = p;
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != v) return 0;
  }
  return 1;
}

static int write_text(const char* path, const char* text) {
  FILE* f = fopen(path, "w");
  if (f == NULL) return -1;
  int ok = fputs(text, f) >= 0;
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}

/* Writes a configuration with the given scratch and persistent (NULL: no such key) and extra
 * lines (may be NULL). */
static int write_cfg(const char* path, const char* scratch, const char* persistent,
                     const char* extra) {
  char text[4 * PATH_MAX];
  int n = snprintf(text, sizeof text, "# bad_inputs\n%s%s%s%s%s%s%s", scratch ? "scratch = " : "",
                   scratch ? scratch : "", scratch ? "\n" : "", persistent ? "persistent = " : "",
                   persistent ? persistent : "", persistent ? "\n" : "", extra ? extra : "");
  if (n < 0 || (size_t)n >= sizeof text) return -1;
  return write_text(path, text);
}

static int exists(const char* path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static int g_tmp_count;
static char g_tmp_first[PATH_MAX];
static int count_tmp_cb(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  size_t n = strlen(path);
  if (n >= 4 && strcmp(path + n - 4, ".tmp") == 0 && ftw->level > 0) {
    if (g_tmp_count++ == 0) snprintf(g_tmp_first, sizeof g_tmp_first, "%s", path);
  }
  return 0;
}

/* Number of "*.tmp" entries below dir; the first one found in g_tmp_first. */
static int count_tmp(const char* dir) {
  g_tmp_count = 0;
  g_tmp_first[0] = '\0';
  nftw(dir, count_tmp_cb, 16, FTW_PHYS);
  return g_tmp_count;
}

/* The entries of `dir` (except . and ..) joined with ' ', sorted by readdir order. */
static void list_dir(const char* dir, char* out, size_t outlen) {
  char cmd[PATH_MAX + 64];
  out[0] = '\0';
  snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | tr '\\n' ' '", dir);
  FILE* p = popen(cmd, "r");
  if (p == NULL) return;
  size_t n = fread(out, 1, outlen - 1, p);
  out[n] = '\0';
  pclose(p);
  while (n > 0 && out[n - 1] == ' ') out[--n] = '\0';
}

static void path_in(const ctx_t* c, char* out, const char* rel) {
  snprintf(out, PATH_MAX, "%s/%s", c->dir, rel);
}

/* Commits "base" v1 (pattern 1) and v2 (pattern 2) with the good configuration. */
static int baseline(ctx_t* c) {
  CHECK(VELOC_Init_single(0, c->cfg) == VELOC_SUCCESS, "baseline: VELOC_Init_single(%s) failed",
        c->cfg);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS,
        "baseline: Mem_protect failed");
  pattern(g_buf, NDATA, 1);
  CHECK(VELOC_Checkpoint("base", 1) == VELOC_SUCCESS, "baseline: checkpoint v1 failed");
  pattern(g_buf, NDATA, 2);
  CHECK(VELOC_Checkpoint("base", 2) == VELOC_SUCCESS, "baseline: checkpoint v2 failed");
  CHECK(VELOC_Finalize(1) == VELOC_SUCCESS, "baseline: Finalize failed");
  c->latest = 2;
  c->latest_seed = 2;
  return ROW_PASS;
}

/* In a new client: the newest version is c->latest and restarts with its data; version 1
 * restarts with pattern 1; no temporary file anywhere below the row's directory. */
static int verify_intact(ctx_t* c) {
  (void)VELOC_Finalize(0); /* the row may have left a client open */
  CHECK(VELOC_Init_single(0, c->cfg) == VELOC_SUCCESS, "verify: VELOC_Init_single failed");
  memset(g_buf, 0, sizeof g_buf);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS,
        "verify: Mem_protect failed");
  int v = VELOC_Restart_test("base", 0);
  CHECK(v == c->latest, "verify: Restart_test(base) = %d, expected the last committed %d", v,
        c->latest);
  CHECK(VELOC_Restart("base", c->latest) == VELOC_SUCCESS, "verify: Restart(base, %d) failed",
        c->latest);
  CHECK(matches(g_buf, NDATA, c->latest_seed), "verify: version %d restarted with wrong data",
        c->latest);
  memset(g_buf, 0, sizeof g_buf);
  CHECK(VELOC_Restart("base", 1) == VELOC_SUCCESS, "verify: Restart(base, 1) failed");
  CHECK(matches(g_buf, NDATA, 1), "verify: version 1 restarted with wrong data");
  CHECK(VELOC_Finalize(1) == VELOC_SUCCESS, "verify: Finalize failed");
  CHECK(count_tmp(c->dir) == 0, "temporary file left behind: %s (%d in all)", g_tmp_first,
        g_tmp_count);
  return ROW_PASS;
}

/* Not initialized: the API refuses everything (and does not crash). */
static int check_not_initialized(ctx_t* c) {
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_FAILURE,
        "Mem_protect succeeded without a client");
  CHECK(VELOC_Checkpoint("base", 9) == VELOC_FAILURE, "Checkpoint succeeded without a client");
  CHECK(VELOC_Restart_test("base", 0) == VELOC_FAILURE, "Restart_test succeeded without a client");
  CHECK(VELOC_Finalize(1) == VELOC_FAILURE, "Finalize succeeded without a client");
  return ROW_PASS;
}

/* Init with `cfg` must fail and leave no client behind. */
static int expect_init_fails(ctx_t* c, const char* cfg) {
  CHECK(VELOC_Init_single(0, cfg) == VELOC_FAILURE, "VELOC_Init_single(%s) succeeded", cfg);
  return check_not_initialized(c);
}

static int init_good(ctx_t* c) {
  CHECK(VELOC_Init_single(0, c->cfg) == VELOC_SUCCESS, "VELOC_Init_single(%s) failed", c->cfg);
  return ROW_PASS;
}

/* ------------------------------------------------------------------ rows */

static int row_missing_config(ctx_t* c) {
  char cfg[PATH_MAX];
  path_in(c, cfg, "no-such-dir/no-such.cfg");
  RUN(expect_init_fails(c, cfg));
  path_in(c, cfg, "no-such.cfg");
  return expect_init_fails(c, cfg);
}

/* A good configuration plus one bad line. */
static int bad_config_row(ctx_t* c, const char* scratch, const char* extra) {
  char cfg[PATH_MAX], s[PATH_MAX], p[PATH_MAX];
  path_in(c, cfg, "bad.cfg");
  path_in(c, s, "scratch");
  path_in(c, p, "persistent");
  CHECK(write_cfg(cfg, scratch ? scratch : s, p, extra) == 0, "cannot write %s", cfg);
  return expect_init_fails(c, cfg);
}

static int row_config_mode_fast(ctx_t* c) { return bad_config_row(c, NULL, "mode = fast\n"); }

static int row_config_scratch_relative(ctx_t* c) {
  CHECK(chdir(c->dir) == 0, "chdir(%s): %s", c->dir, strerror(errno));
  RUN(bad_config_row(c, "relative/scratch", NULL));
  char rel[PATH_MAX];
  path_in(c, rel, "relative");
  CHECK(!exists(rel), "a relative scratch directory was created: %s", rel);
  return ROW_PASS;
}

static int row_config_scratch_versions_negative(ctx_t* c) {
  return bad_config_row(c, NULL, "scratch_versions = -1\n");
}

static int row_scratch_is_a_file(ctx_t* c) {
  char file[PATH_MAX], below[PATH_MAX], cfg[PATH_MAX], p[PATH_MAX];
  path_in(c, file, "scratch-file");
  path_in(c, p, "persistent");
  CHECK(write_text(file, "not a directory\n") == 0, "cannot write %s", file);
  path_in(c, cfg, "bad.cfg");
  CHECK(write_cfg(cfg, file, p, NULL) == 0, "cannot write %s", cfg);
  RUN(expect_init_fails(c, cfg));
  /* A path below the file (ENOTDIR), too. */
  snprintf(below, sizeof below, "%s/sub", file);
  CHECK(write_cfg(cfg, below, p, NULL) == 0, "cannot write %s", cfg);
  RUN(expect_init_fails(c, cfg));
  struct stat st;
  CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 16,
        "the file in place of scratch was changed");
  return ROW_PASS;
}

static int row_region_too_small(ctx_t* c) {
  RUN(init_good(c));
  static int small[NDATA / 2];
  memset(small, 0x5a, sizeof small);
  CHECK(VELOC_Mem_protect(0, small, NDATA / 2, sizeof(int)) == VELOC_SUCCESS, "Mem_protect failed");
  CHECK(VELOC_Restart_test("base", 0) == 2, "Restart_test(base) != 2");
  CHECK(VELOC_Restart("base", 2) == VELOC_FAILURE,
        "Restart into a region of %zu bytes succeeded (saved: %zu bytes)", sizeof small,
        sizeof g_buf);
  CHECK(all_bytes(small, sizeof small, 0x5a), "the failed restart wrote into the small region");
  /* Step by step: the size is reported, Recover_mem refuses, Restart_end closes. */
  CHECK(VELOC_Restart_begin("base", 2) == VELOC_SUCCESS, "Restart_begin failed");
  int sz = VELOC_Recover_size(0);
  CHECK(sz == (int)sizeof g_buf, "Recover_size(0) = %d, expected %zu", sz, sizeof g_buf);
  CHECK(VELOC_Recover_mem() == VELOC_FAILURE, "Recover_mem into a too small region succeeded");
  CHECK(all_bytes(small, sizeof small, 0x5a), "the failed Recover_mem wrote into the region");
  CHECK(VELOC_Restart_end(0) == VELOC_SUCCESS, "Restart_end(0) failed");
  /* The client is still usable: with the right size the restart works. */
  memset(g_buf, 0, sizeof g_buf);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS, "re-protect failed");
  CHECK(VELOC_Restart("base", 2) == VELOC_SUCCESS, "Restart after re-protecting failed");
  CHECK(matches(g_buf, NDATA, 2), "wrong data after re-protecting");
  return ROW_PASS;
}

static int row_restart_missing_version(ctx_t* c) {
  RUN(init_good(c));
  memset(g_buf, 0x5a, sizeof g_buf);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS, "Mem_protect failed");
  CHECK(VELOC_Restart("base", 7) == VELOC_FAILURE, "Restart(base, 7) succeeded");
  CHECK(VELOC_Restart_begin("base", 3) == VELOC_FAILURE, "Restart_begin(base, 3) succeeded");
  CHECK(VELOC_Recover_mem() == VELOC_FAILURE, "Recover_mem succeeded after a failed begin");
  CHECK(VELOC_Restart_end(1) == VELOC_FAILURE, "Restart_end succeeded after a failed begin");
  CHECK(VELOC_Restart("nosuch", 1) == VELOC_FAILURE, "Restart(nosuch, 1) succeeded");
  CHECK(VELOC_Restart_test("nosuch", 0) == VELOC_FAILURE, "Restart_test(nosuch) found a version");
  CHECK(all_bytes(g_buf, sizeof g_buf, 0x5a), "a failed restart wrote into the region");
  CHECK(VELOC_Restart_test("base", 1) == 1, "Restart_test(base, 1) != 1");
  CHECK(VELOC_Restart_test("base", 0) == 2, "Restart_test(base, 0) != 2");
  return ROW_PASS;
}

static int row_checkpoint_end_without_begin(ctx_t* c) {
  RUN(init_good(c));
  pattern(g_buf, NDATA, 3);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS, "Mem_protect failed");
  CHECK(VELOC_Checkpoint_end(1) == VELOC_FAILURE, "Checkpoint_end(1) without begin succeeded");
  CHECK(VELOC_Checkpoint_end(0) == VELOC_FAILURE, "Checkpoint_end(0) without begin succeeded");
  CHECK(VELOC_Checkpoint_mem() == VELOC_FAILURE, "Checkpoint_mem without begin succeeded");
  char d[PATH_MAX], names[1024];
  path_in(c, d, "scratch/base");
  list_dir(d, names, sizeof names);
  CHECK(strcmp(names, "v1 v2") == 0, "scratch/base holds '%s', expected 'v1 v2'", names);
  /* The client is still usable. */
  CHECK(VELOC_Checkpoint("base", 3) == VELOC_SUCCESS, "a proper checkpoint afterwards failed");
  c->latest = 3;
  c->latest_seed = 3;
  return ROW_PASS;
}

static int row_restart_begin_twice(ctx_t* c) {
  RUN(init_good(c));
  memset(g_buf, 0, sizeof g_buf);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS, "Mem_protect failed");
  CHECK(VELOC_Restart_begin("base", 2) == VELOC_SUCCESS, "first Restart_begin failed");
  CHECK(VELOC_Restart_begin("base", 2) == VELOC_FAILURE, "second Restart_begin succeeded");
  CHECK(VELOC_Restart_begin("base", 1) == VELOC_FAILURE, "Restart_begin(base, 1) succeeded");
  CHECK(VELOC_Checkpoint_begin("base", 5) == VELOC_FAILURE,
        "Checkpoint_begin during a restart succeeded");
  /* The first restart is still the open one. */
  CHECK(VELOC_Recover_mem() == VELOC_SUCCESS, "Recover_mem failed");
  CHECK(matches(g_buf, NDATA, 2), "restored data is not version 2's");
  CHECK(VELOC_Restart_end(1) == VELOC_SUCCESS, "Restart_end failed");
  CHECK(VELOC_Restart_end(1) == VELOC_FAILURE, "second Restart_end succeeded");
  return ROW_PASS;
}

static int row_bad_names(ctx_t* c) {
  RUN(init_good(c));
  pattern(g_buf, NDATA, 4);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS, "Mem_protect failed");
  char longname[1100];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  const char* bad[] = {"a/b",          "..", ".",   "../base", "base/../base", "/abs",
                       "../../escape", "",   "a b", "x\ny",    longname};
  char shown[64];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    const char* n = bad[i];
    snprintf(shown, sizeof shown, "%.40s%s", n, strlen(n) > 40 ? "..." : "");
    CHECK(VELOC_Checkpoint(n, 3) == VELOC_FAILURE, "Checkpoint('%s') succeeded", shown);
    CHECK(VELOC_Checkpoint_begin(n, 3) == VELOC_FAILURE, "Checkpoint_begin('%s') succeeded", shown);
    CHECK(VELOC_Checkpoint_end(1) == VELOC_FAILURE,
          "Checkpoint_end succeeded after a refused begin('%s')", shown);
    CHECK(VELOC_Restart_test(n, 0) == VELOC_FAILURE, "Restart_test('%s') succeeded", shown);
    CHECK(VELOC_Restart(n, 1) == VELOC_FAILURE, "Restart('%s') succeeded", shown);
    CHECK(VELOC_Cleanup(n) == VELOC_FAILURE, "Cleanup('%s') succeeded", shown);
    /* (A group named "" is the default group, so only non-empty names are refused.) */
    CHECK(n[0] == '\0' || VELOC_Region_protect(7, g_buf, 1, sizeof(int), n) == VELOC_FAILURE,
          "Region_protect(group '%s') succeeded", shown);
  }
  CHECK(VELOC_Checkpoint(NULL, 3) == VELOC_FAILURE, "Checkpoint(NULL) succeeded");
  CHECK(VELOC_Restart_test(NULL, 0) == VELOC_FAILURE, "Restart_test(NULL) succeeded");
  CHECK(VELOC_Cleanup(NULL) == VELOC_FAILURE, "Cleanup(NULL) succeeded");
  /* Nothing was created or removed outside the checkpoint "base". */
  char d[PATH_MAX], names[1024];
  list_dir(c->dir, names, sizeof names);
  CHECK(strcmp(names, "good.cfg persistent scratch") == 0,
        "the row directory holds '%s', expected 'good.cfg persistent scratch'", names);
  path_in(c, d, "scratch");
  list_dir(d, names, sizeof names);
  CHECK(strcmp(names, "base") == 0, "scratch holds '%s', expected 'base'", names);
  path_in(c, d, "persistent");
  list_dir(d, names, sizeof names);
  CHECK(strcmp(names, "base") == 0, "persistent holds '%s', expected 'base'", names);
  path_in(c, d, "scratch/base");
  list_dir(d, names, sizeof names);
  CHECK(strcmp(names, "v1 v2") == 0, "scratch/base holds '%s', expected 'v1 v2'", names);
  return ROW_PASS;
}

static int row_negative_version(ctx_t* c) {
  RUN(init_good(c));
  pattern(g_buf, NDATA, 5);
  CHECK(VELOC_Mem_protect(0, g_buf, NDATA, sizeof(int)) == VELOC_SUCCESS, "Mem_protect failed");
  const int bad[] = {-1, -5, INT_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    int v = bad[i];
    CHECK(VELOC_Checkpoint("base", v) == VELOC_FAILURE, "Checkpoint(base, %d) succeeded", v);
    CHECK(VELOC_Checkpoint_begin("base", v) == VELOC_FAILURE,
          "Checkpoint_begin(base, %d) succeeded", v);
    CHECK(VELOC_Checkpoint_end(1) == VELOC_FAILURE,
          "Checkpoint_end succeeded after a refused begin(base, %d)", v);
    CHECK(VELOC_Restart("base", v) == VELOC_FAILURE, "Restart(base, %d) succeeded", v);
    CHECK(VELOC_Restart_begin("base", v) == VELOC_FAILURE, "Restart_begin(base, %d) succeeded", v);
    CHECK(VELOC_Restart_test("base", v) == VELOC_FAILURE, "Restart_test(base, %d) succeeded", v);
  }
  char d[PATH_MAX], names[1024];
  path_in(c, d, "scratch/base");
  list_dir(d, names, sizeof names);
  CHECK(strcmp(names, "v1 v2") == 0, "scratch/base holds '%s', expected 'v1 v2'", names);
  return ROW_PASS;
}

/* Mounts a 1 MiB tmpfs at <dir>/<rel>; ROW_SKIP when not permitted. */
static int mount_tiny(ctx_t* c, const char* rel, char* mnt) {
  path_in(c, mnt, rel);
  CHECK(mkdir(mnt, 0700) == 0, "mkdir(%s): %s", mnt, strerror(errno));
  if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
    snprintf(c->msg, sizeof c->msg, "cannot mount a 1 MiB tmpfs (%s): row skipped",
             strerror(errno));
    return ROW_SKIP;
  }
  return ROW_PASS;
}

/* One level on a 1 MiB tmpfs: a small version commits, a 4 MiB one fails cleanly, and the
 * small one survives. `tiny_is_scratch` picks which level is the tmpfs. */
static int disk_full_row(ctx_t* c, int tiny_is_scratch) {
  char mnt[PATH_MAX], s[PATH_MAX], p[PATH_MAX], cfg[PATH_MAX];
  RUN(mount_tiny(c, "tiny", mnt));
  int rc = ROW_FAIL;
  static int small[4096];
  char* big = malloc(4u << 20);
  if (big == NULL) {
    snprintf(c->msg, sizeof c->msg, "out of memory");
    goto out;
  }
  memset(big, 0x3c, 4u << 20);
  snprintf(s, sizeof s, "%s/%s", tiny_is_scratch ? mnt : c->dir, "scratch2");
  snprintf(p, sizeof p, "%s/%s", tiny_is_scratch ? c->dir : mnt, "persistent2");
  path_in(c, cfg, "tiny.cfg");
  if (write_cfg(cfg, s, p, NULL) != 0) {
    snprintf(c->msg, sizeof c->msg, "cannot write %s", cfg);
    goto out;
  }
#define CHECK_OUT(cond, ...)             \
  do {                                   \
    if (!(cond)) {                       \
      set_msg(c, __LINE__, __VA_ARGS__); \
      goto out;                          \
    }                                    \
  } while (0)
  CHECK_OUT(VELOC_Init_single(0, cfg) == VELOC_SUCCESS, "Init with %s failed", cfg);
  pattern(small, 4096, 6);
  CHECK_OUT(VELOC_Mem_protect(0, small, 4096, sizeof(int)) == VELOC_SUCCESS, "protect failed");
  CHECK_OUT(VELOC_Checkpoint("full", 1) == VELOC_SUCCESS, "the small checkpoint (16 KiB) failed");
  CHECK_OUT(VELOC_Mem_protect(1, big, 4u << 20, 1) == VELOC_SUCCESS, "protect 4 MiB failed");
  CHECK_OUT(VELOC_Checkpoint("full", 2) == VELOC_FAILURE,
            "a 4 MiB checkpoint on a 1 MiB %s succeeded",
            tiny_is_scratch ? "scratch" : "persistent");
  CHECK_OUT(count_tmp(c->dir) == 0, "temporary file left after the failure: %s", g_tmp_first);
  CHECK_OUT(VELOC_Restart_test("full", 1) == 1, "version 1 is no longer restorable");
  memset(small, 0, sizeof small);
  CHECK_OUT(VELOC_Mem_unprotect(1) == VELOC_SUCCESS, "unprotect failed");
  CHECK_OUT(VELOC_Restart("full", 1) == VELOC_SUCCESS, "Restart(full, 1) failed");
  CHECK_OUT(matches(small, 4096, 6), "version 1 restarted with wrong data");
  if (tiny_is_scratch) {
    /* Nothing of version 2 may count as committed. */
    CHECK_OUT(VELOC_Restart_test("full", 0) == 1, "Restart_test(full) != 1 after the failure");
  }
  /* The space was given back: another small checkpoint works. */
  pattern(small, 4096, 7);
  CHECK_OUT(VELOC_Checkpoint("full", 3) == VELOC_SUCCESS,
            "a small checkpoint after the failure failed (space not released?)");
  CHECK_OUT(VELOC_Finalize(1) == VELOC_SUCCESS, "Finalize failed");
  /* A new client finds version 3. */
  CHECK_OUT(VELOC_Init_single(0, cfg) == VELOC_SUCCESS, "re-Init failed");
  memset(small, 0, sizeof small);
  CHECK_OUT(VELOC_Mem_protect(0, small, 4096, sizeof(int)) == VELOC_SUCCESS, "protect failed");
  CHECK_OUT(VELOC_Restart_test("full", 0) == 3, "newest version is not 3");
  CHECK_OUT(VELOC_Restart("full", 3) == VELOC_SUCCESS, "Restart(full, 3) failed");
  CHECK_OUT(matches(small, 4096, 7), "version 3 restarted with wrong data");
  CHECK_OUT(VELOC_Finalize(1) == VELOC_SUCCESS, "Finalize failed");
  CHECK_OUT(count_tmp(c->dir) == 0, "temporary file left behind: %s", g_tmp_first);
#undef CHECK_OUT
  rc = ROW_PASS;
out:
  (void)VELOC_Finalize(0);
  free(big);
  if (umount2(mnt, MNT_DETACH) != 0 && rc == ROW_PASS) {
    snprintf(c->msg, sizeof c->msg, "umount(%s): %s", mnt, strerror(errno));
    rc = ROW_FAIL;
  }
  rmdir(mnt);
  return rc;
}

static int row_disk_full_scratch(ctx_t* c) { return disk_full_row(c, 1); }
static int row_disk_full_persistent(ctx_t* c) { return disk_full_row(c, 0); }

/* ------------------------------------------------------------------ driver */

typedef struct row {
  const char* name;
  int (*fn)(ctx_t*);
  const char* stderr_expect; /* a string the failure's log must contain (NULL: none) */
} row_t;

static const row_t kRows[] = {
    {"missing config file", row_missing_config, "no-such.cfg"},
    {"config: mode = fast", row_config_mode_fast, "fast"},
    {"config: scratch relative", row_config_scratch_relative, "relative/scratch"},
    {"config: scratch_versions = -1", row_config_scratch_versions_negative, "scratch_versions"},
    {"scratch is a file", row_scratch_is_a_file, "scratch-file"},
    {"region smaller than saved data", row_region_too_small, NULL},
    {"restart of a missing version", row_restart_missing_version, NULL},
    {"Checkpoint_end without begin", row_checkpoint_end_without_begin, NULL},
    {"Restart_begin twice", row_restart_begin_twice, NULL},
    {"name with '/' or '..'", row_bad_names, NULL},
    {"negative version", row_negative_version, NULL},
    {"disk full (scratch, 1 MiB tmpfs)", row_disk_full_scratch, "space"},
    {"disk full (persistent, 1 MiB tmpfs)", row_disk_full_persistent, "space"},
};

/* In the child: baseline, the row, the final checks. */
static int run_row(const row_t* r, ctx_t* c) {
  char s[PATH_MAX], p[PATH_MAX];
  path_in(c, s, "scratch");
  path_in(c, p, "persistent");
  path_in(c, c->cfg, "good.cfg");
  CHECK(write_cfg(c->cfg, s, p, NULL) == 0, "cannot write %s", c->cfg);
  RUN(baseline(c));
  RUN(r->fn(c));
  return verify_intact(c);
}

static int file_contains(const char* path, const char* needle) {
  FILE* f = fopen(path, "r");
  if (f == NULL) return 0;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, needle) != NULL;
}

static long file_size(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void print_tail(const char* path) {
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "tail -n 8 '%s' | sed 's/^/      | /'", path);
  fflush(stdout);
  if (system(cmd) != 0) fprintf(stdout, "      (cannot show %s)\n", path);
}

static int rm_rf_cb(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(int argc, char** argv) {
  char root[PATH_MAX];
  int own_root = 0;
  if (argc > 1) {
    snprintf(root, sizeof root, "%s", argv[1]);
    if (mkdir(root, 0700) != 0 && errno != EEXIST) {
      fprintf(stderr, "bad_inputs: mkdir(%s): %s\n", root, strerror(errno));
      return 2;
    }
  } else {
    const char* tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/cairn-bad-inputs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(root) == NULL) {
      fprintf(stderr, "bad_inputs: mkdtemp: %s\n", strerror(errno));
      return 2;
    }
    own_root = 1;
  }
  /* cairn's own environment must not override the configurations of the rows. */
  const char* keys[] = {"SCRATCH",      "PERSISTENT",          "MODE",   "SCRATCH_VERSIONS",
                        "MAX_VERSIONS", "PERSISTENT_INTERVAL", "CHKSUM", "META"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
    char name[64];
    snprintf(name, sizeof name, "CAIRN_%s", keys[i]);
    unsetenv(name);
    snprintf(name, sizeof name, "VELOC_%s", keys[i]);
    unsetenv(name);
  }

  const size_t nrows = sizeof kRows / sizeof kRows[0];
  int results[sizeof kRows / sizeof kRows[0]];
  char details[sizeof kRows / sizeof kRows[0]][2048];
  int failed = 0;
  for (size_t i = 0; i < nrows; ++i) {
    const row_t* r = &kRows[i];
    ctx_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.dir, sizeof c.dir, "%s/row%02zu", root, i + 1);
    char out_path[PATH_MAX], err_path[PATH_MAX];
    snprintf(out_path, sizeof out_path, "%s.stdout", c.dir);
    snprintf(err_path, sizeof err_path, "%s.stderr", c.dir);
    if (mkdir(c.dir, 0700) != 0) {
      fprintf(stderr, "bad_inputs: mkdir(%s): %s\n", c.dir, strerror(errno));
      return 2;
    }
    int fds[2];
    if (pipe(fds) != 0) return 2;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      close(fds[0]);
      int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(100);
      close(o);
      close(e);
      alarm(60); /* a hung row is reported as killed by SIGALRM */
      int rc = run_row(r, &c);
      fflush(stdout);
      fflush(stderr);
      char report[2100];
      int n = snprintf(report, sizeof report, "%d %s", rc, c.msg);
      if (n > (int)sizeof report - 1) n = (int)sizeof report - 1;
      if (write(fds[1], report, (size_t)n) != n) _exit(101);
      _exit(0);
    }
    close(fds[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char report[2100];
    ssize_t n = read(fds[0], report, sizeof report - 1);
    close(fds[0]);
    char mnt[PATH_MAX];
    snprintf(mnt, sizeof mnt, "%s/tiny", c.dir);
    (void)umount2(mnt, MNT_DETACH); /* in case the child died with the tmpfs mounted */

    int res = ROW_FAIL;
    char* detail = details[i];
    detail[0] = '\0';
    if (n <= 0) {
      if (WIFSIGNALED(status)) {
        snprintf(detail, 2048, "crashed: killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
      } else {
        snprintf(detail, 2048, "the process exited (status %d) in the middle of the row",
                 WEXITSTATUS(status));
      }
    } else {
      report[n] = '\0';
      char* msg = strchr(report, ' ');
      res = atoi(report);
      snprintf(detail, 2048, "%s", msg ? msg + 1 : "");
    }
    if (res == ROW_PASS && file_size(out_path) != 0) {
      res = ROW_FAIL;
      snprintf(detail, 2048, "%ld bytes were written to stdout (cairn must log to stderr)",
               file_size(out_path));
    }
    if (res == ROW_PASS && r->stderr_expect && !file_contains(err_path, r->stderr_expect)) {
      res = ROW_FAIL;
      snprintf(detail, 2048, "the log (stderr) does not name the problem ('%s')", r->stderr_expect);
    }
    if (res == ROW_PASS && count_tmp(c.dir) != 0) {
      res = ROW_FAIL;
      snprintf(detail, 2048, "temporary file left behind: %s", g_tmp_first);
    }
    results[i] = res;
    if (res == ROW_FAIL) failed++;
    printf("%-38s -> %s%s%s\n", r->name,
           res == ROW_PASS   ? "PASS"
           : res == ROW_SKIP ? "SKIP"
                             : "FAIL",
           detail[0] && res != ROW_PASS ? "  " : "", res != ROW_PASS ? detail : "");
    if (res == ROW_FAIL) {
      printf("      stderr of the row (%s):\n", err_path);
      print_tail(err_path);
    }
  }

  printf("\n%-38s    %s\n", "row", "result");
  for (size_t i = 0; i < nrows; ++i) {
    printf("%-38s -> %s\n", kRows[i].name,
           results[i] == ROW_PASS   ? "PASS"
           : results[i] == ROW_SKIP ? "SKIP"
                                    : "FAIL");
  }
  printf("%d of %zu rows failed\n", failed, nrows);
  if (failed == 0 && own_root) nftw(root, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS);
  if (failed != 0) printf("files kept in %s\n", root);
  return failed == 0 ? 0 : 1;
}
