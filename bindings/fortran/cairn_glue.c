/* C side of Fortran module `cairn` (cairn.F90): one function per bind(C) interface there.
 *
 * Contract of every function: *status receives a cairn_status_t value (CAIRN_OK on success);
 * the optional `errmsg` (NULL when absent) receives the failure's message, blank-padded, or
 * blanks on success; the message also stays available through cairn_f_last_error. Failures
 * the glue detects itself (non-contiguous array, NUL in a string, client not open, a version
 * that does not fit a default integer) are CAIRN_E_INVALID. Nothing exits or prints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "glue.h"

#define EXPORT CAIRN_EXPORT

/* Reports `st` of a libcairn call on client `key` (NULL: client-less call). */
static void done(const void* key, cairn_status_t st, int* status, CFI_cdesc_t* errmsg) {
  *status = (int)st;
  if (st == CAIRN_OK) {
    cf_fill(errmsg, "");
    return;
  }
  cf_clear_error(key);
  cf_fill(errmsg, cairn_last_error((const cairn_client_t*)key));
}

/* Reports a failure found by the glue in function `fn`. */
static void fail(const void* key, const char* fn, const char* why, int* status,
                 CFI_cdesc_t* errmsg) {
  char msg[CF_MSG_MAX];
  snprintf(msg, sizeof msg, "%s: %.900s", fn, why);
  cf_set_error(key, msg);
  *status = (int)CAIRN_E_INVALID;
  cf_fill(errmsg, msg);
}

/* The open client of `c`, or NULL after reporting that it is not open. */
static cairn_client_t* need(const cf_client* c, const char* fn, int* status, CFI_cdesc_t* errmsg) {
  if (c->handle == NULL) fail(NULL, fn, "the client is not open", status, errmsg);
  return c->handle;
}

/* Runs `call` (a cairn_status_t expression using `s`, the C string of `str`) on client `cl`. */
#define WITH_STRING(fn, cl, str, what, call)  \
  do {                                        \
    char why_[CF_MSG_MAX];                    \
    char* s = cf_string((str), (what), why_); \
    if (s == NULL) {                          \
      fail((cl), (fn), why_, status, errmsg); \
      return;                                 \
    }                                         \
    cairn_status_t st_ = (call);              \
    free(s);                                  \
    done((cl), st_, status, errmsg);          \
  } while (0)

static void open_client(cf_client* client, int mpi, int rank, MPI_Fint comm, const CFI_cdesc_t* cfg,
                        int* status, CFI_cdesc_t* errmsg) {
  const char* fn = mpi ? "cairn_open" : "cairn_open_single";
  if (client->handle != NULL) {
    fail(client->handle, fn, "the client is already open (close it first)", status, errmsg);
    return;
  }
  if (!mpi && rank < 0) {
    fail(NULL, fn, "the rank must be >= 0", status, errmsg);
    return;
  }
  char why[CF_MSG_MAX];
  char* path = cf_string(cfg, "configuration file name", why);
  if (path == NULL) {
    fail(NULL, fn, why, status, errmsg);
    return;
  }
  cairn_client_t* out = NULL;
  cairn_status_t st = mpi ? cairn_open_mpi(MPI_Comm_f2c(comm), path, &out)
                          : cairn_open_single((unsigned)rank, path, &out);
  free(path);
  if (st == CAIRN_OK) client->handle = out;
  done(NULL, st, status, errmsg);
}

EXPORT void cairn_f_open_single(cf_client* client, const int* rank, const CFI_cdesc_t* cfg,
                                int* status, CFI_cdesc_t* errmsg) {
  open_client(client, 0, *rank, 0, cfg, status, errmsg);
}

EXPORT void cairn_f_open_mpi(cf_client* client, const MPI_Fint* comm, const CFI_cdesc_t* cfg,
                             int* status, CFI_cdesc_t* errmsg) {
  open_client(client, 1, 0, *comm, cfg, status, errmsg);
}

EXPORT void cairn_f_close(cf_client* client, const int* drain, int* status, CFI_cdesc_t* errmsg) {
  cairn_client_t* c = client->handle;
  client->handle = NULL;
  cf_clear_error(c);
  done(NULL, cairn_close(c, *drain), status, errmsg);
}

EXPORT int cairn_f_rank(const cf_client* client) { return cairn_rank(client->handle); }
EXPORT int cairn_f_size(const cf_client* client) { return cairn_size(client->handle); }

EXPORT void cairn_f_protect(const cf_client* client, const int* id, CFI_cdesc_t* data, int* status,
                            const CFI_cdesc_t* group, CFI_cdesc_t* errmsg) {
  static const char fn[] = "cairn_protect";
  cairn_client_t* c = need(client, fn, status, errmsg);
  if (c == NULL) return;
  void* ptr = NULL;
  size_t count = 0, elem = 0;
  char why[CF_MSG_MAX];
  if (cf_array(data, &ptr, &count, &elem, why) != 0) {
    char msg[CF_MSG_MAX];
    snprintf(msg, sizeof msg, "id %d: %.900s", *id, why);
    fail(c, fn, msg, status, errmsg);
    return;
  }
  WITH_STRING(fn, c, group, "group name", cairn_protect_named(c, s, *id, ptr, count * elem));
}

EXPORT void cairn_f_protect_ptr(const cf_client* client, const int* id, void* ptr,
                                const long long* bytes, int* status, const CFI_cdesc_t* group,
                                CFI_cdesc_t* errmsg) {
  static const char fn[] = "cairn_protect_ptr";
  cairn_client_t* c = need(client, fn, status, errmsg);
  if (c == NULL) return;
  if (*bytes < 0) {
    fail(c, fn, "the size in bytes is negative", status, errmsg);
    return;
  }
  WITH_STRING(fn, c, group, "group name", cairn_protect_named(c, s, *id, ptr, (size_t)*bytes));
}

EXPORT void cairn_f_unprotect(const cf_client* client, const int* id, int* status,
                              const CFI_cdesc_t* group, CFI_cdesc_t* errmsg) {
  static const char fn[] = "cairn_unprotect";
  cairn_client_t* c = need(client, fn, status, errmsg);
  if (c == NULL) return;
  WITH_STRING(fn, c, group, "group name", cairn_unprotect(c, s, *id));
}

static void checkpoint(const cf_client* client, const CFI_cdesc_t* name, long long version,
                       int* status, CFI_cdesc_t* errmsg) {
  static const char fn[] = "cairn_checkpoint";
  cairn_client_t* c = need(client, fn, status, errmsg);
  if (c == NULL) return;
  WITH_STRING(fn, c, name, "checkpoint name", cairn_checkpoint(c, s, version));
}

EXPORT void cairn_f_checkpoint4(const cf_client* client, const CFI_cdesc_t* name,
                                const int* version, int* status, CFI_cdesc_t* errmsg) {
  checkpoint(client, name, *version, status, errmsg);
}

EXPORT void cairn_f_checkpoint8(const cf_client* client, const CFI_cdesc_t* name,
                                const long long* version, int* status, CFI_cdesc_t* errmsg) {
  checkpoint(client, name, *version, status, errmsg);
}

static void restart(const cf_client* client, const CFI_cdesc_t* name, long long version,
                    int* status, CFI_cdesc_t* errmsg) {
  static const char fn[] = "cairn_restart";
  cairn_client_t* c = need(client, fn, status, errmsg);
  if (c == NULL) return;
  WITH_STRING(fn, c, name, "checkpoint name", cairn_restart(c, s, version));
}

EXPORT void cairn_f_restart4(const cf_client* client, const CFI_cdesc_t* name, const int* version,
                             int* status, CFI_cdesc_t* errmsg) {
  restart(client, name, *version, status, errmsg);
}

EXPORT void cairn_f_restart8(const cf_client* client, const CFI_cdesc_t* name,
                             const long long* version, int* status, CFI_cdesc_t* errmsg) {
  restart(client, name, *version, status, errmsg);
}

/* cairn_restart_latest (restore != 0) or cairn_restart_test; *found gets the version. */
static void find_latest(int restore, const cf_client* client, const CFI_cdesc_t* name,
                        long long max_version, long long* found, int* status, CFI_cdesc_t* errmsg) {
  const char* fn = restore ? "cairn_restart_latest" : "cairn_restart_test";
  cairn_client_t* c = need(client, fn, status, errmsg);
  if (c == NULL) return;
  WITH_STRING(fn, c, name, "checkpoint name",
              restore ? cairn_restart_latest(c, s, max_version, found)
                      : cairn_restart_test(c, s, max_version, found));
}

static void latest4(int restore, const cf_client* client, const CFI_cdesc_t* name, int* version,
                    int* status, const int* max_version, CFI_cdesc_t* errmsg) {
  long long v = -1;
  find_latest(restore, client, name, max_version ? *max_version : CAIRN_ANY_VERSION, &v, status,
              errmsg);
  if (*status != CAIRN_OK) return;
  if (v > INT_MAX) {
    char why[128];
    snprintf(why, sizeof why, "version %lld does not fit in a default integer (use integer(8))", v);
    fail(client->handle, restore ? "cairn_restart_latest" : "cairn_restart_test", why, status,
         errmsg);
    return;
  }
  *version = (int)v;
}

EXPORT void cairn_f_restart_latest4(const cf_client* client, const CFI_cdesc_t* name, int* version,
                                    int* status, const int* max_version, CFI_cdesc_t* errmsg) {
  latest4(1, client, name, version, status, max_version, errmsg);
}

EXPORT void cairn_f_restart_latest8(const cf_client* client, const CFI_cdesc_t* name,
                                    long long* version, int* status, const long long* max_version,
                                    CFI_cdesc_t* errmsg) {
  find_latest(1, client, name, max_version ? *max_version : CAIRN_ANY_VERSION, version, status,
              errmsg);
}

EXPORT void cairn_f_restart_test4(const cf_client* client, const CFI_cdesc_t* name, int* version,
                                  int* status, const int* max_version, CFI_cdesc_t* errmsg) {
  latest4(0, client, name, version, status, max_version, errmsg);
}

EXPORT void cairn_f_restart_test8(const cf_client* client, const CFI_cdesc_t* name,
                                  long long* version, int* status, const long long* max_version,
                                  CFI_cdesc_t* errmsg) {
  find_latest(0, client, name, max_version ? *max_version : CAIRN_ANY_VERSION, version, status,
              errmsg);
}

EXPORT void cairn_f_wait(const cf_client* client, int* status, CFI_cdesc_t* errmsg) {
  cairn_client_t* c = need(client, "cairn_wait", status, errmsg);
  if (c != NULL) done(c, cairn_wait(c), status, errmsg);
}

EXPORT void cairn_f_need_checkpoint(const cf_client* client, int* flag, int* status,
                                    CFI_cdesc_t* errmsg) {
  cairn_client_t* c = need(client, "cairn_need_checkpoint", status, errmsg);
  if (c != NULL) done(c, cairn_need_checkpoint(c, flag), status, errmsg);
}

EXPORT void cairn_f_should_exit(const cf_client* client, int* flag, int* status,
                                CFI_cdesc_t* errmsg) {
  cairn_client_t* c = need(client, "cairn_should_exit", status, errmsg);
  if (c != NULL) done(c, cairn_should_exit(c, flag), status, errmsg);
}

/* The message of the last failure on `client` (NULL: of client-less calls) in this thread. */
EXPORT const char* cairn_f_last_error(const cf_client* client) {
  const void* key = client == NULL ? NULL : client->handle;
  const char* glue = cf_glue_error(key);
  return glue != NULL ? glue : cairn_last_error((const cairn_client_t*)key);
}
