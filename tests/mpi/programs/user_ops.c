/* User-defined reduction operations created before a checkpoint and used after it:
 * MPI_Op_create of a commutative one (sum modulo a prime on int64) and of a non-commutative
 * one (2x2 matrix product modulo 2^32 on a contiguous derived type, so the rank order of the
 * operands matters), MPI_Op_commutative, used in MPI_Allreduce, MPI_Reduce (rotating root),
 * MPI_Scan, MPI_Exscan, MPI_Reduce_scatter_block and MPI_Reduce_local; plus a third op created
 * at step s and freed (MPI_Op_free) at step s+2. Results are checked against the product /
 * sum computed locally in rank order. */
#include "mt.h"

#define P 1000000007LL
#define NV 8

typedef struct { uint32_t m[4]; } mat; /* row-major 2x2 */

static mat mat_mul(mat a, mat b) {
  mat c;
  c.m[0] = a.m[0] * b.m[0] + a.m[1] * b.m[2];
  c.m[1] = a.m[0] * b.m[1] + a.m[1] * b.m[3];
  c.m[2] = a.m[2] * b.m[0] + a.m[3] * b.m[2];
  c.m[3] = a.m[2] * b.m[1] + a.m[3] * b.m[3];
  return c;
}

static mat mat_of(int s, int r) {
  mat a;
  a.m[0] = 1 + (uint32_t)mt_val(s, r, 0) % 7;
  a.m[1] = (uint32_t)mt_val(s, r, 1);
  a.m[2] = (uint32_t)mt_val(s, r, 2) % 5;
  a.m[3] = 1 + (uint32_t)mt_val(s, r, 3);
  return a;
}

static int mat_eq(mat a, mat b) { return memcmp(&a, &b, sizeof a) == 0; }

static long calls_sum, calls_mul; /* how often MPI called the functions: not in the result */

static void sum_mod(void* in, void* inout, int* len, MPI_Datatype* dt) {
  (void)dt;
  const int64_t* a = (const int64_t*)in;
  int64_t* b = (int64_t*)inout;
  for (int i = 0; i < *len; ++i) b[i] = (a[i] + b[i]) % P;
  ++calls_sum;
}

static void mat_prod(void* in, void* inout, int* len, MPI_Datatype* dt) {
  (void)dt;
  const mat* a = (const mat*)in;
  mat* b = (mat*)inout;
  for (int i = 0; i < *len; ++i) b[i] = mat_mul(a[i], b[i]); /* inout = in x inout */
  ++calls_mul;
}

/* The third op: bitwise rotate-xor (commutative), recreated every two steps. */
static void rot_xor(void* in, void* inout, int* len, MPI_Datatype* dt) {
  (void)dt;
  const uint64_t* a = (const uint64_t*)in;
  uint64_t* b = (uint64_t*)inout;
  for (int i = 0; i < *len; ++i) b[i] ^= a[i];
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "user_ops", 150, 40);
  const int n = mt_size, r = mt_rank;
  const MPI_Comm w = MPI_COMM_WORLD;
  uint64_t h = MT_HASH_INIT;

  MPI_Op op_sum, op_mat, op_tmp = MPI_OP_NULL;
  int tmp_made = -1;
  MT_MPI(MPI_Op_create(sum_mod, 1, &op_sum));
  MT_MPI(MPI_Op_create(mat_prod, 0, &op_mat));
  MPI_Datatype t_mat;
  MT_MPI(MPI_Type_contiguous(4, MPI_UINT32_T, &t_mat));
  MT_MPI(MPI_Type_commit(&t_mat));

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    int commute = -1;
    MT_MPI(MPI_Op_commutative(op_sum, &commute));
    MT_CHECK(commute == 1, "step %d: op_sum not commutative", s);
    MT_MPI(MPI_Op_commutative(op_mat, &commute));
    MT_CHECK(commute == 0, "step %d: op_mat commutative", s);

    /* The expected values, in rank order. */
    mat prefix[64], total;
    int64_t sums[NV];
    MT_CHECK(n <= 64, "too many ranks");
    for (int i = 0; i < NV; ++i) sums[i] = 0;
    for (int q = 0; q < n; ++q) {
      prefix[q] = q == 0 ? mat_of(s, 0) : mat_mul(prefix[q - 1], mat_of(s, q));
      for (int i = 0; i < NV; ++i) sums[i] = (sums[i] + (int64_t)mt_val(s, q, 10 + i) * 977) % P;
    }
    total = prefix[n - 1];
    const mat mine = mat_of(s, r);
    const int root = s % n;

    switch (s % 3) { /* a few collectives per step */
      case 0: {
        int64_t in[NV], out[NV];
        for (int i = 0; i < NV; ++i) in[i] = ((int64_t)mt_val(s, r, 10 + i) * 977) % P;
        MT_MPI(MPI_Allreduce(in, out, NV, MPI_INT64_T, op_sum, w));
        for (int i = 0; i < NV; ++i) MT_CHECK(out[i] == sums[i], "step %d: allreduce op_sum", s);
        h = mt_hash(h, out, sizeof out);
        mat all;
        MT_MPI(MPI_Allreduce(&mine, &all, 1, t_mat, op_mat, w));
        MT_CHECK(mat_eq(all, total), "step %d: allreduce op_mat", s);
        h = mt_hash(h, &all, sizeof all);
        break;
      }
      case 1: {
        mat red = {{0, 0, 0, 0}}, sc;
        MT_MPI(MPI_Reduce(&mine, &red, 1, t_mat, op_mat, root, w));
        if (r == root) MT_CHECK(mat_eq(red, total), "step %d: reduce op_mat at %d", s, root);
        MT_MPI(MPI_Scan(&mine, &sc, 1, t_mat, op_mat, w));
        MT_CHECK(mat_eq(sc, prefix[r]), "step %d: scan op_mat", s);
        h = mt_hash(h, &sc, sizeof sc);
        int64_t v = ((int64_t)mt_val(s, r, 10) * 977) % P, ex = -1;
        MT_MPI(MPI_Exscan(&v, &ex, 1, MPI_INT64_T, op_sum, w));
        if (r > 0) {
          int64_t want = 0;
          for (int q = 0; q < r; ++q) want = (want + (int64_t)mt_val(s, q, 10) * 977) % P;
          MT_CHECK(ex == want, "step %d: exscan op_sum", s);
        }
        break;
      }
      default: {
        int64_t in[2 * 64], out[2];
        for (int i = 0; i < 2 * n; ++i) in[i] = (int64_t)(r + 1) * (i + 1) * 1000003 % P;
        MT_MPI(MPI_Reduce_scatter_block(in, out, 2, MPI_INT64_T, op_sum, w));
        for (int k = 0; k < 2; ++k) {
          int64_t want = 0;
          for (int q = 0; q < n; ++q) want = (want + (int64_t)(q + 1) * (2 * r + k + 1) * 1000003 % P) % P;
          MT_CHECK(out[k] == want, "step %d: reduce_scatter_block op_sum", s);
        }
        h = mt_hash(h, out, sizeof out);
        /* Local reductions: no communication. */
        mat acc = mat_of(s, n), lhs = mat_of(s, n + 1);
        MT_MPI(MPI_Reduce_local(&lhs, &acc, 1, t_mat, op_mat));
        MT_CHECK(mat_eq(acc, mat_mul(mat_of(s, n + 1), mat_of(s, n))), "step %d: reduce_local", s);
        /* The short-lived op. */
        if (op_tmp != MPI_OP_NULL && s - tmp_made >= 2) {
          uint64_t x = mt_mix((uint64_t)(s * 64 + r)), xr = 0, want = 0;
          for (int q = 0; q < n; ++q) want ^= mt_mix((uint64_t)(s * 64 + q));
          MT_MPI(MPI_Allreduce(&x, &xr, 1, MPI_UINT64_T, op_tmp, w));
          MT_CHECK(xr == want, "step %d: allreduce op_tmp", s);
          MT_MPI(MPI_Op_free(&op_tmp));
          MT_CHECK(op_tmp == MPI_OP_NULL, "Op_free");
          h = mt_hash_u64(h, xr);
        }
        if (op_tmp == MPI_OP_NULL) {
          MT_MPI(MPI_Op_create(rot_xor, 1, &op_tmp));
          tmp_made = s;
        }
        break;
      }
    }
    mt_step_sleep();
  }
  (void)calls_sum, (void)calls_mul;
  if (op_tmp != MPI_OP_NULL) MT_MPI(MPI_Op_free(&op_tmp));
  MT_MPI(MPI_Op_free(&op_sum));
  MT_MPI(MPI_Op_free(&op_mat));
  MT_MPI(MPI_Type_free(&t_mat));
  mt_finish(h);
  return 0;
}
