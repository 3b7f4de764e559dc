/* VeloC's constants, value for value (VeloC's include/veloc/defs.h). cairn implements
 * the VeloC 1.7 API; code written for VeloC compiles against these headers unchanged. */
#ifndef __DEFS_H
#define __DEFS_H

/* The version of the VeloC API this header is compatible with. */
#define VELOC_VERSION_MAJOR 1
#define VELOC_VERSION_MINOR 7
#define VELOC_VERSION_PATCH 0

#ifndef VELOC_SUCCESS
#define VELOC_SUCCESS (0)
#endif

#ifndef VELOC_FAILURE
#define VELOC_FAILURE (-1)
#endif

/* Size of the buffer VELOC_Route_file writes to (including the terminating NUL). */
#define VELOC_MAX_NAME (1024)

/* Modes of VELOC_Recover_selective / client_t::recover_mem. */
#define VELOC_RECOVER_ALL (0)  /* every protected id; the id list is ignored */
#define VELOC_RECOVER_SOME (1) /* only the listed ids */
#define VELOC_RECOVER_REST (2) /* every id except the listed ones */

/* Modes of VELOC_Checkpoint_selective / client_t::checkpoint_mem. */
#define VELOC_CKPT_ALL (0)
#define VELOC_CKPT_SOME (1)
#define VELOC_CKPT_REST (2)

/* Observer types of client_t::register_observer. */
#define VELOC_OBSERVE_CKPT_END (0) /* after a checkpoint version is committed */

#endif /* __DEFS_H */
