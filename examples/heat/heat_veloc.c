/* heat_veloc: the heat-diffusion example on the VeloC C API (veloc.h), as an existing VeloC
 * application would be written. Builds unchanged against VeloC itself.
 *
 *   mpirun -np 4 heat_veloc heat.cfg --iters 200 --ckpt-every 20
 *
 * Protected state: id 0 the iteration counter, id 1 the grid rows of this rank, id 2 the grid
 * shape (checked after a restart). At start the newest restorable version of checkpoint
 * "heat" is restored if there is one; a checkpoint (version = iteration) is taken every K
 * iterations. Rank 0 prints "RESTARTED_FROM <v>" or "FRESH", then "RESULT <sum> <hash>". */
#include <stdio.h>
#include <veloc.h>

#include "heat_kernel.h"

#define CKPT_NAME "heat"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  heat_options_t opt;
  if (heat_parse_args(argc, argv, rank, &opt) != 0) {
    MPI_Finalize();
    return 2;
  }
  if (VELOC_Init(MPI_COMM_WORLD, opt.config) != VELOC_SUCCESS) {
    fprintf(stderr, "heat_veloc[%d]: VELOC_Init(%s) failed\n", rank, opt.config);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  heat_t h;
  if (heat_setup(&h, MPI_COMM_WORLD, opt.nx, opt.ny) != 0) {
    fprintf(stderr, "heat_veloc[%d]: cannot set up a %d x %d grid\n", rank, opt.nx, opt.ny);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  int iter = 0;
  int shape[2] = {opt.nx, opt.ny};
  if (VELOC_Mem_protect(0, &iter, 1, sizeof(iter)) != VELOC_SUCCESS ||
      VELOC_Mem_protect(1, heat_rows(&h), (size_t)h.nrows * (size_t)h.nx, sizeof(double)) !=
          VELOC_SUCCESS ||
      VELOC_Mem_protect(2, shape, 2, sizeof(int)) != VELOC_SUCCESS) {
    fprintf(stderr, "heat_veloc[%d]: VELOC_Mem_protect failed\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  /* Restart from the newest version every rank can restore, if any. */
  int v = VELOC_Restart_test(CKPT_NAME, 0);
  if (v != VELOC_FAILURE) {
    if (VELOC_Restart(CKPT_NAME, v) != VELOC_SUCCESS) {
      fprintf(stderr, "heat_veloc[%d]: VELOC_Restart(%s, %d) failed\n", rank, CKPT_NAME, v);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (shape[0] != opt.nx || shape[1] != opt.ny || iter != v) {
      fprintf(stderr,
              "heat_veloc[%d]: checkpoint %s version %d holds a %d x %d grid at iteration %d; "
              "this run is %d x %d\n",
              rank, CKPT_NAME, v, shape[0], shape[1], iter, opt.nx, opt.ny);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) printf("RESTARTED_FROM %d\n", v);
  } else {
    if (rank == 0) printf("FRESH\n");
  }
  if (rank == 0) fflush(stdout);

  int failures = 0;
  while (iter < opt.iters) {
    heat_step(&h);
    ++iter;
    if (opt.ckpt_every > 0 && iter % opt.ckpt_every == 0) {
      if (VELOC_Checkpoint(CKPT_NAME, iter) != VELOC_SUCCESS) {
        fprintf(stderr, "heat_veloc[%d]: checkpoint at iteration %d failed\n", rank, iter);
        ++failures;
      }
    }
    heat_sleep_ms(opt.sleep_ms);
  }

  if (heat_print_result(&h) != 0) ++failures;
  if (VELOC_Finalize(1) != VELOC_SUCCESS) ++failures;
  heat_free(&h);
  MPI_Finalize();
  return failures == 0 ? 0 : 3;
}
