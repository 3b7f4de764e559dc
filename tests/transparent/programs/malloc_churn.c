/* malloc/calloc/realloc/free churn: 4096 slots of sizes from 1 byte to 256 KiB (some large
 * enough for mmap-backed chunks), each filled with a pattern derived from its slot and
 * generation; every step verifies the slots it touches and, every 20 steps, all of them. */
#include "mx.h"

MX_PROGRAM("malloc_churn");

#define SLOTS 4096
static unsigned char* ptr[SLOTS];
static size_t len[SLOTS];
static uint32_t gen[SLOTS];

static unsigned char pattern(int slot, uint32_t g, size_t i) {
  return (unsigned char)(slot * 7 + g * 13 + i * 3);
}
static void verify(int slot, int step) {
  for (size_t i = 0; i < len[slot]; i += (len[slot] > 4096 ? 61 : 1))
    MX_CHECK(ptr[slot][i] == pattern(slot, gen[slot], i),
             "step %d slot %d (len %zu, gen %u): byte %zu lost", step, slot, len[slot], gen[slot],
             i);
}
static void fill(int slot) {
  for (size_t i = 0; i < len[slot]; ++i) ptr[slot][i] = pattern(slot, gen[slot], i);
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  uint64_t seed = 7;
  uint64_t ops = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 300; ++k, ++ops) {
      uint64_t r = mx_next(&seed);
      int slot = (int)(r % SLOTS);
      if (ptr[slot] != NULL) verify(slot, s);
      size_t size = (r >> 20) % 8 == 0 ? (size_t)((r >> 32) % (256 * 1024)) + 1
                                       : (size_t)((r >> 32) % 512) + 1;
      switch ((r >> 12) % 4) {
        case 0:
          free(ptr[slot]);
          ptr[slot] = NULL;
          len[slot] = 0;
          break;
        case 1: {
          unsigned char* p = realloc(ptr[slot], size);
          MX_CHECK(p != NULL, "realloc %zu", size);
          size_t keep = len[slot] < size ? len[slot] : size;
          for (size_t i = 0; i < keep; i += 17)
            MX_CHECK(p[i] == pattern(slot, gen[slot], i), "realloc lost byte %zu", i);
          ptr[slot] = p;
          len[slot] = size;
          gen[slot]++;
          fill(slot);
          break;
        }
        case 2: {
          free(ptr[slot]);
          unsigned char* p = calloc(1, size);
          MX_CHECK(p != NULL, "calloc %zu", size);
          for (size_t i = 0; i < size; i += 31) MX_CHECK(p[i] == 0, "calloc not zero");
          ptr[slot] = p;
          len[slot] = size;
          gen[slot]++;
          fill(slot);
          break;
        }
        default:
          free(ptr[slot]);
          ptr[slot] = malloc(size);
          MX_CHECK(ptr[slot] != NULL, "malloc %zu", size);
          len[slot] = size;
          gen[slot]++;
          fill(slot);
      }
    }
    if (s % 20 == 0)
      for (int i = 0; i < SLOTS; ++i)
        if (ptr[i] != NULL) verify(i, s);
    mx_step_sleep();
  }
  uint64_t h = MX_HASH_INIT, bytes = 0;
  for (int i = 0; i < SLOTS; ++i) {
    if (ptr[i] != NULL) verify(i, MX_STEPS);
    h = mx_hash(h, &len[i], sizeof len[i]);
    h = mx_hash(h, &gen[i], sizeof gen[i]);
    bytes += len[i];
    free(ptr[i]);
  }
  printf("malloc ops %llu live bytes %llu hash %016llx\n", (unsigned long long)ops,
         (unsigned long long)bytes, (unsigned long long)h);
  return 0;
}
