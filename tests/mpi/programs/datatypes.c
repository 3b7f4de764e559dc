/* Derived datatypes created at the start and used every step (so after a restart):
 * MPI_Type_contiguous, MPI_Type_vector, MPI_Type_create_hvector, MPI_Type_indexed,
 * MPI_Type_create_struct + MPI_Type_create_resized (a C struct with padding), MPI_Type_commit;
 * checked with MPI_Type_size, MPI_Type_get_extent, MPI_Type_get_true_extent and
 * MPI_Type_get_envelope. Messages are sent with a derived type and received as a contiguous
 * one (and the other way round), and MPI_Pack / MPI_Unpack / MPI_Pack_size move a mixed
 * message as MPI_PACKED. Every step also creates a subarray or indexed-block type, uses it and
 * frees it (MPI_Type_free), and a MPI_Type_dup lives for three steps. */
#include <stddef.h>

#include "mt.h"

struct rec {
  int a;
  double b;
  char c[3];
};

#define NREC 7

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "datatypes", 170, 40);
  const int n = mt_size, r = mt_rank;
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  const MPI_Comm w = MPI_COMM_WORLD;
  uint64_t h = MT_HASH_INIT;

  MPI_Datatype t_contig, t_vec, t_hvec, t_idx, t_struct, t_rec;
  MT_MPI(MPI_Type_contiguous(5, MPI_INT, &t_contig));
  MT_MPI(MPI_Type_vector(4, 2, 5, MPI_DOUBLE, &t_vec));
  MT_MPI(MPI_Type_create_hvector(3, 1, 24, MPI_INT, &t_hvec));
  const int idx_len[3] = {2, 1, 3}, idx_disp[3] = {0, 5, 9};
  MT_MPI(MPI_Type_indexed(3, idx_len, idx_disp, MPI_INT, &t_idx));
  {
    const int bl[3] = {1, 1, 3};
    const MPI_Aint disp[3] = {offsetof(struct rec, a), offsetof(struct rec, b),
                              offsetof(struct rec, c)};
    const MPI_Datatype types[3] = {MPI_INT, MPI_DOUBLE, MPI_CHAR};
    MT_MPI(MPI_Type_create_struct(3, bl, disp, types, &t_struct));
    MT_MPI(MPI_Type_create_resized(t_struct, 0, (MPI_Aint)sizeof(struct rec), &t_rec));
  }
  MPI_Datatype all[] = {t_contig, t_vec, t_hvec, t_idx, t_rec};
  for (int i = 0; i < 5; ++i) MT_MPI(MPI_Type_commit(&all[i]));
  t_contig = all[0], t_vec = all[1], t_hvec = all[2], t_idx = all[3], t_rec = all[4];

  MPI_Datatype dup_type = MPI_DATATYPE_NULL;
  int dup_made = -1;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    /* Sizes and extents (the handles may have been re-created by a restart). */
    {
      int sz;
      MPI_Aint lb, ext, tlb, text;
      MT_MPI(MPI_Type_size(t_contig, &sz));
      MT_CHECK(sz == 20, "step %d: contiguous size %d", s, sz);
      MT_MPI(MPI_Type_size(t_vec, &sz));
      MT_MPI(MPI_Type_get_extent(t_vec, &lb, &ext));
      MT_CHECK(sz == 64 && lb == 0 && ext == (3 * 5 + 2) * 8, "step %d: vector %d %ld", s, sz,
               (long)ext);
      MT_MPI(MPI_Type_size(t_hvec, &sz));
      MT_MPI(MPI_Type_get_extent(t_hvec, &lb, &ext));
      MT_CHECK(sz == 12 && ext == 2 * 24 + 4, "step %d: hvector %d %ld", s, sz, (long)ext);
      MT_MPI(MPI_Type_size(t_idx, &sz));
      MT_MPI(MPI_Type_get_extent(t_idx, &lb, &ext));
      MT_CHECK(sz == 24 && ext == 12 * 4, "step %d: indexed %d %ld", s, sz, (long)ext);
      MT_MPI(MPI_Type_size(t_rec, &sz));
      MT_MPI(MPI_Type_get_extent(t_rec, &lb, &ext));
      MT_MPI(MPI_Type_get_true_extent(t_rec, &tlb, &text));
      MT_CHECK(sz == 4 + 8 + 3 && lb == 0 && ext == (MPI_Aint)sizeof(struct rec) && tlb == 0 &&
                   text == (MPI_Aint)(offsetof(struct rec, c) + 3),
               "step %d: struct size %d extent %ld true extent %ld", s, sz, (long)ext, (long)text);
      int ni, na, nd, comb;
      MT_MPI(MPI_Type_get_envelope(t_vec, &ni, &na, &nd, &comb));
      MT_CHECK(comb == MPI_COMBINER_VECTOR && ni == 3 && nd == 1, "step %d: vector envelope", s);
      MT_MPI(MPI_Type_get_envelope(t_rec, &ni, &na, &nd, &comb));
      MT_CHECK(comb == MPI_COMBINER_RESIZED, "step %d: resized envelope %d", s, comb);
    }

    /* Records: derived both ways. */
    {
      struct rec out[NREC], in[NREC];
      memset(out, 0, sizeof out);
      memset(in, 0x55, sizeof in);
      for (int i = 0; i < NREC; ++i) {
        out[i].a = mt_val(s, r, i);
        out[i].b = (double)mt_val(s, r, i + 100) / 16.0;
        for (int k = 0; k < 3; ++k) out[i].c[k] = (char)('a' + (s + i + k + r) % 26);
      }
      MT_MPI(MPI_Sendrecv(out, NREC, t_rec, right, 1, in, NREC, t_rec, left, 1, w,
                          MPI_STATUS_IGNORE));
      for (int i = 0; i < NREC; ++i) {
        MT_CHECK(in[i].a == mt_val(s, left, i) && in[i].b == (double)mt_val(s, left, i + 100) / 16.0,
                 "step %d: record %d", s, i);
        for (int k = 0; k < 3; ++k)
          MT_CHECK(in[i].c[k] == (char)('a' + (s + i + k + left) % 26), "step %d: record %d c", s, i);
        h = mt_hash_i64(h, in[i].a);
        h = mt_hash(h, &in[i].b, sizeof in[i].b);
        h = mt_hash(h, in[i].c, 3);
      }
    }

    /* Vector out of a matrix, received as 8 contiguous doubles. */
    {
      double m[20], got[8];
      for (int i = 0; i < 20; ++i) m[i] = (double)(s * 20 + i + r * 1000);
      MT_MPI(MPI_Sendrecv(m, 1, t_vec, right, 2, got, 8, MPI_DOUBLE, left, 2, w, MPI_STATUS_IGNORE));
      for (int b = 0; b < 4; ++b)
        for (int k = 0; k < 2; ++k)
          MT_CHECK(got[2 * b + k] == (double)(s * 20 + b * 5 + k + left * 1000), "step %d: vector", s);
      h = mt_hash(h, got, sizeof got);
    }

    /* hvector sent, contiguous received; contiguous sent, indexed received (scattered). */
    {
      int src[16], got[3], dst[12], flat[6];
      for (int i = 0; i < 16; ++i) src[i] = mt_val(s, r, 300 + i);
      MT_MPI(MPI_Sendrecv(src, 1, t_hvec, right, 3, got, 3, MPI_INT, left, 3, w, MPI_STATUS_IGNORE));
      for (int k = 0; k < 3; ++k) MT_CHECK(got[k] == mt_val(s, left, 300 + 6 * k), "step %d: hvector", s);
      for (int i = 0; i < 6; ++i) flat[i] = mt_val(s, r, 400 + i);
      for (int i = 0; i < 12; ++i) dst[i] = -1;
      MT_MPI(MPI_Sendrecv(flat, 6, MPI_INT, right, 4, dst, 1, t_idx, left, 4, w, MPI_STATUS_IGNORE));
      const int pos[6] = {0, 1, 5, 9, 10, 11};
      for (int i = 0, k = 0; i < 12; ++i) {
        if (k < 6 && i == pos[k]) {
          MT_CHECK(dst[i] == mt_val(s, left, 400 + k), "step %d: indexed[%d]", s, i);
          ++k;
        } else {
          MT_CHECK(dst[i] == -1, "step %d: indexed wrote a gap at %d", s, i);
        }
      }
      int c5[10], c5in[10];
      for (int i = 0; i < 10; ++i) c5[i] = s + i * r;
      MT_MPI(MPI_Sendrecv(c5, 2, t_contig, right, 5, c5in, 10, MPI_INT, left, 5, w, MPI_STATUS_IGNORE));
      for (int i = 0; i < 10; ++i) MT_CHECK(c5in[i] == s + i * left, "step %d: contiguous", s);
      h = mt_hash(h, got, sizeof got);
      h = mt_hash(h, dst, sizeof dst);
    }

    /* Pack: an int count, then that many records, then a double. */
    {
      const int cnt = 1 + (s + r) % NREC;
      struct rec recs[NREC];
      memset(recs, 0, sizeof recs);
      for (int i = 0; i < cnt; ++i) recs[i].a = s * 100 + i, recs[i].b = r + 0.25 * i;
      double tail = -s - 0.5;
      int sz1, sz2, sz3, pos = 0;
      MT_MPI(MPI_Pack_size(1, MPI_INT, w, &sz1));
      MT_MPI(MPI_Pack_size(NREC, t_rec, w, &sz2));
      MT_MPI(MPI_Pack_size(1, MPI_DOUBLE, w, &sz3));
      const int cap = sz1 + sz2 + sz3;
      char* buf = (char*)malloc((size_t)cap);
      char* rbuf = (char*)malloc((size_t)cap);
      MT_CHECK(buf && rbuf, "malloc");
      MT_MPI(MPI_Pack(&cnt, 1, MPI_INT, buf, cap, &pos, w));
      MT_MPI(MPI_Pack(recs, cnt, t_rec, buf, cap, &pos, w));
      MT_MPI(MPI_Pack(&tail, 1, MPI_DOUBLE, buf, cap, &pos, w));
      MT_CHECK(pos <= cap, "step %d: packed %d > %d", s, pos, cap);
      MPI_Status st;
      MT_MPI(MPI_Sendrecv(buf, pos, MPI_PACKED, right, 6, rbuf, cap, MPI_PACKED, left, 6, w, &st));
      int got_bytes = -1, rpos = 0, rcnt = -1;
      MT_MPI(MPI_Get_count(&st, MPI_PACKED, &got_bytes));
      struct rec rr[NREC];
      double rtail = 0;
      MT_MPI(MPI_Unpack(rbuf, got_bytes, &rpos, &rcnt, 1, MPI_INT, w));
      const int want_cnt = 1 + (s + left) % NREC;
      MT_CHECK(rcnt == want_cnt, "step %d: unpacked count %d, want %d", s, rcnt, want_cnt);
      MT_MPI(MPI_Unpack(rbuf, got_bytes, &rpos, rr, rcnt, t_rec, w));
      MT_MPI(MPI_Unpack(rbuf, got_bytes, &rpos, &rtail, 1, MPI_DOUBLE, w));
      MT_CHECK(rpos == got_bytes && rtail == -s - 0.5, "step %d: unpack tail", s);
      for (int i = 0; i < rcnt; ++i)
        MT_CHECK(rr[i].a == s * 100 + i && rr[i].b == left + 0.25 * i, "step %d: unpacked %d", s, i);
      h = mt_hash_i64(h, rcnt);
      free(buf), free(rbuf);
    }

    /* A short-lived type: subarray (even steps) or indexed block (odd), freed after use. */
    {
      MPI_Datatype tmp;
      int a[6][6], got[9];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) a[i][j] = s * 1000 + r * 100 + i * 6 + j;
      const int oi = s % 4, oj = (s / 4) % 4;
      if (s % 2 == 0) {
        const int sizes[2] = {6, 6}, sub[2] = {2, 2}, start[2] = {oi, oj};
        MT_MPI(MPI_Type_create_subarray(2, sizes, sub, start, MPI_ORDER_C, MPI_INT, &tmp));
      } else {
        const int disp[4] = {oi * 6 + oj, oi * 6 + oj + 1, (oi + 1) * 6 + oj, (oi + 1) * 6 + oj + 1};
        MT_MPI(MPI_Type_create_indexed_block(4, 1, disp, MPI_INT, &tmp));
      }
      MT_MPI(MPI_Type_commit(&tmp));
      MT_MPI(MPI_Sendrecv(a, 1, tmp, right, 7, got, 4, MPI_INT, left, 7, w, MPI_STATUS_IGNORE));
      MT_MPI(MPI_Type_free(&tmp));
      MT_CHECK(tmp == MPI_DATATYPE_NULL, "Type_free");
      const int base = s * 1000 + left * 100;
      MT_CHECK(got[0] == base + oi * 6 + oj && got[1] == base + oi * 6 + oj + 1 &&
                   got[2] == base + (oi + 1) * 6 + oj && got[3] == base + (oi + 1) * 6 + oj + 1,
               "step %d: subarray/indexed block", s);
      h = mt_hash(h, got, 4 * sizeof(int));
    }

    /* A dup of the record type, alive for three steps. */
    if (dup_type != MPI_DATATYPE_NULL && s - dup_made >= 3) {
      struct rec one = {s, 0.5, {'x', 'y', 'z'}}, back;
      MT_MPI(MPI_Sendrecv(&one, 1, dup_type, r, 8, &back, 1, t_rec, r, 8, w, MPI_STATUS_IGNORE));
      MT_CHECK(back.a == s && back.b == 0.5 && back.c[2] == 'z', "step %d: dup type", s);
      MT_MPI(MPI_Type_free(&dup_type));
    }
    if (dup_type == MPI_DATATYPE_NULL) {
      MT_MPI(MPI_Type_dup(t_rec, &dup_type));
      dup_made = s;
    }
    mt_step_sleep();
  }
  if (dup_type != MPI_DATATYPE_NULL) MT_MPI(MPI_Type_free(&dup_type));
  MT_MPI(MPI_Type_free(&t_contig));
  MT_MPI(MPI_Type_free(&t_vec));
  MT_MPI(MPI_Type_free(&t_hvec));
  MT_MPI(MPI_Type_free(&t_idx));
  MT_MPI(MPI_Type_free(&t_rec));
  MT_MPI(MPI_Type_free(&t_struct));
  mt_finish(h);
  return 0;
}
