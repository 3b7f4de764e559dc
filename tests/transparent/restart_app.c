/* A single-threaded program for the restart tests: prints one deterministic line per step
 * (a running hash, heap contents, a file it reads, errno-free sleeps) and sleeps a little.
 *   restart_app READY_FILE STEPS DATA_FILE
 * Creates READY_FILE once started; reads DATA_FILE 8 bytes per step through one descriptor
 * (its offset must survive a restart). Exit status 0 when every check held. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  int data_fd = open(argv[3], O_RDONLY);
  if (data_fd < 0) return 4;
  const int steps = atoi(argv[2]);
  const size_t heap_len = 3u << 20;
  unsigned char* heap = malloc(heap_len);
  if (heap == NULL) return 3;
  for (size_t i = 0; i < heap_len; ++i) heap[i] = (unsigned char)(i * 7);
  FILE* ready = fopen(argv[1], "w");
  if (ready != NULL) fclose(ready);
  unsigned long long acc = 1469598103934665603ULL;
  char* strings[64] = {0};
  for (int s = 0; s < steps; ++s) {
    for (size_t i = (size_t)s; i < heap_len; i += 4093) heap[i] = (unsigned char)(heap[i] + s);
    unsigned long long sum = 0;
    for (size_t i = 0; i < heap_len; i += 512) sum = sum * 131 + heap[i];
    acc = (acc ^ (unsigned long long)s) * 1099511628211ULL;
    free(strings[s % 64]);
    strings[s % 64] = malloc(100 + (size_t)s * 37);
    snprintf(strings[s % 64], 64, "s%d", s);
    char word[9] = {0};
    if (read(data_fd, word, 8) != 8) return 5;
    printf("step %d acc %llx sum %llx %s %s\n", s, acc, sum, strings[s % 64], word);
    fflush(stdout);
    struct timespec ts = {0, 40 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("done pid-independent\n");
  return 0;
}
