/* A small application on the VeloC C API in async mode (VELOC_Init_single), for the
 * async integration tests.
 *
 *   async_app CFG RANK ckpt MIB VERSIONS   checkpoint versions 1..VERSIONS of MIB MiB;
 *                                          prints "RETURNED <v>" after each call returns;
 *                                          with ASYNC_APP_HANG=1 it then sleeps (to be
 *                                          killed), else drains with VELOC_Finalize(1)
 *   async_app CFG RANK restart MIB         restores the newest version and checks every
 *                                          byte; prints "RESTORED <v> OK"
 * The data of version v of rank r is a pattern of (v, r, ASYNC_APP_SEED). Exit 0 on
 * success, 1 on any failure. Only its own lines go to stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <veloc.h>

static uint64_t seed(void) {
  const char* s = getenv("ASYNC_APP_SEED");
  return s ? strtoull(s, NULL, 10) : 0;
}

static void fill(uint64_t* p, size_t n, int v, int rank) {
  uint64_t x = ((uint64_t)v << 40) ^ ((uint64_t)rank << 20) ^ (seed() * 0x9E3779B97F4A7C15ULL);
  for (size_t i = 0; i < n; ++i) p[i] = x + i * 0x100000001B3ULL;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: async_app CFG RANK ckpt|restart MIB [VERSIONS]\n");
    return 2;
  }
  const char* cfg = argv[1];
  int rank = atoi(argv[2]);
  const char* mode = argv[3];
  size_t n = (size_t)atoi(argv[4]) * (1u << 20) / sizeof(uint64_t);
  uint64_t* data = malloc(n * sizeof(uint64_t));
  int version = 0;
  if (data == NULL) return 1;
  memset(data, 0, n * sizeof(uint64_t));
  if (VELOC_Init_single((unsigned)rank, cfg) != VELOC_SUCCESS) return 1;
  if (VELOC_Mem_protect(0, data, n, sizeof(uint64_t)) != VELOC_SUCCESS ||
      VELOC_Mem_protect(1, &version, 1, sizeof(version)) != VELOC_SUCCESS)
    return 1;
  if (strcmp(mode, "ckpt") == 0) {
    int versions = argc > 5 ? atoi(argv[5]) : 1;
    for (int v = 1; v <= versions; ++v) {
      fill(data, n, v, rank);
      version = v;
      if (VELOC_Checkpoint("big", v) != VELOC_SUCCESS) {
        fprintf(stderr, "async_app: checkpoint %d failed\n", v);
        return 1;
      }
      /* Overwrite at once: the checkpoint must hold the values of the call. */
      memset(data, 0xee, n * sizeof(uint64_t));
      printf("RETURNED %d\n", v);
      fflush(stdout);
    }
    if (getenv("ASYNC_APP_HANG") && strcmp(getenv("ASYNC_APP_HANG"), "1") == 0) {
      for (;;) pause();
    }
    return VELOC_Finalize(1) == VELOC_SUCCESS ? 0 : 1;
  }
  int v = VELOC_Restart_test("big", 0);
  if (v < 0) {
    fprintf(stderr, "async_app: nothing to restart\n");
    return 1;
  }
  if (VELOC_Restart("big", v) != VELOC_SUCCESS || version != v) {
    fprintf(stderr, "async_app: restart of %d failed\n", v);
    return 1;
  }
  uint64_t* want = malloc(n * sizeof(uint64_t));
  if (want == NULL) return 1;
  fill(want, n, v, rank);
  if (memcmp(want, data, n * sizeof(uint64_t)) != 0) {
    fprintf(stderr, "async_app: restored data of version %d differs\n", v);
    return 1;
  }
  printf("RESTORED %d OK\n", v);
  VELOC_Finalize(1);
  return 0;
}
