/* cairn's own C API: checkpoint/restart of memory regions and files.
 *
 * Conventions
 * - Every function that can fail returns a cairn_status_t (CAIRN_OK on success). None calls
 *   exit() or abort(), throws, or prints to stdout. Failures are left to the caller to
 *   report; they are also logged at info level (stderr or CAIRN_LOG_FILE; CAIRN_LOG=info).
 * - After a failure, cairn_last_error() gives a message naming what failed (path, name,
 *   version, rank).
 * - Output parameters are written only on success unless stated otherwise.
 * - Names of checkpoints are 1..200 characters of [A-Za-z0-9_.] (not "." or ".."); versions
 *   are >= 0 and increase from one checkpoint to the next.
 *
 * Threads
 * - A cairn_client_t may be used from several threads: calls on it are serialized. A
 *   checkpoint (begin .. end) or restart sequence must be driven by one thread at a time.
 * - cairn_close() must not run concurrently with any other call on the same client.
 * - Different clients are independent. cairn_status_string() and cairn_version() are always
 *   safe.
 *
 * The protocol is VeloC's: see veloc.h. A process may open several clients, but each
 * should use its own scratch/persistent directories or ranks. */
#ifndef CAIRN_CAIRN_H
#define CAIRN_CAIRN_H

#include <cairn/cairn_config.h>
#include <cairn/export.h>
#include <stddef.h>

#if CAIRN_HAVE_MPI
#include <mpi.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* An open client (opaque). */
typedef struct cairn_client cairn_client_t;

/* Results. The values are stable (part of the ABI). */
typedef enum cairn_status {
  CAIRN_OK = 0,
  CAIRN_E_INVALID = 1,     /* bad argument: NULL pointer, name, version, config value */
  CAIRN_E_NOT_FOUND = 2,   /* no such version, region, file */
  CAIRN_E_CORRUPT = 3,     /* checksum mismatch, bad magic, truncated file */
  CAIRN_E_IO = 4,          /* a system call failed */
  CAIRN_E_NO_SPACE = 5,    /* ENOSPC / EDQUOT while writing */
  CAIRN_E_ORDER = 6,       /* calls out of order (end without begin, ...) */
  CAIRN_E_UNAVAILABLE = 7, /* a peer (rank) is gone */
  CAIRN_E_INTERNAL = 8     /* a bug in cairn */
} cairn_status_t;

/* Which regions cairn_checkpoint_mem / cairn_recover_mem handle. */
typedef enum cairn_select {
  CAIRN_SELECT_ALL = 0,  /* every region; the id list is ignored */
  CAIRN_SELECT_SOME = 1, /* only the listed ids */
  CAIRN_SELECT_REST = 2  /* every region except the listed ids */
} cairn_select_t;

/* max_version of cairn_restart_latest: no upper bound. */
#define CAIRN_ANY_VERSION 0LL

/* A buffer of this many bytes always holds a routed path (cairn_route_file). */
#define CAIRN_PATH_MAX 4096

/* Called after a checkpoint version is committed, with the `user` pointer given at
 * registration. May run on a library thread (async mode); must not call into the client. */
typedef void (*cairn_observer_fn)(const char* name, long long version, void* user);

/* ---- Open / close ------------------------------------------------------------------- */

/* Opens a client in independent mode as `rank` (no MPI calls). `cfg` is a VeloC
 * configuration file; NULL or "" reads the configuration from the environment only
 * (CAIRN_<KEY>, VELOC_<KEY>). Creates the scratch and persistent directories if missing.
 * On failure *out is set to NULL and the message is cairn_last_error(NULL). */
CAIRN_EXPORT cairn_status_t cairn_open_single(unsigned rank, const char* cfg, cairn_client_t** out);

#if CAIRN_HAVE_MPI
/* Opens a client in collective mode over `comm` (collective: every rank calls it; MPI must be
 * initialized). The rank is the rank in `comm`; the communicator is duplicated. */
CAIRN_EXPORT cairn_status_t cairn_open_mpi(MPI_Comm comm, const char* cfg, cairn_client_t** out);
#endif

/* Closes and frees `c` (NULL: no-op, CAIRN_OK). drain != 0 waits for pending asynchronous work
 * first and returns its result; drain == 0 abandons it. `c` is freed even when the result is
 * an error; the message is then cairn_last_error(NULL). Collective in MPI mode. */
CAIRN_EXPORT cairn_status_t cairn_close(cairn_client_t* c, int drain);

/* This process's rank (its id in independent mode) and the number of ranks (1 in independent
 * mode); -1 when c is NULL. */
CAIRN_EXPORT int cairn_rank(const cairn_client_t* c);
CAIRN_EXPORT int cairn_size(const cairn_client_t* c);

/* ---- Regions ------------------------------------------------------------------------ */

/* Registers `bytes` bytes at `ptr` under `id` in the default group (ptr may be NULL only when
 * bytes is 0). Re-protecting an id replaces it. The memory must stay valid until it is
 * unprotected or the client closed. */
CAIRN_EXPORT cairn_status_t cairn_protect(cairn_client_t* c, int id, void* ptr, size_t bytes);

/* As cairn_protect, in the group `group` (NULL or "": the default group). A checkpoint or
 * restart named N uses the group named N if it exists, else the default group. */
CAIRN_EXPORT cairn_status_t cairn_protect_named(cairn_client_t* c, const char* group, int id,
                                                void* ptr, size_t bytes);

/* Unregisters `id` from `group` (NULL or "": default group); CAIRN_E_NOT_FOUND if absent. */
CAIRN_EXPORT cairn_status_t cairn_unprotect(cairn_client_t* c, const char* group, int id);

/* Unregisters every region of `group` (NULL or "": default group). */
CAIRN_EXPORT cairn_status_t cairn_clear(cairn_client_t* c, const char* group);

/* Unregisters every region of every group. */
CAIRN_EXPORT cairn_status_t cairn_clear_all(cairn_client_t* c);

/* ---- Checkpoint --------------------------------------------------------------------- */

/* cairn_wait + begin + mem(ALL) + end(1): a complete checkpoint. In sync mode the version is
 * committed when it returns CAIRN_OK; in async mode it is committed in the background and
 * cairn_wait reports the result. */
CAIRN_EXPORT cairn_status_t cairn_checkpoint(cairn_client_t* c, const char* name,
                                             long long version);

/* The steps of a checkpoint, for programs that also route files (cairn_route_file) or save
 * only some regions. `ids` (n entries) may be NULL when n is 0 or sel is CAIRN_SELECT_ALL. */
CAIRN_EXPORT cairn_status_t cairn_checkpoint_begin(cairn_client_t* c, const char* name,
                                                   long long version);
CAIRN_EXPORT cairn_status_t cairn_checkpoint_mem(cairn_client_t* c, cairn_select_t sel,
                                                 const int* ids, size_t n);
/* success != 0 commits (in MPI mode only if every rank succeeded; routed files must have been
 * written); 0 discards the checkpoint and returns an error. */
CAIRN_EXPORT cairn_status_t cairn_checkpoint_end(cairn_client_t* c, int success);

/* Waits for pending asynchronous work; the combined result of everything since the previous
 * wait. */
CAIRN_EXPORT cairn_status_t cairn_wait(cairn_client_t* c);

/* Non-blocking: 1 when no asynchronous work is pending, 0 while some is, -1 when c is NULL. */
CAIRN_EXPORT int cairn_finished(cairn_client_t* c);

/* Removes this rank's checkpoints named `name` from scratch (persistent copies stay). */
CAIRN_EXPORT cairn_status_t cairn_cleanup(cairn_client_t* c, const char* name);

/* Adds an observer: fn(name, version, user) is called after each committed version. Observers
 * stay registered until the client is closed; fn must not be NULL. */
CAIRN_EXPORT cairn_status_t cairn_on_commit(cairn_client_t* c, cairn_observer_fn fn, void* user);

/* ---- When to checkpoint, when to exit (jobs: `cairn job`) ----------------------------- */

/* *flag = 1 when a checkpoint should be taken now, else 0: checkpoint_interval seconds
 * passed since the last checkpoint, the Young/Daly optimum (measured cost, configured mtbf)
 * passed, `cairn job` asked for a final checkpoint (CAIRN_JOB_CONTROL), or the job's end
 * time (CAIRN_JOB_END_TIME, else SLURM_JOB_END_TIME) is closer than the measured checkpoint
 * cost plus job_end_margin seconds. The reason is logged at info level. After the last two
 * the next checkpoint is "final": once it is committed, cairn_should_exit says 1.
 * "Since the last checkpoint" counts from the return of the last successful checkpoint (or
 * the open). Never waits for I/O; CAIRN_E_ORDER between checkpoint begin and end.
 * Collective in MPI mode: every rank calls it and all get the same answer (like
 * SCR_Need_checkpoint). */
CAIRN_EXPORT cairn_status_t cairn_need_checkpoint(cairn_client_t* c, int* flag);

/* *flag = 1 once a final checkpoint (asked for by `cairn job` or forced by the end time) is
 * committed (async mode: known durable, which this call checks without blocking, as do
 * cairn_wait and cairn_close), else 0. The application should then close (cairn_close(c, 1))
 * and exit with status 0. When CAIRN_JOB_CONTROL is set, rank 0 creates
 * "<CAIRN_JOB_CONTROL>.ack" with "exit <name> <version>" at that moment (collective async
 * mode: in this call or in cairn_close, once every rank committed). Collective in MPI mode. */
CAIRN_EXPORT cairn_status_t cairn_should_exit(cairn_client_t* c, int* flag);

/* ---- Restart ------------------------------------------------------------------------ */

/* Restores the newest version <= max_version (CAIRN_ANY_VERSION: any) of `name` into the
 * protected regions and stores it in *version_out (may be NULL). If that version turns out
 * to be unreadable, older versions are tried. CAIRN_E_NOT_FOUND when no version can be
 * restored (nothing was checkpointed: a fresh start). Collective in MPI mode. */
CAIRN_EXPORT cairn_status_t cairn_restart_latest(cairn_client_t* c, const char* name,
                                                 long long max_version, long long* version_out);

/* Finds, without restoring, the version cairn_restart_latest would try first: the newest one
 * whose files are all there and intact in structure on every rank (its data is verified as a
 * restart reads it, in the same pass). */
CAIRN_EXPORT cairn_status_t cairn_restart_test(cairn_client_t* c, const char* name,
                                               long long max_version, long long* version_out);

/* Restores exactly version `version` of `name` (begin + recover all + end), verifying every
 * region as it is read; a copy that fails is passed over for another copy of the same version
 * (persistent, an L2 rebuild). CAIRN_E_CORRUPT when no copy verifies: the regions then
 * hold undefined data (cairn_restart_latest goes on to older versions instead). */
CAIRN_EXPORT cairn_status_t cairn_restart(cairn_client_t* c, const char* name, long long version);

/* The steps of a restart. cairn_recover_size: bytes saved under `id` in the checkpoint being
 * restarted (CAIRN_E_NOT_FOUND when absent). success != 0 in cairn_restart_end reports that
 * the program restored its state. */
CAIRN_EXPORT cairn_status_t cairn_restart_begin(cairn_client_t* c, const char* name,
                                                long long version);
CAIRN_EXPORT cairn_status_t cairn_recover_size(cairn_client_t* c, int id, size_t* size_out);
CAIRN_EXPORT cairn_status_t cairn_recover_mem(cairn_client_t* c, cairn_select_t sel, const int* ids,
                                              size_t n);
CAIRN_EXPORT cairn_status_t cairn_restart_end(cairn_client_t* c, int success);

/* ---- Files -------------------------------------------------------------------------- */

/* During a checkpoint: the path where the program must write `original`; during a restart:
 * where to read it from. Writes it NUL-terminated to buf (buflen bytes; CAIRN_PATH_MAX always
 * suffices). CAIRN_E_INVALID when it does not fit, CAIRN_E_ORDER outside a checkpoint or
 * restart. On failure buf is set to "" when buflen > 0. */
CAIRN_EXPORT cairn_status_t cairn_route_file(cairn_client_t* c, const char* original, char* buf,
                                             size_t buflen);

/* ---- Errors and version ------------------------------------------------------------- */

/* The message of the most recent failed call on `c` made by the calling thread, or with
 * c == NULL of the most recent failed cairn_open_* / cairn_close / NULL-client call of the
 * calling thread. "" when there was none. Successful calls do not clear it. The pointer is
 * valid until the calling thread's next failing call with the same `c` (or cairn_close(c)). */
CAIRN_EXPORT const char* cairn_last_error(const cairn_client_t* c);

/* A short constant description of `s` ("OK", "invalid argument", ...). Never NULL. */
CAIRN_EXPORT const char* cairn_status_string(cairn_status_t s);

/* The version of the library ("0.1.0"), which may differ from CAIRN_VERSION_STRING of the
 * headers a program was compiled with. */
CAIRN_EXPORT const char* cairn_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_CAIRN_H */
