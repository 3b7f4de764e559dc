/* The VeloC C API, implemented by cairn (libcairn). Programs written for VeloC compile
 * against this header and run unchanged.
 *
 * Every function returns VELOC_SUCCESS (0) or VELOC_FAILURE (-1) unless noted. No
 * function calls exit() or abort(), throws, or prints to stdout: failures are logged
 * (to stderr or CAIRN_LOG_FILE, level from CAIRN_LOG) with the reason, and reported by
 * the return value.
 *
 * State: one process-wide client, created by VELOC_Init / VELOC_Init_single and destroyed
 * by VELOC_Finalize. It is the same client that veloc::get_client() returns to C++ code.
 * Every other function called before Init (or after Finalize) returns VELOC_FAILURE.
 *
 * Threads: the functions may be called from several threads; calls are serialized by the
 * client. A checkpoint (Checkpoint_begin .. Checkpoint_end) or restart (Restart_begin ..
 * Restart_end) sequence must be driven by one thread at a time, and VELOC_Finalize must
 * not race with other calls that still need the client.
 *
 * Names of checkpoints are 1..200 characters of [A-Za-z0-9_.] (not "." or ".."); versions
 * are >= 0 and increase from one checkpoint to the next. */
#ifndef __VELOC_H
#define __VELOC_H

#include <cairn/cairn_config.h>
#include <cairn/export.h>
#include <stddef.h>
#include <string.h> /* VeloC's veloc.h includes it; programs may rely on that */

#include "veloc/defs.h"

#if CAIRN_HAVE_MPI
#include <mpi.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**************************
 * Init / Finalize
 *************************/

#if CAIRN_HAVE_MPI
/* Collective mode: every rank of `comm` calls it; this process's id is its rank in comm.
 * MPI must be initialized. `cfg_file` is VeloC's configuration file (INI without sections:
 * scratch, persistent, mode, persistent_interval, max_versions, ...); NULL or "" reads the
 * configuration from the environment only (CAIRN_<KEY> / VELOC_<KEY>). A missing or bad
 * configuration, or an unusable scratch directory, returns VELOC_FAILURE.
 * If the process-wide client already exists it is reused and VELOC_SUCCESS returned. */
CAIRN_EXPORT int VELOC_Init(MPI_Comm comm, const char* cfg_file);
#endif

/* Independent mode: this process checkpoints on its own under the given id (no MPI calls
 * are made; works without MPI_Init). Otherwise as VELOC_Init. */
CAIRN_EXPORT int VELOC_Init_single(unsigned int id, const char* cfg_file);

/* Destroys the process-wide client. drain != 0: waits for pending (asynchronous) work
 * first and returns its result; drain == 0: pending work is abandoned. Returns
 * VELOC_FAILURE when not initialized. After it, VELOC_Init may be called again. */
CAIRN_EXPORT int VELOC_Finalize(int drain);

/**************************
 * Memory registration
 *************************/

/* Registers count * base_size bytes at ptr under `id` in the default group. Re-protecting an
 * existing id replaces it. The memory must stay valid until it is unprotected or the client
 * is finalized; its contents are read at checkpoint time and written at restart. */
CAIRN_EXPORT int VELOC_Mem_protect(int id, void* ptr, size_t count, size_t base_size);

/* As VELOC_Mem_protect, in the group `name`. A checkpoint (or restart) named N uses the
 * regions of group N if that group exists, else the default group. */
CAIRN_EXPORT int VELOC_Region_protect(int id, void* ptr, size_t count, size_t base_size,
                                      const char* name);

/* Unregisters `id` from the default group (VELOC_FAILURE if it is not protected). */
CAIRN_EXPORT int VELOC_Mem_unprotect(int id);

/* Unregisters `id` from the group `name`. */
CAIRN_EXPORT int VELOC_Region_unprotect(int id, const char* name);

/* Unregisters every region of the default group. */
CAIRN_EXPORT int VELOC_Mem_clear(void);

/* Unregisters every region of the group `name`. */
CAIRN_EXPORT int VELOC_Region_clear(const char* name);

/**************************
 * File registration
 *************************/

/* File mode: writes to `routed` (a buffer of VELOC_MAX_NAME bytes) the path where the
 * application must write `original` for the current checkpoint (between Checkpoint_begin
 * and Checkpoint_end) or read it from during a restart (between Restart_begin and
 * Restart_end). Fails outside both, or when the path does not fit in VELOC_MAX_NAME bytes;
 * on failure `routed` is set to the empty string. */
CAIRN_EXPORT int VELOC_Route_file(const char* original, char* routed);

/* Removes this rank's checkpoints named `name` from scratch (persistent copies stay). */
CAIRN_EXPORT int VELOC_Cleanup(const char* name);

/**************************
 * Checkpoint routines
 *************************/

/* Starts checkpoint `name`, `version` (>= 0, larger than the previous one). */
CAIRN_EXPORT int VELOC_Checkpoint_begin(const char* name, int version);

/* Between Checkpoint_begin and Checkpoint_end: writes protected regions into the checkpoint.
 * mode VELOC_CKPT_ALL: every region (ids ignored, may be NULL); VELOC_CKPT_SOME: only the
 * `id_count` ids in `ids`; VELOC_CKPT_REST: every region except those. Each listed id must be
 * protected. */
CAIRN_EXPORT int VELOC_Checkpoint_selective(int mode, int* ids, int id_count);

/* VELOC_Checkpoint_selective(VELOC_CKPT_ALL, NULL, 0). */
CAIRN_EXPORT int VELOC_Checkpoint_mem(void);

/* Ends the current checkpoint. success != 0 commits it (collectively in MPI mode: the
 * version is committed only if every rank succeeded; files routed with VELOC_Route_file must
 * have been written). success == 0 discards it and returns VELOC_FAILURE. */
CAIRN_EXPORT int VELOC_Checkpoint_end(int success);

/* Waits for pending asynchronous work; returns the combined result of everything since the
 * previous wait (VELOC_SUCCESS in sync mode once the checkpoints succeeded). */
CAIRN_EXPORT int VELOC_Checkpoint_wait(void);

/* Non-blocking: VELOC_SUCCESS when no asynchronous work is pending, VELOC_FAILURE while some
 * is (or when not initialized). As in VeloC, 0 means "finished". */
CAIRN_EXPORT int VELOC_Checkpoint_finished(void);

/* VELOC_Checkpoint_wait + begin + mem + end(1). */
CAIRN_EXPORT int VELOC_Checkpoint(const char* name, int version);

/**************************
 * Restart routines
 *************************/

/* Returns the newest version <= needed_version (0: any version) of checkpoint `name` that
 * can be restarted (in MPI mode: by every rank; collective), or VELOC_FAILURE when none. */
CAIRN_EXPORT int VELOC_Restart_test(const char* name, int needed_version);

/* Starts restarting from checkpoint `name`, `version`. */
CAIRN_EXPORT int VELOC_Restart_begin(const char* name, int version);

/* Between Restart_begin and Restart_end: reads regions back into the protected memory.
 * Modes as for VELOC_Checkpoint_selective (VELOC_RECOVER_ALL / SOME / REST). */
CAIRN_EXPORT int VELOC_Recover_selective(int mode, int* ids, int id_count);

/* Between Restart_begin and Restart_end: the number of bytes saved under `id`, or -1 when the
 * checkpoint has no such id (or the size does not fit in an int). */
CAIRN_EXPORT int VELOC_Recover_size(int id);

/* VELOC_Recover_selective(VELOC_RECOVER_ALL, NULL, 0). */
CAIRN_EXPORT int VELOC_Recover_mem(void);

/* Ends the current restart; success != 0 reports that the application restored its state. */
CAIRN_EXPORT int VELOC_Restart_end(int success);

/* VELOC_Restart_begin + VELOC_Recover_mem + VELOC_Restart_end(1). */
CAIRN_EXPORT int VELOC_Restart(const char* name, int version);

/**************************
 * cairn extensions (not in VeloC): when to checkpoint, when to exit (`cairn job`)
 *************************/

/* *flag = 1 when a checkpoint should be taken now, else 0 (as cairn_need_checkpoint in
 * cairn/cairn.h: checkpoint_interval, the Young/Daly optimum from the measured cost and
 * mtbf, a final checkpoint asked for by `cairn job`, or the job's end time approaching).
 * Collective in MPI mode (every rank gets the same answer). VELOC_FAILURE (flag unchanged)
 * when not initialized, flag is NULL, or a checkpoint is open. */
CAIRN_EXPORT int VELOC_Need_checkpoint(int* flag);

/* *flag = 1 once a final checkpoint is committed (as cairn_should_exit): the application
 * should call VELOC_Finalize(1) and exit with status 0. Collective in MPI mode. */
CAIRN_EXPORT int VELOC_Should_exit(int* flag);

#ifdef __cplusplus
}
#endif

#endif /* __VELOC_H */
