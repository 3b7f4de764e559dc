#define _POSIX_C_SOURCE 200809L
#include "heat_kernel.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Fixed boundary values and the diffusion coefficient (stable for alpha <= 0.25). */
#define HEAT_TOP 100.0
#define HEAT_BOTTOM 0.0
#define HEAT_LEFT 75.0
#define HEAT_RIGHT 25.0
#define HEAT_SPOT 50.0
#define HEAT_ALPHA 0.2

static void usage(const char* prog) {
  fprintf(stderr,
          "usage: %s CONFIG [--nx N] [--ny N] [--iters N] [--ckpt-every K] [--sleep-ms M]\n"
          "  CONFIG        checkpoint configuration file (VeloC format)\n"
          "  --nx N        grid columns (default 256)\n"
          "  --ny N        grid rows (default 256)\n"
          "  --iters N     iterations (default 200)\n"
          "  --ckpt-every K  checkpoint every K iterations, 0 = never (default 20)\n"
          "  --sleep-ms M  sleep M ms per iteration (default 0)\n",
          prog);
}

static int parse_int(const char* s, int min, int* out) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > INT_MAX) return -1;
  *out = (int)v;
  return 0;
}

int heat_parse_args(int argc, char** argv, int rank, heat_options_t* opt) {
  opt->config = NULL;
  opt->nx = 256;
  opt->ny = 256;
  opt->iters = 200;
  opt->ckpt_every = 20;
  opt->sleep_ms = 0;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    int* target = NULL;
    int min = 0;
    if (strcmp(a, "--nx") == 0) {
      target = &opt->nx;
      min = 3;
    } else if (strcmp(a, "--ny") == 0) {
      target = &opt->ny;
      min = 3;
    } else if (strcmp(a, "--iters") == 0) {
      target = &opt->iters;
    } else if (strcmp(a, "--ckpt-every") == 0) {
      target = &opt->ckpt_every;
    } else if (strcmp(a, "--sleep-ms") == 0) {
      target = &opt->sleep_ms;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      if (rank == 0) usage(argv[0]);
      return -1;
    } else if (a[0] == '-' && a[1] == '-') {
      if (rank == 0) fprintf(stderr, "%s: unknown option '%s'\n", argv[0], a);
      if (rank == 0) usage(argv[0]);
      return -1;
    } else if (opt->config == NULL) {
      opt->config = a;
      continue;
    } else {
      if (rank == 0) fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], a);
      if (rank == 0) usage(argv[0]);
      return -1;
    }
    if (i + 1 >= argc || parse_int(argv[i + 1], min, target) != 0) {
      if (rank == 0) {
        fprintf(stderr, "%s: %s needs an integer >= %d\n", argv[0], a, min);
        usage(argv[0]);
      }
      return -1;
    }
    ++i;
  }
  if (opt->config == NULL) {
    if (rank == 0) usage(argv[0]);
    return -1;
  }
  return 0;
}

/* Initial value of global cell (i, j): fixed boundaries, a warm disc in the middle. */
static double initial_value(int nx, int ny, int i, int j) {
  if (i == 0) return HEAT_TOP;
  if (i == ny - 1) return HEAT_BOTTOM;
  if (j == 0) return HEAT_LEFT;
  if (j == nx - 1) return HEAT_RIGHT;
  long di = i - ny / 2, dj = j - nx / 2;
  long r = (nx < ny ? nx : ny) / 8;
  return di * di + dj * dj <= r * r ? HEAT_SPOT : 0.0;
}

int heat_setup(heat_t* h, MPI_Comm comm, int nx, int ny) {
  memset(h, 0, sizeof(*h));
  MPI_Comm_rank(comm, &h->rank);
  MPI_Comm_size(comm, &h->size);
  if (nx < 3 || ny < 3 || ny < h->size) return -1;
  h->comm = comm;
  h->nx = nx;
  h->ny = ny;
  int base = ny / h->size, rem = ny % h->size;
  h->nrows = base + (h->rank < rem ? 1 : 0);
  h->row0 = h->rank * base + (h->rank < rem ? h->rank : rem);
  size_t cells = (size_t)(h->nrows + 2) * (size_t)nx;
  h->u = calloc(cells, sizeof(double));
  h->unew = calloc(cells, sizeof(double));
  if (h->u == NULL || h->unew == NULL) {
    heat_free(h);
    return -1;
  }
  for (int li = 1; li <= h->nrows; ++li) {
    for (int j = 0; j < nx; ++j) {
      h->u[(size_t)li * nx + j] = initial_value(nx, ny, h->row0 + li - 1, j);
    }
  }
  return 0;
}

void heat_free(heat_t* h) {
  free(h->u);
  free(h->unew);
  h->u = h->unew = NULL;
}

double* heat_rows(heat_t* h) { return h->u + h->nx; }

size_t heat_rows_bytes(const heat_t* h) {
  return (size_t)h->nrows * (size_t)h->nx * sizeof(double);
}

void heat_step(heat_t* h) {
  const int nx = h->nx, n = h->nrows;
  const int up = h->rank > 0 ? h->rank - 1 : MPI_PROC_NULL;
  const int down = h->rank < h->size - 1 ? h->rank + 1 : MPI_PROC_NULL;
  double* u = h->u;
  /* First owned row goes up, the bottom halo comes from below; then the other way. */
  MPI_Sendrecv(u + (size_t)1 * nx, nx, MPI_DOUBLE, up, 1, u + (size_t)(n + 1) * nx, nx, MPI_DOUBLE,
               down, 1, h->comm, MPI_STATUS_IGNORE);
  MPI_Sendrecv(u + (size_t)n * nx, nx, MPI_DOUBLE, down, 2, u, nx, MPI_DOUBLE, up, 2, h->comm,
               MPI_STATUS_IGNORE);
  for (int li = 1; li <= n; ++li) {
    const int gi = h->row0 + li - 1;
    const double* c = u + (size_t)li * nx;
    double* out = h->unew + (size_t)li * nx;
    if (gi == 0 || gi == h->ny - 1) {
      memcpy(out, c, (size_t)nx * sizeof(double));
      continue;
    }
    const double* north = c - nx;
    const double* south = c + nx;
    out[0] = c[0];
    for (int j = 1; j < nx - 1; ++j) {
      out[j] = c[j] + HEAT_ALPHA * (north[j] + south[j] + c[j - 1] + c[j + 1] - 4.0 * c[j]);
    }
    out[nx - 1] = c[nx - 1];
  }
  /* Copy back instead of swapping pointers: the checkpointed rows keep their address. */
  memcpy(u + nx, h->unew + nx, heat_rows_bytes(h));
}

/* FNV-1a over the bytes of a row, then mixed with the row index (splitmix64 finalizer),
 * so that the per-row values can be added in any order. */
static uint64_t row_hash(const double* row, int nx, int gi) {
  const unsigned char* p = (const unsigned char*)row;
  uint64_t h = 14695981039346656037ULL;
  for (size_t k = 0; k < (size_t)nx * sizeof(double); ++k) {
    h ^= p[k];
    h *= 1099511628211ULL;
  }
  uint64_t z = h ^ ((uint64_t)gi * 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int heat_print_result(const heat_t* h) {
  const int nx = h->nx;
  double* sums = malloc(sizeof(double) * (size_t)(h->nrows > 0 ? h->nrows : 1));
  int* counts = NULL;
  int* displs = NULL;
  double* all = NULL;
  uint64_t local_hash = 0, hash = 0;
  int rc = 0;
  if (sums == NULL) return -1;
  for (int li = 1; li <= h->nrows; ++li) {
    const double* row = h->u + (size_t)li * nx;
    double s = 0.0;
    for (int j = 0; j < nx; ++j) s += row[j];
    sums[li - 1] = s;
    local_hash += row_hash(row, nx, h->row0 + li - 1); /* wraps: exact in any order */
  }
  if (h->rank == 0) {
    counts = malloc(sizeof(int) * (size_t)h->size);
    displs = malloc(sizeof(int) * (size_t)h->size);
    all = malloc(sizeof(double) * (size_t)h->ny);
    if (counts == NULL || displs == NULL || all == NULL) MPI_Abort(h->comm, 1);
  }
  if (MPI_Gather(&h->nrows, 1, MPI_INT, counts, 1, MPI_INT, 0, h->comm) != MPI_SUCCESS) rc = -1;
  if (h->rank == 0) {
    int off = 0;
    for (int r = 0; r < h->size; ++r) {
      displs[r] = off;
      off += counts[r];
    }
  }
  if (rc == 0 && MPI_Gatherv(sums, h->nrows, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0,
                             h->comm) != MPI_SUCCESS) {
    rc = -1;
  }
  if (rc == 0 &&
      MPI_Reduce(&local_hash, &hash, 1, MPI_UINT64_T, MPI_SUM, 0, h->comm) != MPI_SUCCESS) {
    rc = -1;
  }
  if (rc == 0 && h->rank == 0) {
    double total = 0.0; /* added in global row order: independent of the decomposition */
    for (int i = 0; i < h->ny; ++i) total += all[i];
    printf("RESULT %.10e %016" PRIx64 "\n", total, hash);
    fflush(stdout);
  }
  free(sums);
  free(counts);
  free(displs);
  free(all);
  return rc;
}

void heat_sleep_ms(int ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
