/* The restore plan: plain data that `cairn restart` hands to the restorer (restorer.c).
 *
 * Contract:
 *   - `cairn restart` writes one CairnPlan followed by `nregions` CairnPlanRegion, `nruns`
 *     CairnPlanRun and `nbatches` CairnPlanBatch records into a memfd (the plan fd), then
 *     execs the restorer with the plan fd as argv[1] and the data fds (sources) as argv[2],
 *     argv[3], ... A data fd is an image file itself (uncompressed image: the runs are where
 *     the image stores them; an incremental image's chain gives one source per member) or a
 *     memfd of decoded pages (compressed images, verified while decoding). A run and a batch
 *     name their source (CAIRN_RUN_SOURCE, CairnPlanBatch.source).
 *   - The restorer maps the plan at CAIRN_PLAN_SCRATCH, unmaps everything but itself and the
 *     vDSO/vvar areas, maps each region (MAP_FIXED; anonymous, or MAP_SHARED of the file
 *     descriptor `cairn restart` opened for a shared file mapping), preads the runs from the
 *     data fd, sets protections, moves vDSO/vvar to their saved addresses, sets the FS base
 *     and jumps to `entry` on `stack_top` (rdi = the plan's `entry_arg`).
 *   - Batches (uncompressed images): the runs of batch i are runs[first_run, first_run +
 *     nruns), in the image's order. The restorer hashes (XXH3-64) the batch's table bytes,
 *     then each run's bytes as it reads them (CAIRN_RUN_HASH_ONLY runs go to a scratch
 *     buffer, not to memory), and compares with the digest stored in the image; a mismatch
 *     ends it (exit 1, a message naming the image) before anything of the program runs.
 *     So the page data is read once, and what is verified is what lands in memory.
 *   - C and C++ share this header: fixed-width fields only, no padding surprises.
 */
#ifndef CAIRN_TRANSPARENT_RESTORE_PLAN_H_
#define CAIRN_TRANSPARENT_RESTORE_PLAN_H_

#include <stdint.h>

/* Where the preload library reserves (PROT_NONE) an address range at launch, and where the
 * restorer executable is linked: no saved region ever lies there. */
#define CAIRN_RESERVE_BASE 0x7e0000000000ULL
#define CAIRN_RESERVE_SIZE (64ULL << 20)
/* Scratch places inside the reserved range used by the restorer. */
#define CAIRN_PLAN_SCRATCH (CAIRN_RESERVE_BASE + (32ULL << 20))
#define CAIRN_PLAN_MAX_BYTES (16ULL << 20)
#define CAIRN_VDSO_SCRATCH (CAIRN_RESERVE_BASE + (56ULL << 20))

#define CAIRN_PLAN_MAGIC 0x4e414c504e524143ULL /* "CARNPLAN" */
#define CAIRN_PLAN_VERSION 5
#define CAIRN_PLAN_MAX_SOURCES 32 /* data fds */
#define CAIRN_PLAN_MAX_CLOEXEC 64

/* Optional image section written by the preload library: where to resume. */
#define CAIRN_RESTART_SECTION 0x80000101u
struct CairnRestartInfo {
  uint64_t magic; /* CAIRN_PLAN_MAGIC */
  uint64_t entry; /* void entry(void) in the library, never returns */
  uint64_t stack_top;
  uint64_t reserve_base;
  uint64_t reserve_size;
};

/* CairnPlanRegion.flags */
#define CAIRN_REGION_FINAL_PROT 1u /* map with `prot` at once; the region has no runs */
#define CAIRN_REGION_HUGE 2u       /* mostly restored data: madvise(MADV_HUGEPAGE) first */

/* Optional image section written by the preload library: the capacity of each pipe
 * descriptor (fcntl F_GETPIPE_SZ), an array of CairnPipeSize. */
#define CAIRN_PIPES_SECTION 0x80000102u
struct CairnPipeSize {
  int32_t fd;
  uint32_t size;
};

/* Optional image section written by the preload library: the identity of every file a
 * kRegionFromFile region references (its pages are not in the image), an array of
 * CairnFileRef; `cairn restart` refuses a file whose size or modification time changed. */
#define CAIRN_FILEREFS_SECTION 0x80000103u
struct CairnFileRef {
  uint64_t inode;
  uint64_t size;
  int64_t mtime_ns;
};

struct CairnPlanRegion {
  uint64_t start;
  uint64_t end;
  uint32_t prot;   /* PROT_* */
  uint32_t shared; /* 1: MAP_SHARED (of `fd`, or anonymous) */
  int32_t fd;      /* >= 0: map this file (closed by the restorer); -1: anonymous */
  uint32_t flags;  /* CAIRN_REGION_* */
  uint64_t offset; /* file offset when fd >= 0 */
};

/* CairnPlanRun.flags */
#define CAIRN_RUN_HASH_ONLY 1u /* read and hash, do not store (the batch's hash covers it) */
/* Bits 32..39 of flags: the index of the run's data fd (source). */
#define CAIRN_RUN_SOURCE_SHIFT 32
#define CAIRN_RUN_SOURCE(flags) ((uint32_t)(((flags) >> CAIRN_RUN_SOURCE_SHIFT) & 0xffu))

struct CairnPlanRun {
  uint64_t addr;
  uint64_t len;
  uint64_t data_offset; /* in the data fd */
  uint64_t flags;       /* CAIRN_RUN_* */
};

struct CairnPlanBatch {
  uint64_t table_offset; /* in the data fd: the batch header and run table, hashed first */
  uint64_t table_len;
  uint64_t digest_offset; /* the expected XXH3-64, 8 bytes little-endian */
  uint32_t first_run;
  uint32_t nruns;
  uint32_t source; /* the data fd its table, runs and digest are read from */
  uint32_t pad;
};

struct CairnPlan {
  uint64_t magic;
  uint64_t version;
  uint64_t total_bytes; /* of the plan, records included */
  uint64_t vdso_addr;   /* saved addresses; 0 = none */
  uint64_t vdso_size;
  uint64_t vvar_addr;
  uint64_t vvar_size;
  uint64_t entry;
  uint64_t stack_top;
  uint64_t fs_base;
  uint64_t nregions;
  uint64_t nruns;
  uint64_t nbatches; /* 0: no hashes to check here (the data fd holds verified pages) */
  uint32_t ncloexec;
  int32_t cloexec_fds[CAIRN_PLAN_MAX_CLOEXEC]; /* fds to mark FD_CLOEXEC before the jump */
  uint32_t pad;
  char image_path[512]; /* for messages */
  /* CairnPlanRegion regions[nregions]; CairnPlanRun runs[nruns];
   * CairnPlanBatch batches[nbatches]; */
};

#endif /* CAIRN_TRANSPARENT_RESTORE_PLAN_H_ */
