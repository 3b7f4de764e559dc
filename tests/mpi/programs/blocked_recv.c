/* Ranks blocked inside MPI while rank 0 computes: every phase (STEPS phases of 20 chunks of
 * STEP_MS ms of "work", ~1 s each) rank 0 computes a value for a long stretch while ranks 1..n-1
 * wait for it in, by turns: MPI_Recv (rank 1 from MPI_ANY_SOURCE), MPI_Irecv + MPI_Wait,
 * MPI_Barrier (then MPI_Bcast), MPI_Allreduce, and a blocking MPI_Send of a large message
 * (rendezvous: it cannot complete before rank 0 posts its receive). So a checkpoint taken at
 * any time finds n-1 ranks blocked in a call and one computing. */
#include "mt.h"

#define CHUNKS 20
#define BIG (1 << 18)

/* Rank 0's work of phase p: a value every rank can also compute itself. */
static int64_t work(int p, int chunk, int64_t acc) {
  return (int64_t)(mt_mix((uint64_t)acc ^ (uint64_t)(p * 1000 + chunk)) & 0xffffffffffLL);
}

static int64_t expected(int p) {
  int64_t acc = p;
  for (int c = 0; c < CHUNKS; ++c) acc = work(p, c, acc);
  return acc;
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "blocked_recv", 9, 50);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 2, "needs at least 2 ranks, has %d", n);
  uint64_t h = MT_HASH_INIT;
  int32_t* big = (int32_t*)malloc(BIG * sizeof *big);
  MT_CHECK(big != NULL, "malloc");

  for (int p = 0; p < mt_steps; ++p) {
    mt_progress(p);
    const int64_t want = expected(p);
    int64_t value = -1;
    if (r == 0) {
      int64_t acc = p;
      for (int c = 0; c < CHUNKS; ++c) {
        acc = work(p, c, acc);
        mt_step_sleep();
      }
      value = acc;
    }
    switch (p % 5) {
      case 0: /* MPI_Recv */
        if (r == 0) {
          for (int d = 1; d < n; ++d) MT_MPI(MPI_Send(&value, 1, MPI_INT64_T, d, p, MPI_COMM_WORLD));
        } else {
          MPI_Status st;
          MT_MPI(MPI_Recv(&value, 1, MPI_INT64_T, r == 1 ? MPI_ANY_SOURCE : 0, p, MPI_COMM_WORLD,
                          &st));
          MT_CHECK(st.MPI_SOURCE == 0 && st.MPI_TAG == p, "phase %d: from %d tag %d", p,
                   st.MPI_SOURCE, st.MPI_TAG);
        }
        break;
      case 1: /* MPI_Irecv + MPI_Wait */
        if (r == 0) {
          for (int d = 1; d < n; ++d) MT_MPI(MPI_Send(&value, 1, MPI_INT64_T, d, p, MPI_COMM_WORLD));
        } else {
          MPI_Request rq;
          MPI_Status st;
          MT_MPI(MPI_Irecv(&value, 1, MPI_INT64_T, 0, p, MPI_COMM_WORLD, &rq));
          MT_MPI(MPI_Wait(&rq, &st));
          MT_CHECK(rq == MPI_REQUEST_NULL && st.MPI_SOURCE == 0, "phase %d: Wait", p);
        }
        break;
      case 2: /* MPI_Barrier, then the value by MPI_Bcast */
        MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
        MT_MPI(MPI_Bcast(&value, 1, MPI_INT64_T, 0, MPI_COMM_WORLD));
        break;
      case 3: { /* MPI_Allreduce (MAX: the others contribute -1) */
        int64_t in = value;
        MT_MPI(MPI_Allreduce(&in, &value, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
        break;
      }
      default: /* large blocking sends to rank 0, which receives them only after its work */
        if (r == 0) {
          for (int src = 1; src < n; ++src) {
            MPI_Status st;
            MT_MPI(MPI_Recv(big, BIG, MPI_INT32_T, src, p, MPI_COMM_WORLD, &st));
            for (int i = 0; i < BIG; i += 89)
              MT_CHECK(big[i] == mt_val(p, src, i), "phase %d: big from %d [%d]", p, src, i);
            h = mt_hash(h, big, BIG * sizeof *big);
          }
        } else {
          for (int i = 0; i < BIG; ++i) big[i] = mt_val(p, r, i);
          MT_MPI(MPI_Send(big, BIG, MPI_INT32_T, 0, p, MPI_COMM_WORLD));
        }
        MT_MPI(MPI_Bcast(&value, 1, MPI_INT64_T, 0, MPI_COMM_WORLD));
        break;
    }
    MT_CHECK(value == want, "phase %d: value %lld, want %lld", p, (long long)value,
             (long long)want);
    h = mt_hash_i64(h, value);
  }
  free(big);
  mt_finish(h);
  return 0;
}
