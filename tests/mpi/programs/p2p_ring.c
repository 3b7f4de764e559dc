/* Blocking point-to-point: a token passed around the ring with MPI_Send / MPI_Recv from
 * MPI_ANY_SOURCE (status source, tag and MPI_Get_count checked), MPI_Sendrecv with a partner
 * distance that changes every step, MPI_Sendrecv_replace of a buffer shifted around the ring,
 * and every 10th step a large (rendezvous-sized) message. Beside MPI, every step maps one
 * anonymous page (mmap), fills it and keeps it to the end (read-only on even steps, so that
 * neighbouring pages stay separate mappings), checking them all each step: the pages a
 * restarted rank maps often land where the old process's MPI library had its mappings, and
 * the next checkpoint must save them like any other. */
#include <sys/mman.h>

#include "mt.h"

#define MAXLEN 64
#define BIGLEN (1 << 18) /* 1 MiB of ints: above every eager limit */

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "p2p_ring", 200, 35);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 2, "needs at least 2 ranks, has %d", n);
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  uint64_t h = MT_HASH_INIT;
  int32_t* big = (int32_t*)malloc(BIGLEN * sizeof *big);
  MT_CHECK(big != NULL, "malloc");
  double shifted[16];
  for (int i = 0; i < 16; ++i) shifted[i] = (double)(r * 100 + i);
  int32_t** pages = (int32_t**)calloc((size_t)mt_steps, sizeof *pages);
  MT_CHECK(pages != NULL, "calloc");

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    /* 1. The token: rank 0 starts it, each rank receives from ANY_SOURCE, appends a value and
     * passes it on; its length grows by one per hop. */
    int32_t tok[MAXLEN + 8];
    const int base = 1 + s % 16, tag = s % 1000;
    MPI_Status st;
    int count = -1;
    if (r == 0) {
      for (int i = 0; i < base; ++i) tok[i] = mt_val(s, 0, i);
      MT_MPI(MPI_Send(tok, base, MPI_INT32_T, right, tag, MPI_COMM_WORLD));
      MT_MPI(MPI_Recv(tok, MAXLEN + 8, MPI_INT32_T, MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &st));
      MT_MPI(MPI_Get_count(&st, MPI_INT32_T, &count));
      MT_CHECK(count == base + n - 1, "step %d: token length %d, want %d", s, count, base + n - 1);
    } else {
      MT_MPI(MPI_Recv(tok, MAXLEN + 8, MPI_INT32_T, MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &st));
      MT_MPI(MPI_Get_count(&st, MPI_INT32_T, &count));
      MT_CHECK(count == base + r - 1, "step %d: token length %d, want %d", s, count, base + r - 1);
      tok[count] = mt_val(s, r, 77);
      MT_MPI(MPI_Send(tok, count + 1, MPI_INT32_T, right, tag, MPI_COMM_WORLD));
    }
    MT_CHECK(st.MPI_SOURCE == left && st.MPI_TAG == tag, "step %d: token from %d tag %d", s,
             st.MPI_SOURCE, st.MPI_TAG);
    for (int i = 0; i < count; ++i) {
      int32_t want = i < base ? mt_val(s, 0, i) : mt_val(s, i - base + 1, 77);
      MT_CHECK(tok[i] == want, "step %d: token[%d] = %d, want %d", s, i, tok[i], want);
    }
    h = mt_hash(h, tok, (size_t)count * sizeof tok[0]);

    /* 2. Sendrecv with partner distance k: send to r+k, receive from r-k. */
    const int k = 1 + s % (n - 1);
    const int to = (r + k) % n, from = (r - k + n) % n;
    const int len = 1 + (s * 7 + r) % MAXLEN, from_len = 1 + (s * 7 + from) % MAXLEN;
    int64_t out[MAXLEN], in[MAXLEN];
    for (int i = 0; i < len; ++i) out[i] = (int64_t)mt_val(s, r, i) * 3 + k;
    MT_MPI(MPI_Sendrecv(out, len, MPI_INT64_T, to, 2000 + k, in, MAXLEN, MPI_INT64_T, from,
                        2000 + k, MPI_COMM_WORLD, &st));
    MT_MPI(MPI_Get_count(&st, MPI_INT64_T, &count));
    MT_CHECK(count == from_len && st.MPI_SOURCE == from, "step %d: sendrecv got %d from %d", s,
             count, st.MPI_SOURCE);
    for (int i = 0; i < count; ++i)
      MT_CHECK(in[i] == (int64_t)mt_val(s, from, i) * 3 + k, "step %d: sendrecv[%d]", s, i);
    h = mt_hash(h, in, (size_t)count * sizeof in[0]);

    /* 3. Sendrecv_replace: the buffer travels one rank to the right per step. */
    MT_MPI(MPI_Sendrecv_replace(shifted, 16, MPI_DOUBLE, right, 3000, left, 3000, MPI_COMM_WORLD,
                                &st));
    {
      const int origin = ((r - (s + 1)) % n + n) % n;
      for (int i = 0; i < 16; ++i)
        MT_CHECK(shifted[i] == (double)(origin * 100 + i), "step %d: replace[%d] = %g", s, i,
                 shifted[i]);
    }

    /* 4. Every 10th step: a large message from each even rank to the next rank. */
    if (s % 10 == 5) {
      if (r % 2 == 0 && r + 1 < n) {
        for (int i = 0; i < BIGLEN; ++i) big[i] = mt_val(s, r, i);
        MT_MPI(MPI_Send(big, BIGLEN, MPI_INT32_T, r + 1, 4000, MPI_COMM_WORLD));
      } else if (r % 2 == 1) {
        memset(big, 0, BIGLEN * sizeof *big);
        MT_MPI(MPI_Recv(big, BIGLEN, MPI_INT32_T, r - 1, 4000, MPI_COMM_WORLD, &st));
        MT_MPI(MPI_Get_count(&st, MPI_INT32_T, &count));
        MT_CHECK(count == BIGLEN, "step %d: big count %d", s, count);
        for (int i = 0; i < BIGLEN; i += 97)
          MT_CHECK(big[i] == mt_val(s, r - 1, i), "step %d: big[%d]", s, i);
        h = mt_hash(h, big, BIGLEN * sizeof *big);
      }
    }
    /* 5. This step's page; every page so far still holds what its step wrote. */
    pages[s] =
        (int32_t*)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    MT_CHECK(pages[s] != MAP_FAILED, "step %d: mmap: %s", s, strerror(errno));
    for (int i = 0; i < 1024; ++i) pages[s][i] = mt_val(s, r, 5000 + i);
    if (s % 2 == 0) MT_CHECK(mprotect(pages[s], 4096, PROT_READ) == 0, "step %d: mprotect", s);
    for (int t = 0; t <= s; ++t)
      for (int i = 0; i < 1024; i += 255)
        MT_CHECK(pages[t][i] == mt_val(t, r, 5000 + i), "step %d: page of step %d [%d]", s, t, i);
    mt_step_sleep();
  }
  for (int t = 0; t < mt_steps; ++t) {
    h = mt_hash(h, pages[t], 4096);
    munmap(pages[t], 4096);
  }
  free(pages);
  h = mt_hash(h, shifted, sizeof shifted);
  free(big);
  mt_finish(h);
  return 0;
}
