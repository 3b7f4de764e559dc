/* heat_cairn: the heat-diffusion example on cairn's own C API (cairn/cairn.h).
 *
 *   mpirun -np 4 heat_cairn heat.cfg --iters 200 --ckpt-every 20
 *
 * Same program as heat_veloc.c (same kernel, same output) written against cairn.h: an explicit
 * client handle, status codes with messages (cairn_last_error), and cairn_restart_latest,
 * which restores the newest restorable version and falls back to older ones by itself. */
#include <cairn/cairn.h>
#include <stdio.h>

#include "heat_kernel.h"

#define CKPT_NAME "heat"

static void die(cairn_client_t* c, int rank, const char* what, cairn_status_t st) {
  fprintf(stderr, "heat_cairn[%d]: %s: %s: %s\n", rank, what, cairn_status_string(st),
          cairn_last_error(c));
  MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  heat_options_t opt;
  if (heat_parse_args(argc, argv, rank, &opt) != 0) {
    MPI_Finalize();
    return 2;
  }
  cairn_client_t* c = NULL;
  cairn_status_t st = cairn_open_mpi(MPI_COMM_WORLD, opt.config, &c);
  if (st != CAIRN_OK) die(NULL, rank, "cairn_open_mpi", st);

  heat_t h;
  if (heat_setup(&h, MPI_COMM_WORLD, opt.nx, opt.ny) != 0) {
    fprintf(stderr, "heat_cairn[%d]: cannot set up a %d x %d grid\n", rank, opt.nx, opt.ny);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  int iter = 0;
  int shape[2] = {opt.nx, opt.ny};
  if ((st = cairn_protect(c, 0, &iter, sizeof(iter))) != CAIRN_OK ||
      (st = cairn_protect(c, 1, heat_rows(&h), heat_rows_bytes(&h))) != CAIRN_OK ||
      (st = cairn_protect(c, 2, shape, sizeof(shape))) != CAIRN_OK) {
    die(c, rank, "cairn_protect", st);
  }

  long long v = -1;
  st = cairn_restart_latest(c, CKPT_NAME, CAIRN_ANY_VERSION, &v);
  if (st == CAIRN_OK) {
    if (shape[0] != opt.nx || shape[1] != opt.ny || iter != v) {
      fprintf(stderr,
              "heat_cairn[%d]: checkpoint %s version %lld holds a %d x %d grid at iteration %d; "
              "this run is %d x %d\n",
              rank, CKPT_NAME, v, shape[0], shape[1], iter, opt.nx, opt.ny);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) printf("RESTARTED_FROM %lld\n", v);
  } else if (st == CAIRN_E_NOT_FOUND) {
    if (rank == 0) printf("FRESH\n");
  } else {
    die(c, rank, "cairn_restart_latest", st);
  }
  if (rank == 0) fflush(stdout);

  int failures = 0;
  while (iter < opt.iters) {
    heat_step(&h);
    ++iter;
    if (opt.ckpt_every > 0 && iter % opt.ckpt_every == 0) {
      st = cairn_checkpoint(c, CKPT_NAME, iter);
      if (st != CAIRN_OK) {
        fprintf(stderr, "heat_cairn[%d]: checkpoint at iteration %d failed: %s\n", rank, iter,
                cairn_last_error(c));
        ++failures;
      }
    }
    heat_sleep_ms(opt.sleep_ms);
  }

  if (heat_print_result(&h) != 0) ++failures;
  st = cairn_close(c, 1);
  if (st != CAIRN_OK) {
    fprintf(stderr, "heat_cairn[%d]: cairn_close: %s\n", rank, cairn_last_error(NULL));
    ++failures;
  }
  heat_free(&h);
  MPI_Finalize();
  return failures == 0 ? 0 : 3;
}
