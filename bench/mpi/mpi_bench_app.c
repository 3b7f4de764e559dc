/* The MPI program of bench/run_mpi_bench.sh, built by that script with each MPI's own
 * compiler wrapper (nothing of cairn linked).
 *   pingpong BYTES ITERS     ranks 0 and 1: round trips; rank 0 prints "usec X" per round trip
 *   allreduce COUNT ITERS    every rank: MPI_Allreduce of COUNT doubles; "usec X" per call
 *   hold MIB SECONDS         every rank fills MIB MiB, then steps (barrier + 20 ms) for
 *                            SECONDS; rank 0 prints "ready" once filled and "step N" per step
 *   rawwrite FILE MIB        (no MPI) write MIB MiB with pwrite + fdatasync
 *   rawread FILE             (no MPI) read FILE into freshly mapped memory
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int RawWrite(const char* path, long mib) {
  size_t chunk = 8u << 20;
  char* buf = malloc(chunk);
  for (size_t i = 0; i < chunk; ++i) buf[i] = (char)(i * 131 + 7);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return perror(path), 1;
  for (long off = 0; off < mib << 20; off += chunk) {
    if (pwrite(fd, buf, chunk, off) != (ssize_t)chunk) return perror("pwrite"), 1;
  }
  if (fdatasync(fd) != 0) return perror("fdatasync"), 1;
  close(fd);
  return 0;
}

static int RawRead(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return perror(path), 1;
  struct stat st;
  fstat(fd, &st);
  char* mem = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = pread(fd, mem + off, st.st_size - off > (8 << 20) ? (8 << 20) : st.st_size - off, off);
    if (n <= 0) return perror("pread"), 1;
    off += n;
  }
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "rawwrite") == 0) return RawWrite(argv[2], atol(argv[3]));
  if (strcmp(argv[1], "rawread") == 0) return RawRead(argv[2]);
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (strcmp(argv[1], "pingpong") == 0) {
    long bytes = atol(argv[2]), iters = atol(argv[3]);
    char* buf = calloc(1, bytes > 0 ? bytes : 1);
    for (int warm = 0; warm < 2; ++warm) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = Now();
      long n = warm == 0 ? iters / 10 + 1 : iters;
      for (long i = 0; i < n && rank < 2; ++i) {
        if (rank == 0) {
          MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
          MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
          MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
        }
      }
      if (warm == 1 && rank == 0) printf("usec %.4f\n", (Now() - t0) * 1e6 / n);
    }
  } else if (strcmp(argv[1], "allreduce") == 0) {
    long count = atol(argv[2]), iters = atol(argv[3]);
    double* in = calloc(count, sizeof(double));
    double* out = calloc(count, sizeof(double));
    for (int warm = 0; warm < 2; ++warm) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = Now();
      long n = warm == 0 ? iters / 10 + 1 : iters;
      for (long i = 0; i < n; ++i) {
        in[0] = i + rank;
        MPI_Allreduce(in, out, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      }
      if (warm == 1 && rank == 0) printf("usec %.4f\n", (Now() - t0) * 1e6 / n);
    }
  } else if (strcmp(argv[1], "hold") == 0) {
    long mib = atol(argv[2]);
    double seconds = atof(argv[3]);
    size_t n = (size_t)mib << 20;
    unsigned long* mem = malloc(n);
    unsigned long x = 88172645463325252ul + rank;
    for (size_t i = 0; i < n / sizeof *mem; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      mem[i] = x;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) printf("ready\n"), fflush(stdout);
    double t0 = Now();
    for (long step = 0; Now() - t0 < seconds; ++step) {
      MPI_Barrier(MPI_COMM_WORLD);
      if (rank == 0) printf("step %ld\n", step), fflush(stdout);
      usleep(20000);
    }
    if (rank == 0) printf("done %lu\n", mem[12345]);
  }
  MPI_Finalize();
  return 0;
}
