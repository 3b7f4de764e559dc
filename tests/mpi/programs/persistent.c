/* Persistent point-to-point requests kept across every step (so alive, active or not, at a
 * checkpoint): a halo exchange with both neighbours through MPI_Send_init / MPI_Recv_init
 * started with MPI_Startall and completed with MPI_Waitall (the handles stay valid, inactive,
 * after completion); an MPI_Ssend_init / MPI_Recv_init pair around the ring started with
 * MPI_Start and completed by an MPI_Test loop; a receive started and then waited for after
 * a sleep, so that checkpoints land while it is pending; MPI_Wait and MPI_Request_get_status
 * on an inactive request (complete, empty status); MPI_Testany ignoring inactive ones;
 * MPI_Request_free at the end. */
#include "mt.h"

#define N 32

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "persistent", 200, 35);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 2, "needs at least 2 ranks, has %d", n);
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  int32_t sl[N], sr[N], rl[N], rr[N], ring_out[N], ring_in[N];
  MPI_Request halo[4], ring[2];
  MT_MPI(MPI_Send_init(sl, N, MPI_INT32_T, left, 10, MPI_COMM_WORLD, &halo[0]));
  MT_MPI(MPI_Send_init(sr, N, MPI_INT32_T, right, 11, MPI_COMM_WORLD, &halo[1]));
  MT_MPI(MPI_Recv_init(rl, N, MPI_INT32_T, left, 11, MPI_COMM_WORLD, &halo[2]));
  MT_MPI(MPI_Recv_init(rr, N, MPI_INT32_T, right, 10, MPI_COMM_WORLD, &halo[3]));
  MT_MPI(MPI_Ssend_init(ring_out, N, MPI_INT32_T, right, 20, MPI_COMM_WORLD, &ring[0]));
  MT_MPI(MPI_Recv_init(ring_in, N, MPI_INT32_T, MPI_ANY_SOURCE, 20, MPI_COMM_WORLD, &ring[1]));
  uint64_t h = MT_HASH_INIT;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    /* 1. Halo exchange. */
    for (int i = 0; i < N; ++i) {
      sl[i] = mt_val(s, r, i);
      sr[i] = mt_val(s, r, i + 1000);
    }
    MT_MPI(MPI_Startall(4, halo));
    MPI_Status st[4];
    MT_MPI(MPI_Waitall(4, halo, st));
    for (int k = 0; k < 4; ++k)
      MT_CHECK(halo[k] != MPI_REQUEST_NULL, "step %d: persistent request %d became null", s, k);
    MT_CHECK(st[2].MPI_SOURCE == left && st[3].MPI_SOURCE == right, "step %d: sources %d %d", s,
             st[2].MPI_SOURCE, st[3].MPI_SOURCE);
    for (int i = 0; i < N; ++i) {
      MT_CHECK(rl[i] == mt_val(s, left, i + 1000), "step %d: halo from left [%d]", s, i);
      MT_CHECK(rr[i] == mt_val(s, right, i), "step %d: halo from right [%d]", s, i);
    }
    h = mt_hash(h, rl, sizeof rl);
    h = mt_hash(h, rr, sizeof rr);

    /* 2. Ring: the receive is started first and waited for after a sleep (pending at a
     * checkpoint); the synchronous send completes once it is matched. */
    for (int i = 0; i < N; ++i) ring_out[i] = mt_val(s, r, i + 2000);
    MT_MPI(MPI_Start(&ring[1]));
    MT_MPI(MPI_Start(&ring[0]));
    mt_step_sleep();
    int done = 0;
    while (!done) MT_MPI(MPI_Test(&ring[0], &done, MPI_STATUS_IGNORE));
    MPI_Status rs;
    MT_MPI(MPI_Wait(&ring[1], &rs));
    MT_CHECK(ring[0] != MPI_REQUEST_NULL && ring[1] != MPI_REQUEST_NULL, "step %d: ring null", s);
    MT_CHECK(rs.MPI_SOURCE == left && rs.MPI_TAG == 20, "step %d: ring from %d tag %d", s,
             rs.MPI_SOURCE, rs.MPI_TAG);
    for (int i = 0; i < N; ++i)
      MT_CHECK(ring_in[i] == mt_val(s, left, i + 2000), "step %d: ring [%d]", s, i);
    h = mt_hash(h, ring_in, sizeof ring_in);

    /* 3. Inactive requests: Wait returns at once with an empty status, get_status says
     * complete, Testany finds no active request. */
    if (s % 10 == 3) {
      MPI_Status es;
      es.MPI_SOURCE = 12345;
      MT_MPI(MPI_Wait(&halo[2], &es));
      MT_CHECK(es.MPI_SOURCE == MPI_ANY_SOURCE && es.MPI_TAG == MPI_ANY_TAG,
               "step %d: inactive wait status %d/%d", s, es.MPI_SOURCE, es.MPI_TAG);
      int flag = 0, index = 0;
      MT_MPI(MPI_Request_get_status(halo[3], &flag, MPI_STATUS_IGNORE));
      MT_CHECK(flag == 1, "step %d: get_status of an inactive request: %d", s, flag);
      MT_MPI(MPI_Testany(4, halo, &index, &flag, MPI_STATUS_IGNORE));
      MT_CHECK(flag == 1 && index == MPI_UNDEFINED, "step %d: Testany flag %d index %d", s, flag,
               index);
    }
  }
  for (int k = 0; k < 4; ++k) MT_MPI(MPI_Request_free(&halo[k]));
  MT_MPI(MPI_Request_free(&ring[0]));
  MT_MPI(MPI_Request_free(&ring[1]));
  MT_CHECK(halo[0] == MPI_REQUEST_NULL && ring[1] == MPI_REQUEST_NULL, "Request_free");
  mt_finish(h);
  return 0;
}
