/* C side of Fortran module `veloc` (veloc.F90): the VeloC calls that take strings or arrays.
 *
 * Contract: *err receives VELOC_SUCCESS or VELOC_FAILURE, as VeloC's Fortran interface does
 * (VELOC_Restart_test: the version, or VELOC_FAILURE). Failures of the VeloC C API are logged
 * by libcairn; those the glue finds itself (non-contiguous array, NUL in a string, a path
 * longer than the Fortran variable) are logged here (cf_log_error). Nothing exits or
 * prints to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <veloc.h>

#include "glue.h"

#define EXPORT CAIRN_EXPORT

/* Sets `out` to `call` (an int expression using `s`, the C string of `str`), or logs and sets
 * VELOC_FAILURE when the string cannot be converted. */
#define WITH_STRING(fn, str, what, out, call) \
  do {                                        \
    char why_[CF_MSG_MAX];                    \
    char* s = cf_string((str), (what), why_); \
    if (s == NULL) {                          \
      cf_log_error((fn), why_);               \
      *(out) = VELOC_FAILURE;                 \
      return;                                 \
    }                                         \
    *(out) = (call);                          \
    free(s);                                  \
  } while (0)

EXPORT void cairn_f_veloc_init(const MPI_Fint* comm, const CFI_cdesc_t* cfg, int* err) {
  WITH_STRING("VELOC_Init", cfg, "configuration file name", err,
              VELOC_Init(MPI_Comm_f2c(*comm), s));
}

EXPORT void cairn_f_veloc_init_single(const int* id, const CFI_cdesc_t* cfg, int* err) {
  if (*id < 0) {
    cf_log_error("VELOC_Init_single", "the id must be >= 0");
    *err = VELOC_FAILURE;
    return;
  }
  WITH_STRING("VELOC_Init_single", cfg, "configuration file name", err,
              VELOC_Init_single((unsigned)*id, s));
}

EXPORT void cairn_f_veloc_mem_protect(const int* id, CFI_cdesc_t* data, int* err) {
  void* ptr = NULL;
  size_t count = 0, elem = 0;
  char why[CF_MSG_MAX];
  if (cf_array(data, &ptr, &count, &elem, why) != 0) {
    char msg[CF_MSG_MAX + 32];
    snprintf(msg, sizeof msg, "id %d: %s", *id, why);
    cf_log_error("VELOC_Mem_protect", msg);
    *err = VELOC_FAILURE;
    return;
  }
  *err = VELOC_Mem_protect(*id, ptr, count, elem);
}

EXPORT void cairn_f_veloc_checkpoint_begin(const CFI_cdesc_t* name, const int* version, int* err) {
  WITH_STRING("VELOC_Checkpoint_begin", name, "checkpoint name", err,
              VELOC_Checkpoint_begin(s, *version));
}

EXPORT void cairn_f_veloc_checkpoint(const CFI_cdesc_t* name, const int* version, int* err) {
  WITH_STRING("VELOC_Checkpoint", name, "checkpoint name", err, VELOC_Checkpoint(s, *version));
}

EXPORT void cairn_f_veloc_restart_test(const CFI_cdesc_t* name, const int* needed_version,
                                       int* version) {
  WITH_STRING("VELOC_Restart_test", name, "checkpoint name", version,
              VELOC_Restart_test(s, *needed_version));
}

EXPORT void cairn_f_veloc_restart_begin(const CFI_cdesc_t* name, const int* version, int* err) {
  WITH_STRING("VELOC_Restart_begin", name, "checkpoint name", err,
              VELOC_Restart_begin(s, *version));
}

EXPORT void cairn_f_veloc_restart(const CFI_cdesc_t* name, const int* version, int* err) {
  WITH_STRING("VELOC_Restart", name, "checkpoint name", err, VELOC_Restart(s, *version));
}

EXPORT void cairn_f_veloc_cleanup(const CFI_cdesc_t* name, int* err) {
  WITH_STRING("VELOC_Cleanup", name, "checkpoint name", err, VELOC_Cleanup(s));
}

/* `routed` receives the path blank-padded; it must be long enough for it. */
EXPORT void cairn_f_veloc_route_file(const CFI_cdesc_t* original, CFI_cdesc_t* routed, int* err) {
  char path[VELOC_MAX_NAME];
  cf_fill(routed, "");
  WITH_STRING("VELOC_Route_file", original, "file name", err, VELOC_Route_file(s, path));
  if (*err != VELOC_SUCCESS) return;
  if (strlen(path) > routed->elem_len) {
    char msg[VELOC_MAX_NAME + 128];
    snprintf(msg, sizeof msg, "the routed path (%zu characters) does not fit in `routed` (%zu): %s",
             strlen(path), (size_t)routed->elem_len, path);
    cf_log_error("VELOC_Route_file", msg);
    *err = VELOC_FAILURE;
    return;
  }
  cf_fill(routed, path);
}
