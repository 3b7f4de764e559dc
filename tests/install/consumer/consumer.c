/* Uses the installed VeloC-compatible C API in independent mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <veloc.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int data[256];
  for (int i = 0; i < 256; ++i) data[i] = i * 3;
  if (VELOC_Init_single(0, argv[1]) != VELOC_SUCCESS) return 1;
  if (VELOC_Mem_protect(0, data, 256, sizeof(int)) != VELOC_SUCCESS) return 1;
  if (VELOC_Checkpoint("consumer", 1) != VELOC_SUCCESS) return 1;
  memset(data, 0, sizeof(data));
  int v = VELOC_Restart_test("consumer", 0);
  if (v != 1 || VELOC_Restart("consumer", v) != VELOC_SUCCESS) return 1;
  for (int i = 0; i < 256; ++i)
    if (data[i] != i * 3) return 1;
  VELOC_Finalize(1);
  printf("consumer_c OK\n");
  return 0;
}
