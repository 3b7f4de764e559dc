/* Internal helpers of the Fortran bindings' C glue (not installed).
 *
 * The glue functions are called from Fortran through bind(C) interfaces (cairn.F90,
 * veloc.F90). Strings and arrays arrive as Fortran 2018 C descriptors (CFI_cdesc_t,
 * ISO_Fortran_binding.h of the Fortran compiler the bindings are built with); scalars by
 * reference; optional arguments as NULL when absent. Nothing here calls exit or prints to
 * stdout. */
#ifndef CAIRN_BINDINGS_FORTRAN_GLUE_H
#define CAIRN_BINDINGS_FORTRAN_GLUE_H

#include <ISO_Fortran_binding.h>
#include <cairn/cairn.h>
#include <stddef.h>

/* Fortran's type(cairn_client), bind(C): the handle of an open client (NULL when closed). */
typedef struct cf_client {
  cairn_client_t* handle;
} cf_client;

/* Room for a message of the glue (longer ones are truncated). */
#define CF_MSG_MAX 1024

/* A Fortran character scalar as a malloc'ed C string without its trailing blanks (the
 * Fortran convention for unused length). NULL `s` (absent optional) gives "". Returns NULL
 * and writes the reason to why[CF_MSG_MAX] when the string holds a NUL character or memory
 * runs out. `what` names the argument in the reason. */
char* cf_string(const CFI_cdesc_t* s, const char* what, char* why);

/* Writes `msg` into the Fortran character scalar `out` (blank-padded, truncated to its length).
 * No-op when out is NULL (absent). */
void cf_fill(CFI_cdesc_t* out, const char* msg);

/* A contiguous array (any type, kind and rank; a scalar is rank 0) as address and sizes.
 * Returns 0, or -1 with the reason in why[CF_MSG_MAX]: not contiguous, assumed-size, not
 * allocated / associated (NULL address with a non-zero size), or a size that overflows. */
int cf_array(const CFI_cdesc_t* a, void** ptr, size_t* count, size_t* elem_len, char* why);

/* Errors detected by the glue itself, remembered per calling thread and client (`key`: the
 * cairn_client_t*, NULL for calls without a client), so that cairn_last_error can report
 * them. A failure reported by libcairn clears the glue's message for that client. */
void cf_set_error(const void* key, const char* msg);
void cf_clear_error(const void* key);
/* The glue's message for `key`, or NULL when the client's last failure came from libcairn. */
const char* cf_glue_error(const void* key);

/* Logs a failure the VeloC Fortran interface detected itself (the VeloC API has no error
 * message call): one line "cairn ERROR: <fn>: <msg>" on stderr, or appended to
 * CAIRN_LOG_FILE; nothing when CAIRN_LOG is "off". */
void cf_log_error(const char* fn, const char* msg);

#endif /* CAIRN_BINDINGS_FORTRAN_GLUE_H */
