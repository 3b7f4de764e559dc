/* The 2-D heat-diffusion kernel shared by heat_veloc.c and heat_cairn.c.
 *
 * Explicit (Jacobi) 5-point stencil on an NX x NY grid (NX columns, NY rows) with fixed
 * boundary values, distributed by blocks of rows over the ranks of a communicator. Every
 * rank holds its rows plus one halo row above and below, exchanged with MPI_Sendrecv each
 * iteration. The update of every cell is the same arithmetic whatever the decomposition,
 * so the final grid is bit-for-bit independent of the number of ranks.
 *
 * The checkpointed state is the interior rows (heat_rows(), which never move in memory)
 * and the iteration counter kept by the front end. */
#ifndef CAIRN_EXAMPLES_HEAT_KERNEL_H
#define CAIRN_EXAMPLES_HEAT_KERNEL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct heat_options {
  const char* config; /* checkpoint configuration file (first positional argument) */
  int nx;             /* columns */
  int ny;             /* rows */
  int iters;          /* iterations in total */
  int ckpt_every;     /* checkpoint every K iterations (0: never) */
  int sleep_ms;       /* sleep per iteration, so that tests can kill a run mid-way */
} heat_options_t;

typedef struct heat {
  int nx, ny;
  int rank, size;
  int row0;     /* global index of this rank's first row */
  int nrows;    /* rows owned by this rank (may be 0 when there are more ranks than rows) */
  double* u;    /* (nrows + 2) x nx: halo row, owned rows, halo row */
  double* unew; /* scratch for the next iterate, same shape */
  MPI_Comm comm;
} heat_t;

/* Parses "CONFIG [--nx N --ny N --iters N --ckpt-every K --sleep-ms M]". On error prints
 * the usage to stderr (rank 0 only) and returns -1. */
int heat_parse_args(int argc, char** argv, int rank, heat_options_t* opt);

/* Allocates this rank's block and sets the initial condition. Returns 0, or -1 when out of
 * memory or the grid is too small. */
int heat_setup(heat_t* h, MPI_Comm comm, int nx, int ny);
void heat_free(heat_t* h);

/* The owned rows (nrows * nx doubles): the state to checkpoint. Stable address. */
double* heat_rows(heat_t* h);
size_t heat_rows_bytes(const heat_t* h);

/* One iteration: halo exchange, then the stencil on every non-boundary owned cell. */
void heat_step(heat_t* h);

/* Collective. On rank 0 writes "RESULT <sum> <hash>" to stdout: the sum of all cells in
 * global row order (%.10e) and a 64-bit hash of the bytes of every row (hex), both
 * independent of the decomposition. Returns 0, or -1 on an MPI error. */
int heat_print_result(const heat_t* h);

/* Sleeps `ms` milliseconds (nothing when ms <= 0). */
void heat_sleep_ms(int ms);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_EXAMPLES_HEAT_KERNEL_H */
