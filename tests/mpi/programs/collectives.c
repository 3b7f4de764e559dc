/* Blocking collectives on MPI_COMM_WORLD with several datatypes, every result checked against
 * a local computation: MPI_Barrier, MPI_Bcast, MPI_Reduce, MPI_Allreduce (SUM, PROD, MAX, MIN,
 * LAND, LOR, BAND, BOR, BXOR, MAXLOC, MINLOC; also MPI_IN_PLACE), MPI_Gather, MPI_Gatherv,
 * MPI_Scatter, MPI_Scatterv, MPI_Allgather, MPI_Allgatherv, MPI_Alltoall, MPI_Alltoallv,
 * MPI_Reduce_scatter, MPI_Reduce_scatter_block, MPI_Scan, MPI_Exscan. The root rotates; floating
 * point values are small integers, so every sum is exact whatever the reduction order. */
#include "mt.h"

#define MAXN 64
#define CHUNK 5

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "collectives", 150, 40);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 2 && n <= MAXN, "needs 2..%d ranks, has %d", MAXN, n);
  uint64_t h = MT_HASH_INIT;
  MPI_Comm w = MPI_COMM_WORLD;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    const int root = s % n;

    /* Five groups of collectives, one per step in turn (4 ranks on 2 cores make every
     * collective cost a few scheduler slices with MPICH's busy polling). */
    const int group = s % 5;
    /* Barrier, Bcast: ints, doubles, chars. */
    if (group == 0) {
      MT_MPI(MPI_Barrier(w));
      int32_t bi[37];
      double bd[11];
      char bc[9];
      for (int i = 0; i < 37; ++i) bi[i] = r == root ? mt_val(s, root, i) : -1;
      for (int i = 0; i < 11; ++i) bd[i] = r == root ? (double)(s * 11 + i) / 4.0 : 0.0;
      for (int i = 0; i < 9; ++i) bc[i] = r == root ? (char)('A' + (s + i) % 26) : '?';
      MT_MPI(MPI_Bcast(bi, 37, MPI_INT32_T, root, w));
      MT_MPI(MPI_Bcast(bd, 11, MPI_DOUBLE, root, w));
      MT_MPI(MPI_Bcast(bc, 9, MPI_CHAR, root, w));
      for (int i = 0; i < 37; ++i) MT_CHECK(bi[i] == mt_val(s, root, i), "step %d: bcast int", s);
      for (int i = 0; i < 11; ++i)
        MT_CHECK(bd[i] == (double)(s * 11 + i) / 4.0, "step %d: bcast double", s);
      for (int i = 0; i < 9; ++i) MT_CHECK(bc[i] == (char)('A' + (s + i) % 26), "step %d: bcast char", s);
      h = mt_hash(h, bi, sizeof bi);
      h = mt_hash(h, bd, sizeof bd);
    }

    /* Reduce (SUM on long long and float, root only) and Allreduce with many ops. */
    if (group == 1) {
      long long ll[4], llr[4] = {0, 0, 0, 0};
      float f[3], fr[3] = {0, 0, 0};
      for (int i = 0; i < 4; ++i) ll[i] = (long long)mt_val(s, r, i) * 1000;
      for (int i = 0; i < 3; ++i) f[i] = (float)(r + i + s % 7);
      MT_MPI(MPI_Reduce(ll, llr, 4, MPI_LONG_LONG, MPI_SUM, root, w));
      MT_MPI(MPI_Reduce(f, fr, 3, MPI_FLOAT, MPI_SUM, root, w));
      if (r == root) {
        for (int i = 0; i < 4; ++i) {
          long long want = 0;
          for (int q = 0; q < n; ++q) want += (long long)mt_val(s, q, i) * 1000;
          MT_CHECK(llr[i] == want, "step %d: reduce ll[%d] %lld, want %lld", s, i, llr[i], want);
        }
        for (int i = 0; i < 3; ++i) {
          float want = 0;
          for (int q = 0; q < n; ++q) want += (float)(q + i + s % 7);
          MT_CHECK(fr[i] == want, "step %d: reduce float[%d] %g, want %g", s, i, fr[i], want);
        }
        h = mt_hash(h, llr, sizeof llr);
      }

      int iv = mt_val(s, r, 1) % 1000 - 500, imax, imin, isum, iprod_in = 1 + (r + s) % 3, iprod;
      MT_MPI(MPI_Allreduce(&iv, &imax, 1, MPI_INT, MPI_MAX, w));
      MT_MPI(MPI_Allreduce(&iv, &imin, 1, MPI_INT, MPI_MIN, w));
      MT_MPI(MPI_Allreduce(&iv, &isum, 1, MPI_INT, MPI_SUM, w));
      MT_MPI(MPI_Allreduce(&iprod_in, &iprod, 1, MPI_INT, MPI_PROD, w));
      int wmax = -1000000, wmin = 1000000, wsum = 0, wprod = 1;
      for (int q = 0; q < n; ++q) {
        int qi = mt_val(s, q, 1) % 1000 - 500;
        wmax = qi > wmax ? qi : wmax, wmin = qi < wmin ? qi : wmin, wsum += qi;
        wprod *= 1 + (q + s) % 3;
      }
      MT_CHECK(imax == wmax && imin == wmin && isum == wsum && iprod == wprod,
               "step %d: int allreduce", s);
      int64_t ints[] = {imax, imin, isum, iprod};
      h = mt_hash(h, ints, sizeof ints);
    }

    /* Allreduce with the other predefined ops, MAXLOC / MINLOC and MPI_IN_PLACE. */
    if (group == 2) {
      double dv = (double)(mt_val(s, r, 2) % 4096) / 8.0, dmax, dmin, dsum;
      unsigned uv = (unsigned)mt_val(s, r, 3), uand, uor, uxor;
      int lv = (s + r) % 3 != 0, land, lor;
      short sv[2] = {(short)(r * 3 - s % 5), (short)(s % 11)}, ssum[2];
      MT_MPI(MPI_Allreduce(&dv, &dmax, 1, MPI_DOUBLE, MPI_MAX, w));
      MT_MPI(MPI_Allreduce(&dv, &dmin, 1, MPI_DOUBLE, MPI_MIN, w));
      MT_MPI(MPI_Allreduce(&dv, &dsum, 1, MPI_DOUBLE, MPI_SUM, w));
      MT_MPI(MPI_Allreduce(&uv, &uand, 1, MPI_UNSIGNED, MPI_BAND, w));
      MT_MPI(MPI_Allreduce(&uv, &uor, 1, MPI_UNSIGNED, MPI_BOR, w));
      MT_MPI(MPI_Allreduce(&uv, &uxor, 1, MPI_UNSIGNED, MPI_BXOR, w));
      MT_MPI(MPI_Allreduce(&lv, &land, 1, MPI_INT, MPI_LAND, w));
      MT_MPI(MPI_Allreduce(&lv, &lor, 1, MPI_INT, MPI_LOR, w));
      MT_MPI(MPI_Allreduce(sv, ssum, 2, MPI_SHORT, MPI_SUM, w));
      struct { double v; int i; } loc = {(double)(mt_val(s, r, 4) % 50), r}, maxloc, minloc;
      MT_MPI(MPI_Allreduce(&loc, &maxloc, 1, MPI_DOUBLE_INT, MPI_MAXLOC, w));
      MT_MPI(MPI_Allreduce(&loc, &minloc, 1, MPI_DOUBLE_INT, MPI_MINLOC, w));
      int wland = 1, wlor = 0;
      double wdmax = -1, wdmin = 1e300, wdsum = 0;
      unsigned wand = ~0u, wor = 0, wxor = 0;
      short wss[2] = {0, 0};
      double lmax = -1, lmin = 1e300;
      int lmaxi = -1, lmini = -1;
      for (int q = 0; q < n; ++q) {
        double qd = (double)(mt_val(s, q, 2) % 4096) / 8.0;
        unsigned qu = (unsigned)mt_val(s, q, 3);
        int ql = (s + q) % 3 != 0;
        double qloc = (double)(mt_val(s, q, 4) % 50);
        wdmax = qd > wdmax ? qd : wdmax, wdmin = qd < wdmin ? qd : wdmin, wdsum += qd;
        wand &= qu, wor |= qu, wxor ^= qu;
        wland = wland && ql, wlor = wlor || ql;
        wss[0] = (short)(wss[0] + q * 3 - s % 5), wss[1] = (short)(wss[1] + s % 11);
        if (qloc > lmax) lmax = qloc, lmaxi = q; /* ties: the lowest rank */
        if (qloc < lmin) lmin = qloc, lmini = q;
      }
      MT_CHECK(dmax == wdmax && dmin == wdmin && dsum == wdsum, "step %d: double allreduce", s);
      MT_CHECK(uand == wand && uor == wor && uxor == wxor, "step %d: bitwise allreduce", s);
      MT_CHECK(land == wland && lor == wlor, "step %d: logical allreduce", s);
      MT_CHECK(ssum[0] == wss[0] && ssum[1] == wss[1], "step %d: short allreduce", s);
      MT_CHECK(maxloc.v == lmax && maxloc.i == lmaxi && minloc.v == lmin && minloc.i == lmini,
               "step %d: maxloc (%g,%d) want (%g,%d), minloc (%g,%d) want (%g,%d)", s, maxloc.v,
               maxloc.i, lmax, lmaxi, minloc.v, minloc.i, lmin, lmini);
      int64_t inplace[3] = {r, (int64_t)r * r, s};
      MT_MPI(MPI_Allreduce(MPI_IN_PLACE, inplace, 3, MPI_INT64_T, MPI_SUM, w));
      MT_CHECK(inplace[0] == (int64_t)n * (n - 1) / 2 && inplace[2] == (int64_t)s * n,
               "step %d: in-place allreduce", s);
      int64_t all[] = {(int64_t)dmax, (int64_t)(dsum * 8), uand, uor, uxor, land, lor,
                       ssum[0],      ssum[1],            maxloc.i, minloc.i, inplace[1]};
      h = mt_hash(h, all, sizeof all);
    }

    /* Gather / Gatherv / Scatter / Scatterv. */
    if (group == 3) {
      int32_t mine[CHUNK], gathered[MAXN * CHUNK], gv[MAXN * (MAXN + 1)];
      int counts[MAXN], displs[MAXN], total = 0;
      for (int i = 0; i < CHUNK; ++i) mine[i] = mt_val(s, r, 10 + i);
      MT_MPI(MPI_Gather(mine, CHUNK, MPI_INT32_T, gathered, CHUNK, MPI_INT32_T, root, w));
      for (int q = 0; q < n; ++q) counts[q] = 1 + (q + s) % 4, displs[q] = total, total += counts[q] + 1;
      int32_t var[8];
      for (int i = 0; i < counts[r]; ++i) var[i] = mt_val(s, r, 20 + i);
      MT_MPI(MPI_Gatherv(var, counts[r], MPI_INT32_T, gv, counts, displs, MPI_INT32_T, root, w));
      if (r == root) {
        for (int q = 0; q < n; ++q) {
          for (int i = 0; i < CHUNK; ++i)
            MT_CHECK(gathered[q * CHUNK + i] == mt_val(s, q, 10 + i), "step %d: gather", s);
          for (int i = 0; i < counts[q]; ++i)
            MT_CHECK(gv[displs[q] + i] == mt_val(s, q, 20 + i), "step %d: gatherv", s);
          h = mt_hash(h, gv + displs[q], (size_t)counts[q] * 4);
        }
        h = mt_hash(h, gathered, (size_t)n * CHUNK * 4);
      }
      double sc[MAXN * 3], got[3], scv[MAXN * 8], gotv[8];
      if (r == root) {
        for (int i = 0; i < n * 3; ++i) sc[i] = (double)(s + i);
        for (int q = 0; q < n; ++q)
          for (int i = 0; i < counts[q]; ++i) scv[displs[q] + i] = (double)(q * 100 + i + s);
      }
      MT_MPI(MPI_Scatter(sc, 3, MPI_DOUBLE, got, 3, MPI_DOUBLE, root, w));
      MT_MPI(MPI_Scatterv(scv, counts, displs, MPI_DOUBLE, gotv, counts[r], MPI_DOUBLE, root, w));
      for (int i = 0; i < 3; ++i) MT_CHECK(got[i] == (double)(s + r * 3 + i), "step %d: scatter", s);
      for (int i = 0; i < counts[r]; ++i)
        MT_CHECK(gotv[i] == (double)(r * 100 + i + s), "step %d: scatterv", s);
      h = mt_hash(h, gotv, (size_t)counts[r] * sizeof(double));
    }

    /* Allgather / Allgatherv / Alltoall / Alltoallv. */
    if (group == 4) {
      long ag[MAXN], mine = (long)mt_val(s, r, 30);
      MT_MPI(MPI_Allgather(&mine, 1, MPI_LONG, ag, 1, MPI_LONG, w));
      for (int q = 0; q < n; ++q) MT_CHECK(ag[q] == (long)mt_val(s, q, 30), "step %d: allgather", s);
      h = mt_hash(h, ag, (size_t)n * sizeof(long));
      int counts[MAXN], displs[MAXN], total = 0;
      for (int q = 0; q < n; ++q) counts[q] = (q * 3 + s) % 5, displs[q] = total, total += counts[q];
      unsigned char mv[8], agv[MAXN * 8];
      for (int i = 0; i < counts[r]; ++i) mv[i] = (unsigned char)(mt_val(s, r, 40 + i) & 0xff);
      MT_MPI(MPI_Allgatherv(mv, counts[r], MPI_UNSIGNED_CHAR, agv, counts, displs,
                            MPI_UNSIGNED_CHAR, w));
      for (int q = 0; q < n; ++q)
        for (int i = 0; i < counts[q]; ++i)
          MT_CHECK(agv[displs[q] + i] == (unsigned char)(mt_val(s, q, 40 + i) & 0xff),
                   "step %d: allgatherv", s);
      h = mt_hash(h, agv, (size_t)total);

      int32_t a2a_out[MAXN * 2], a2a_in[MAXN * 2];
      for (int q = 0; q < n; ++q) a2a_out[2 * q] = r * 1000 + q, a2a_out[2 * q + 1] = s;
      MT_MPI(MPI_Alltoall(a2a_out, 2, MPI_INT32_T, a2a_in, 2, MPI_INT32_T, w));
      for (int q = 0; q < n; ++q)
        MT_CHECK(a2a_in[2 * q] == q * 1000 + r && a2a_in[2 * q + 1] == s, "step %d: alltoall", s);
      int sc[MAXN], sd[MAXN], rc[MAXN], rd[MAXN], st = 0, rt = 0;
      for (int q = 0; q < n; ++q) {
        sc[q] = (r + q + s) % 3, sd[q] = st, st += sc[q];
        rc[q] = (q + r + s) % 3, rd[q] = rt, rt += rc[q];
      }
      double vout[MAXN * 3], vin[MAXN * 3];
      for (int q = 0; q < n; ++q)
        for (int i = 0; i < sc[q]; ++i) vout[sd[q] + i] = (double)(r * 10000 + q * 100 + i);
      MT_MPI(MPI_Alltoallv(vout, sc, sd, MPI_DOUBLE, vin, rc, rd, MPI_DOUBLE, w));
      for (int q = 0; q < n; ++q)
        for (int i = 0; i < rc[q]; ++i)
          MT_CHECK(vin[rd[q] + i] == (double)(q * 10000 + r * 100 + i), "step %d: alltoallv", s);
      h = mt_hash(h, vin, (size_t)rt * sizeof(double));
    }

    /* Reduce_scatter / Reduce_scatter_block / Scan / Exscan. */
    if (group == 0) {
      int counts[MAXN], total = 0;
      for (int q = 0; q < n; ++q) counts[q] = 1 + (q + s) % 2, total += counts[q];
      int64_t in[MAXN * 2], out[2];
      for (int i = 0; i < total; ++i) in[i] = (int64_t)(r + 1) * (i + 1) + s;
      MT_MPI(MPI_Reduce_scatter(in, out, counts, MPI_INT64_T, MPI_SUM, w));
      int off = 0;
      for (int q = 0; q < r; ++q) off += counts[q];
      for (int i = 0; i < counts[r]; ++i)
        MT_CHECK(out[i] == (int64_t)n * (n + 1) / 2 * (off + i + 1) + (int64_t)s * n,
                 "step %d: reduce_scatter", s);
      h = mt_hash(h, out, (size_t)counts[r] * 8);
      float fin[MAXN * 2], fout[2];
      for (int i = 0; i < n * 2; ++i) fin[i] = (float)(r == i / 2 ? 3 : 1);
      MT_MPI(MPI_Reduce_scatter_block(fin, fout, 2, MPI_FLOAT, MPI_MAX, w));
      MT_CHECK(fout[0] == 3.0f && fout[1] == 3.0f, "step %d: reduce_scatter_block", s);
      int64_t sv = (int64_t)mt_val(s, r, 50), scan = 0, exscan = -7;
      MT_MPI(MPI_Scan(&sv, &scan, 1, MPI_INT64_T, MPI_SUM, w));
      MT_MPI(MPI_Exscan(&sv, &exscan, 1, MPI_INT64_T, MPI_SUM, w));
      int64_t want = 0;
      for (int q = 0; q < r; ++q) want += mt_val(s, q, 50);
      if (r > 0) MT_CHECK(exscan == want, "step %d: exscan %lld want %lld", s, (long long)exscan, (long long)want);
      MT_CHECK(scan == want + sv, "step %d: scan", s);
      double dscan_in = (double)(r + 1), dscan;
      MT_MPI(MPI_Scan(&dscan_in, &dscan, 1, MPI_DOUBLE, MPI_PROD, w));
      double dwant = 1;
      for (int q = 0; q <= r; ++q) dwant *= (double)(q + 1);
      MT_CHECK(dscan == dwant, "step %d: scan prod", s);
      h = mt_hash_i64(h, scan);
    }
    mt_step_sleep();
  }
  mt_finish(h);
  return 0;
}
