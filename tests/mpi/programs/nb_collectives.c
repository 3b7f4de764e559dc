/* Nonblocking collectives kept in flight across steps (so across a checkpoint): at step s every
 * rank starts MPI_Ibarrier, MPI_Ibcast (rotating root), MPI_Iallreduce, MPI_Ialltoall and one
 * of MPI_Ireduce / MPI_Iallgather / MPI_Iscan / MPI_Ireduce_scatter_block / MPI_Igatherv, and
 * completes them only at step s+LAG (MPI_Waitall, or MPI_Testall / MPI_Waitsome loops), with
 * up to LAG+1 sets outstanding on MPI_COMM_WORLD at once. Results are checked on completion. */
#include "mt.h"

#define LAG 2
#define NSLOT (LAG + 1)
#define MAXN 64
#define NREQ 5

struct slot {
  int step;
  MPI_Request req[NREQ];
  int32_t bc[16];
  int64_t ar_in[8], ar_out[8];
  int32_t a2a_in[MAXN * 2], a2a_out[MAXN * 2];
  int64_t x_in[MAXN * 2], x_out[MAXN * 2];
  int counts[MAXN], displs[MAXN];
};

static struct slot slots[NSLOT];

static void post(struct slot* sl, int s, int r, int n) {
  MPI_Comm w = MPI_COMM_WORLD;
  const int root = s % n;
  sl->step = s;
  MT_MPI(MPI_Ibarrier(w, &sl->req[0]));
  for (int i = 0; i < 16; ++i) sl->bc[i] = r == root ? mt_val(s, root, i) : -1;
  MT_MPI(MPI_Ibcast(sl->bc, 16, MPI_INT32_T, root, w, &sl->req[1]));
  for (int i = 0; i < 8; ++i) sl->ar_in[i] = (int64_t)mt_val(s, r, i) - (1 << 29);
  MT_MPI(MPI_Iallreduce(sl->ar_in, sl->ar_out, 8, MPI_INT64_T, MPI_SUM, w, &sl->req[2]));
  for (int q = 0; q < n; ++q) sl->a2a_out[2 * q] = r * 1000 + q, sl->a2a_out[2 * q + 1] = s;
  MT_MPI(MPI_Ialltoall(sl->a2a_out, 2, MPI_INT32_T, sl->a2a_in, 2, MPI_INT32_T, w, &sl->req[3]));
  memset(sl->x_out, 0, sizeof sl->x_out);
  switch (s % 5) {
    case 0:
      sl->x_in[0] = mt_val(s, r, 100), sl->x_in[1] = r;
      MT_MPI(MPI_Ireduce(sl->x_in, sl->x_out, 2, MPI_INT64_T, MPI_MAX, root, w, &sl->req[4]));
      break;
    case 1:
      sl->x_in[0] = mt_val(s, r, 101);
      MT_MPI(MPI_Iallgather(sl->x_in, 1, MPI_INT64_T, sl->x_out, 1, MPI_INT64_T, w, &sl->req[4]));
      break;
    case 2:
      sl->x_in[0] = mt_val(s, r, 102);
      MT_MPI(MPI_Iscan(sl->x_in, sl->x_out, 1, MPI_INT64_T, MPI_SUM, w, &sl->req[4]));
      break;
    case 3:
      for (int i = 0; i < 2 * n; ++i) sl->x_in[i] = (int64_t)(r + 1) * (i + s);
      MT_MPI(MPI_Ireduce_scatter_block(sl->x_in, sl->x_out, 2, MPI_INT64_T, MPI_SUM, w,
                                       &sl->req[4]));
      break;
    default: {
      int total = 0;
      for (int q = 0; q < n; ++q) sl->counts[q] = 1 + (q + s) % 2, sl->displs[q] = total, total += sl->counts[q];
      for (int i = 0; i < sl->counts[r]; ++i) sl->x_in[i] = mt_val(s, r, 200 + i);
      MT_MPI(MPI_Igatherv(sl->x_in, sl->counts[r], MPI_INT64_T, sl->x_out, sl->counts,
                          sl->displs, MPI_INT64_T, root, w, &sl->req[4]));
      break;
    }
  }
}

static uint64_t check(struct slot* sl, int r, int n, int now) {
  const int s = sl->step, root = s % n;
  uint64_t h = MT_HASH_INIT;
  for (int i = 0; i < 16; ++i)
    MT_CHECK(sl->bc[i] == mt_val(s, root, i), "step %d: ibcast of step %d [%d]", now, s, i);
  for (int i = 0; i < 8; ++i) {
    int64_t want = 0;
    for (int q = 0; q < n; ++q) want += (int64_t)mt_val(s, q, i) - (1 << 29);
    MT_CHECK(sl->ar_out[i] == want, "step %d: iallreduce of step %d [%d]", now, s, i);
  }
  for (int q = 0; q < n; ++q)
    MT_CHECK(sl->a2a_in[2 * q] == q * 1000 + r && sl->a2a_in[2 * q + 1] == s,
             "step %d: ialltoall of step %d from %d", now, s, q);
  switch (s % 5) {
    case 0:
      if (r == root) {
        int64_t want = 0;
        for (int q = 0; q < n; ++q) want = mt_val(s, q, 100) > want ? mt_val(s, q, 100) : want;
        MT_CHECK(sl->x_out[0] == want && sl->x_out[1] == n - 1, "step %d: ireduce of %d", now, s);
      }
      break;
    case 1:
      for (int q = 0; q < n; ++q)
        MT_CHECK(sl->x_out[q] == mt_val(s, q, 101), "step %d: iallgather of %d", now, s);
      break;
    case 2: {
      int64_t want = 0;
      for (int q = 0; q <= r; ++q) want += mt_val(s, q, 102);
      MT_CHECK(sl->x_out[0] == want, "step %d: iscan of %d", now, s);
      break;
    }
    case 3:
      for (int i = 0; i < 2; ++i)
        MT_CHECK(sl->x_out[i] == (int64_t)n * (n + 1) / 2 * (2 * r + i + s),
                 "step %d: ireduce_scatter_block of %d", now, s);
      break;
    default:
      if (r == root)
        for (int q = 0; q < n; ++q)
          for (int i = 0; i < sl->counts[q]; ++i)
            MT_CHECK(sl->x_out[sl->displs[q] + i] == mt_val(s, q, 200 + i),
                     "step %d: igatherv of %d", now, s);
      break;
  }
  h = mt_hash(h, sl->bc, sizeof sl->bc);
  h = mt_hash(h, sl->ar_out, sizeof sl->ar_out);
  h = mt_hash(h, sl->a2a_in, (size_t)n * 2 * sizeof(int32_t));
  h = mt_hash(h, sl->x_out, sizeof sl->x_out);
  return h;
}

static void complete(struct slot* sl, int now) {
  MPI_Status st[NREQ];
  switch (now % 3) {
    case 0: MT_MPI(MPI_Waitall(NREQ, sl->req, st)); break;
    case 1: {
      int flag = 0, guard = 0;
      while (!flag) {
        MT_MPI(MPI_Testall(NREQ, sl->req, &flag, st));
        if (++guard % 1000 == 0) mt_sleep_ms(1);
      }
      break;
    }
    default: {
      int done = 0;
      while (done < NREQ) {
        int outcount = 0, idx[NREQ];
        MT_MPI(MPI_Waitsome(NREQ, sl->req, &outcount, idx, st));
        MT_CHECK(outcount != MPI_UNDEFINED && outcount >= 1, "step %d: Waitsome %d", now, outcount);
        done += outcount;
      }
      break;
    }
  }
  for (int i = 0; i < NREQ; ++i)
    MT_CHECK(sl->req[i] == MPI_REQUEST_NULL, "step %d: request %d still active", now, i);
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "nb_collectives", 150, 40);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 2 && n <= MAXN, "needs 2..%d ranks, has %d", MAXN, n);
  uint64_t h = MT_HASH_INIT;
  for (int s = 0; s < mt_steps + LAG; ++s) {
    if (s < mt_steps) mt_progress(s);
    if (s >= LAG) {
      struct slot* sl = &slots[(s - LAG) % NSLOT];
      MT_CHECK(sl->step == s - LAG, "step %d: slot holds step %d", s, sl->step);
      complete(sl, s);
      h = mt_hash_u64(h, check(sl, r, n, s));
    }
    if (s < mt_steps) {
      post(&slots[s % NSLOT], s, r, n);
      mt_step_sleep();
    }
  }
  mt_finish(h);
  return 0;
}
