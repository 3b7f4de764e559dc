/* hello_single: the smallest cairn program, on the VeloC API in independent mode
 * (VELOC_Init_single: no MPI_Init, no mpirun).
 *
 *   hello_single CONFIG [ID]
 *
 * Counts to 10, checkpointing the counter and a small array after every step. Run it, kill
 * it (or let it finish), run it again: it resumes from the newest checkpoint. Prints
 * "RESTARTED_FROM <v>" or "FRESH", then "RESULT <counter> <sum>". */
#include <stdio.h>
#include <stdlib.h>
#include <veloc.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s CONFIG [ID]\n", argv[0]);
    return 2;
  }
  unsigned id = argc == 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;
  if (VELOC_Init_single(id, argv[1]) != VELOC_SUCCESS) {
    fprintf(stderr, "%s: VELOC_Init_single failed (see the messages above)\n", argv[0]);
    return 1;
  }

  int counter = 0;
  double values[16] = {0};
  if (VELOC_Mem_protect(0, &counter, 1, sizeof(counter)) != VELOC_SUCCESS ||
      VELOC_Mem_protect(1, values, 16, sizeof(double)) != VELOC_SUCCESS) {
    fprintf(stderr, "%s: VELOC_Mem_protect failed\n", argv[0]);
    VELOC_Finalize(0);
    return 1;
  }

  int v = VELOC_Restart_test("hello", 0);
  if (v != VELOC_FAILURE) {
    if (VELOC_Restart("hello", v) != VELOC_SUCCESS) {
      fprintf(stderr, "%s: VELOC_Restart(hello, %d) failed\n", argv[0], v);
      VELOC_Finalize(0);
      return 1;
    }
    printf("RESTARTED_FROM %d\n", v);
  } else {
    printf("FRESH\n");
  }

  int rc = 0;
  while (counter < 10) {
    ++counter;
    for (int i = 0; i < 16; ++i) values[i] += counter * (i + 1);
    if (VELOC_Checkpoint("hello", counter) != VELOC_SUCCESS) {
      fprintf(stderr, "%s: checkpoint %d failed\n", argv[0], counter);
      rc = 1;
    }
  }
  double sum = 0;
  for (int i = 0; i < 16; ++i) sum += values[i];
  printf("RESULT %d %.1f\n", counter, sum);
  if (VELOC_Finalize(1) != VELOC_SUCCESS) rc = 1;
  return rc;
}
