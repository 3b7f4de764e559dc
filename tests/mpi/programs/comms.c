/* Communicators and groups created before a checkpoint and used after the restart:
 * MPI_Comm_dup, MPI_Comm_split (reversed keys, and one with MPI_UNDEFINED), MPI_Comm_split_type
 * (shared), MPI_Comm_create and MPI_Comm_create_group from groups built with MPI_Comm_group,
 * MPI_Group_incl, MPI_Group_excl, MPI_Group_union, MPI_Group_intersection,
 * MPI_Group_difference, MPI_Group_translate_ranks, MPI_Group_compare; MPI_Comm_compare; an
 * intercommunicator (MPI_Intercomm_create, MPI_Intercomm_merge). Every step runs collectives on
 * each of them, checks that messages with the same tag on MPI_COMM_WORLD and on its dup do not
 * mix, and creates a short-lived communicator (MPI_Comm_split of the dup) that it frees five
 * steps later with MPI_Comm_free (so five are alive at any time). The two colors of the first
 * split run different numbers of collectives. */
#include "mt.h"

#define MAXN 64
#define LIVE 5

static int64_t sum_of(MPI_Comm c, int64_t v) {
  int64_t out = 0;
  MT_MPI(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, c));
  return out;
}

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "comms", 150, 40);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 3 && n <= MAXN, "needs 3..%d ranks, has %d", MAXN, n);
  const MPI_Comm w = MPI_COMM_WORLD;
  uint64_t h = MT_HASH_INIT;
  int cmp = -1;

  MPI_Comm dup, split, evens = MPI_COMM_NULL, no0 = MPI_COMM_NULL, odd_only, shared, full;
  MT_MPI(MPI_Comm_dup(w, &dup));
  MT_MPI(MPI_Comm_split(w, r % 2, -r, &split)); /* reversed: world rank order descending */
  MT_MPI(MPI_Comm_split(w, r % 2 ? 1 : MPI_UNDEFINED, r, &odd_only));
  MT_CHECK((r % 2 == 0) == (odd_only == MPI_COMM_NULL), "split with MPI_UNDEFINED");
  MT_MPI(MPI_Comm_split_type(w, MPI_COMM_TYPE_SHARED, r, MPI_INFO_NULL, &shared));

  MPI_Group world_grp, evens_grp, no0_grp, union_grp, inter_grp, diff_grp;
  int evens_ranks[MAXN], nevens = 0, zero = 0;
  for (int q = 0; q < n; q += 2) evens_ranks[nevens++] = q;
  MT_MPI(MPI_Comm_group(w, &world_grp));
  MT_MPI(MPI_Group_incl(world_grp, nevens, evens_ranks, &evens_grp));
  MT_MPI(MPI_Group_excl(world_grp, 1, &zero, &no0_grp));
  MT_MPI(MPI_Group_union(evens_grp, no0_grp, &union_grp));
  MT_MPI(MPI_Group_intersection(evens_grp, no0_grp, &inter_grp));
  MT_MPI(MPI_Group_difference(world_grp, evens_grp, &diff_grp));
  int gsize = -1;
  MT_MPI(MPI_Group_size(union_grp, &gsize));
  MT_CHECK(gsize == n, "union of %d ranks", gsize);
  MT_MPI(MPI_Group_compare(union_grp, world_grp, &cmp));
  MT_CHECK(cmp == MPI_SIMILAR, "union vs world: %d, want MPI_SIMILAR", cmp);
  MT_MPI(MPI_Group_size(inter_grp, &gsize));
  MT_CHECK(gsize == nevens - 1, "intersection of %d ranks", gsize);
  MT_MPI(MPI_Group_size(diff_grp, &gsize));
  MT_CHECK(gsize == n - nevens, "difference of %d ranks", gsize);
  {
    int in[MAXN], out[MAXN];
    for (int i = 0; i < nevens; ++i) in[i] = i;
    MT_MPI(MPI_Group_translate_ranks(evens_grp, nevens, in, world_grp, out));
    for (int i = 0; i < nevens; ++i) MT_CHECK(out[i] == 2 * i, "translate %d -> %d", i, out[i]);
    in[0] = 0;
    MT_MPI(MPI_Group_translate_ranks(world_grp, 1, in, no0_grp, out));
    MT_CHECK(out[0] == MPI_UNDEFINED, "rank 0 translated into the group without it: %d", out[0]);
  }
  MT_MPI(MPI_Comm_create(w, evens_grp, &evens));
  MT_CHECK((r % 2 == 0) == (evens != MPI_COMM_NULL), "Comm_create membership");
  if (r != 0) MT_MPI(MPI_Comm_create_group(w, no0_grp, 17, &no0));
  MT_MPI(MPI_Comm_create(w, world_grp, &full));

  MT_MPI(MPI_Comm_compare(w, dup, &cmp));
  MT_CHECK(cmp == MPI_CONGRUENT, "world vs dup: %d", cmp);
  MT_MPI(MPI_Comm_compare(dup, dup, &cmp));
  MT_CHECK(cmp == MPI_IDENT, "dup vs dup: %d", cmp);
  MT_MPI(MPI_Comm_compare(w, split, &cmp));
  MT_CHECK(cmp == MPI_UNEQUAL, "world vs split: %d", cmp);
  MT_MPI(MPI_Comm_compare(w, full, &cmp));
  MT_CHECK(cmp == MPI_CONGRUENT, "world vs created full: %d", cmp);

  /* Intercommunicator between the even and odd halves of `split`; leaders world ranks 0, 1
   * (the local leader is split rank of world rank 0 resp. 1: the last one, keys reversed). */
  MPI_Comm inter, merged;
  int split_size = -1;
  MT_MPI(MPI_Comm_size(split, &split_size));
  MT_MPI(MPI_Intercomm_create(split, split_size - 1, w, r % 2 ? 0 : 1, 99, &inter));
  int flag = 0, remote = -1;
  MT_MPI(MPI_Comm_test_inter(inter, &flag));
  MT_MPI(MPI_Comm_remote_size(inter, &remote));
  MT_CHECK(flag && remote == (r % 2 ? nevens : n - nevens), "intercomm remote size %d", remote);
  MT_MPI(MPI_Intercomm_merge(inter, r % 2, &merged)); /* evens first */

  MPI_Comm tmp[LIVE];
  int tmp_color[LIVE];
  for (int i = 0; i < LIVE; ++i) tmp[i] = MPI_COMM_NULL;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    int sz = -1, rk = -1;
    const int64_t v = mt_val(s, r, 0);
    int64_t want_all = 0, want_color = 0, want_evens = 0, want_no0 = 0;
    for (int q = 0; q < n; ++q) {
      int64_t qv = mt_val(s, q, 0);
      want_all += qv;
      if (q % 2 == r % 2) want_color += qv;
      if (q % 2 == 0) want_evens += qv;
      if (q != 0) want_no0 += qv;
    }
    switch (s % 4) { /* a few collectives per step (4 ranks share 2 cores) */
      case 0:
        MT_CHECK(sum_of(dup, v) == want_all, "step %d: allreduce on dup", s);
        MT_CHECK(sum_of(full, v) == want_all, "step %d: allreduce on created full", s);
        MT_MPI(MPI_Comm_rank(dup, &rk));
        MT_CHECK(rk == r, "step %d: rank %d in dup", s, rk);
        break;
      case 1: {
        MT_CHECK(sum_of(split, v) == want_color, "step %d: allreduce on split", s);
        MT_MPI(MPI_Comm_rank(split, &rk));
        MT_MPI(MPI_Comm_size(split, &sz));
        MT_CHECK(rk == sz - 1 - r / 2, "step %d: rank %d in split", s, rk);
        int64_t b = rk == 0 ? v : -1; /* root 0 of split: the highest world rank of the color */
        MT_MPI(MPI_Bcast(&b, 1, MPI_INT64_T, 0, split));
        const int top = (n - 1) % 2 == r % 2 ? n - 1 : n - 2;
        MT_CHECK(b == mt_val(s, top, 0), "step %d: bcast on split", s);
        if (odd_only != MPI_COMM_NULL)
          MT_CHECK(sum_of(odd_only, v) == want_all - want_evens, "step %d: odd_only", s);
        break;
      }
      case 2:
        if (evens != MPI_COMM_NULL)
          MT_CHECK(sum_of(evens, v) == want_evens, "step %d: allreduce on evens", s);
        if (no0 != MPI_COMM_NULL)
          MT_CHECK(sum_of(no0, v) == want_no0, "step %d: allreduce on no0", s);
        MT_CHECK(sum_of(shared, v) == want_all, "step %d: allreduce on shared", s);
        break;
      default: {
        /* On an intercommunicator, Allreduce returns the reduction over the remote group. */
        const int64_t got = sum_of(inter, v);
        MT_CHECK(got == (r % 2 ? want_evens : want_all - want_evens), "step %d: intercomm", s);
        MT_MPI(MPI_Comm_rank(merged, &rk));
        /* evens first (low), each half in the order of `split` (descending world rank) */
        MT_CHECK(rk == (r % 2 ? n - 1 - r / 2 : nevens - 1 - r / 2), "step %d: rank %d in merged",
                 s, rk);
        MT_CHECK(sum_of(merged, v) == want_all, "step %d: allreduce on merged", s);
        break;
      }
    }

    /* Same tag, same peers, two communicators: received in the opposite order. */
    {
      const int right = (r + 1) % n, left = (r + n - 1) % n;
      int64_t a = v, b = -v, ra = 0, rb = 0;
      MPI_Request rq[2];
      MT_MPI(MPI_Isend(&a, 1, MPI_INT64_T, right, 7, w, &rq[0]));
      MT_MPI(MPI_Isend(&b, 1, MPI_INT64_T, right, 7, dup, &rq[1]));
      MT_MPI(MPI_Recv(&rb, 1, MPI_INT64_T, left, 7, dup, MPI_STATUS_IGNORE));
      MT_MPI(MPI_Recv(&ra, 1, MPI_INT64_T, left, 7, w, MPI_STATUS_IGNORE));
      MPI_Status st[2];
      MT_MPI(MPI_Waitall(2, rq, st));
      MT_CHECK(ra == mt_val(s, left, 0) && rb == -ra, "step %d: world/dup messages mixed", s);
      h = mt_hash_i64(h, ra);
    }

    /* A communicator created now and freed LIVE steps later. */
    {
      const int slot = s % LIVE;
      if (tmp[slot] != MPI_COMM_NULL) {
        MPI_Group g;
        int gs = -1, gr = -1, tr = -1;
        MT_MPI(MPI_Comm_group(tmp[slot], &g));
        MT_MPI(MPI_Group_size(g, &gs));
        MT_MPI(MPI_Group_rank(g, &gr));
        MT_MPI(MPI_Group_translate_ranks(g, 1, &gr, world_grp, &tr));
        MT_CHECK(tr == r, "step %d: tmp comm rank %d translates to %d", s, gr, tr);
        int members = 0;
        for (int q = 0; q < n; ++q) members += (q + tmp_color[slot]) % 3 == 0;
        MT_CHECK(gs == members, "step %d: tmp comm of %d, want %d", s, gs, members);
        MT_MPI(MPI_Group_free(&g));
        MT_CHECK(g == MPI_GROUP_NULL, "Group_free");
        int64_t got = sum_of(tmp[slot], r);
        h = mt_hash_i64(h, got);
        MT_MPI(MPI_Comm_free(&tmp[slot]));
        MT_CHECK(tmp[slot] == MPI_COMM_NULL, "Comm_free");
      }
      tmp_color[slot] = s;
      MT_MPI(MPI_Comm_split(dup, (r + s) % 3 == 0 ? 0 : MPI_UNDEFINED, r, &tmp[slot]));
    }
    h = mt_hash_i64(h, want_all);
    /* The two halves of `split` run different numbers of collectives: the communicators one
     * split makes must be told apart by a checkpoint's run-forward. */
    if (r % 2 == 0)
      for (int e = 0; e < 1 + s % 3; ++e) MT_MPI(MPI_Barrier(split));
    mt_step_sleep();
  }
  for (int i = 0; i < LIVE; ++i)
    if (tmp[i] != MPI_COMM_NULL) MT_MPI(MPI_Comm_free(&tmp[i]));
  MT_MPI(MPI_Comm_free(&merged));
  MT_MPI(MPI_Comm_free(&inter));
  MT_MPI(MPI_Comm_free(&full));
  if (no0 != MPI_COMM_NULL) MT_MPI(MPI_Comm_free(&no0));
  if (evens != MPI_COMM_NULL) MT_MPI(MPI_Comm_free(&evens));
  if (odd_only != MPI_COMM_NULL) MT_MPI(MPI_Comm_free(&odd_only));
  MT_MPI(MPI_Comm_free(&shared));
  MT_MPI(MPI_Comm_free(&split));
  MT_MPI(MPI_Comm_free(&dup));
  MPI_Group* groups[] = {&world_grp, &evens_grp, &no0_grp, &union_grp, &inter_grp, &diff_grp};
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; ++i) MT_MPI(MPI_Group_free(groups[i]));
  mt_finish(h);
  return 0;
}
