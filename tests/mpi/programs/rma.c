/* One-sided communication with windows that live across steps (so across a checkpoint):
 * MPI_Win_allocate and MPI_Win_create (over malloc'd memory); fence epochs (MPI_Win_fence) with
 * MPI_Put to the right neighbour, MPI_Get from the left one and MPI_Accumulate (SUM) into a
 * counter on rank 0; passive target epochs: MPI_Win_lock (exclusive) + MPI_Fetch_and_op +
 * MPI_Compare_and_swap (32-bit: Open MPI 4.1's osc/rdma over btl/vader crashes on 64-bit
 * compare-and-swap, open-mpi/ompi#7967, #11349) + MPI_Win_unlock, MPI_Win_lock_all + MPI_Get + MPI_Win_flush / MPI_Win_flush_all
 * + MPI_Win_unlock_all; MPI_Win_get_attr(MPI_WIN_BASE / MPI_WIN_SIZE); MPI_Win_free at the end. */
#include "mt.h"

#define SLOTS 8

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "rma", 120, 50);
  const int n = mt_size, r = mt_rank;
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  uint64_t h = MT_HASH_INIT;

  int64_t* abase = NULL;
  MPI_Win wa, wc, wi;
  MT_MPI(MPI_Win_allocate((MPI_Aint)(SLOTS * sizeof(int64_t)), sizeof(int64_t), MPI_INFO_NULL,
                          MPI_COMM_WORLD, &abase, &wa));
  int64_t* cbase = (int64_t*)calloc(4, sizeof(int64_t));
  MT_CHECK(abase != NULL && cbase != NULL, "window memory");
  MT_MPI(MPI_Win_create(cbase, (MPI_Aint)(4 * sizeof(int64_t)), sizeof(int64_t), MPI_INFO_NULL,
                        MPI_COMM_WORLD, &wc));
  int32_t* ibase = (int32_t*)calloc(2, sizeof(int32_t));
  MT_CHECK(ibase != NULL, "calloc");
  MT_MPI(MPI_Win_create(ibase, (MPI_Aint)(2 * sizeof(int32_t)), sizeof(int32_t), MPI_INFO_NULL,
                        MPI_COMM_WORLD, &wi));
  for (int i = 0; i < SLOTS; ++i) abase[i] = -1;
  MT_MPI(MPI_Win_fence(0, wa));
  int64_t expected_counter = 0, expected_ticket = 0;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    {
      void* base = NULL;
      MPI_Aint* size = NULL;
      int flag = 0, flag2 = 0;
      MT_MPI(MPI_Win_get_attr(wc, MPI_WIN_BASE, &base, &flag));
      MT_MPI(MPI_Win_get_attr(wc, MPI_WIN_SIZE, &size, &flag2));
      MT_CHECK(flag && flag2 && base == cbase && *size == (MPI_Aint)(4 * sizeof(int64_t)),
               "step %d: window attributes", s);
    }
    /* One fence epoch per step: put my value into slot s % (SLOTS-1) of the right neighbour's
     * window, get the slot the left neighbour received in the previous epoch, add 1 + r to
     * rank 0's counter (slot SLOTS-1, never put). */
    const int slot = s % (SLOTS - 1), prev = (s + SLOTS - 2) % (SLOTS - 1);
    int64_t v = (int64_t)mt_val(s, r, 0), got = -7, add = 1 + r;
    MT_MPI(MPI_Put(&v, 1, MPI_INT64_T, right, slot, 1, MPI_INT64_T, wa));
    MT_MPI(MPI_Accumulate(&add, 1, MPI_INT64_T, 0, SLOTS - 1, 1, MPI_INT64_T, MPI_SUM, wa));
    if (s > 0) MT_MPI(MPI_Get(&got, 1, MPI_INT64_T, left, prev, 1, MPI_INT64_T, wa));
    MT_MPI(MPI_Win_fence(0, wa));
    MT_CHECK(abase[slot] == mt_val(s, left, 0), "step %d: put from %d: %lld", s, left,
             (long long)abase[slot]);
    expected_counter += (int64_t)n * (n + 1) / 2;
    if (r == 0)
      MT_CHECK(abase[SLOTS - 1] == expected_counter - 1, "step %d: accumulated %lld, want %lld", s,
               (long long)abase[SLOTS - 1], (long long)expected_counter - 1);
    if (s > 0) {
      const int ll = (left + n - 1) % n;
      MT_CHECK(got == mt_val(s - 1, ll, 0), "step %d: get from %d: %lld", s, left, (long long)got);
      h = mt_hash_i64(h, got);
    }

    /* Passive target on the created window, every 4th step: a ticket counter on rank 0
     * (fetch-and-add), and a compare-and-swap on slot 1 of rank 0's int32 window. */
    if (s % 4 == 0) {
      int64_t one = 1, ticket = -1;
      MT_MPI(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, wc));
      MT_MPI(MPI_Fetch_and_op(&one, &ticket, MPI_INT64_T, 0, 0, MPI_SUM, wc));
      MT_MPI(MPI_Win_unlock(0, wc));
      MT_CHECK(ticket >= expected_ticket && ticket < expected_ticket + n,
               "step %d: ticket %lld outside [%lld, %lld)", s, (long long)ticket,
               (long long)expected_ticket, (long long)expected_ticket + n);
      int32_t cmp = s, swap = s + 1, old = -1;
      MT_MPI(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, wi));
      MT_MPI(MPI_Compare_and_swap(&swap, &cmp, &old, MPI_INT32_T, 0, 1, wi));
      MT_MPI(MPI_Win_unlock(0, wi));
      MT_CHECK(old == s || old == s + 1, "step %d: compare_and_swap saw %d", s, (int)old);
      MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
      expected_ticket += n;
      /* Everyone's tickets are in: read the counter with lock_all + get + flush. */
      int64_t counter = -1;
      int32_t cas = -1;
      MT_MPI(MPI_Win_lock_all(0, wc));
      MT_MPI(MPI_Get(&counter, 1, MPI_INT64_T, 0, 0, 1, MPI_INT64_T, wc));
      MT_MPI(MPI_Win_flush(0, wc));
      MT_MPI(MPI_Win_unlock_all(wc));
      MT_MPI(MPI_Win_lock_all(0, wi));
      MT_MPI(MPI_Get(&cas, 1, MPI_INT32_T, 0, 1, 1, MPI_INT32_T, wi));
      MT_MPI(MPI_Win_flush_all(wi));
      MT_MPI(MPI_Win_unlock_all(wi));
      MT_CHECK(counter == expected_ticket && cas == s + 1, "step %d: counter %lld cas %d", s,
               (long long)counter, (int)cas);
      h = mt_hash_i64(h, counter);
      MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
      /* The CAS slot moves on to the next value a CAS step will compare against. */
      if (r == 0) {
        MT_MPI(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, wi));
        const int32_t next = s + 4;
        MT_MPI(MPI_Put(&next, 1, MPI_INT32_T, 0, 1, 1, MPI_INT32_T, wi));
        MT_MPI(MPI_Win_unlock(0, wi));
      }
      MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
    }
    mt_step_sleep();
  }
  MT_MPI(MPI_Win_free(&wa));
  MT_MPI(MPI_Win_free(&wc));
  MT_MPI(MPI_Win_free(&wi));
  free(cbase), free(ibase);
  mt_finish(h);
  return 0;
}
