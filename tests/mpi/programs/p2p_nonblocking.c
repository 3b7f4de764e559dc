/* Nonblocking point-to-point with requests in flight across steps (so across a checkpoint):
 * at step s every rank posts an MPI_Irecv from its left neighbour (MPI_ANY_SOURCE on odd
 * steps) and an MPI_Isend (MPI_Issend every third step) to its right one, and completes them
 * only at step s+3, alternating MPI_Waitall, MPI_Waitany, MPI_Testany, MPI_Testall and
 * MPI_Test loops. Every 10th message is large (rendezvous protocol). Also: a second pair of
 * requests (MPI_Irecv / MPI_Isend, posted at step s, completed at s+1), an MPI_Isend
 * freed with MPI_Request_free once it is known to have completed, and an MPI_Irecv that never
 * matches, cancelled two steps after it was posted (MPI_Cancel, MPI_Test_cancelled). And a
 * late receive: a short message (1..5 ints) sent at step s is received only at step s+2, into
 * a buffer of LATE_CAP ints, so one always waits unreceived at a checkpoint (the drain stores
 * it) and is then delivered into a receive larger than the message. */
#include "mt.h"

#define NSLOT 4
#define LAG 3
#define SMALL 200
#define BIG 200000
#define LATE_CAP 16

static int msg_len(int s, int sender) { return s % 10 == 7 ? BIG : 1 + (s * 13 + sender) % SMALL; }
static int late_len(int s, int sender) { return 1 + (s * 7 + sender) % 5; }

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "p2p_nonblocking", 200, 35);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 2, "needs at least 2 ranks, has %d", n);
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  uint64_t h = MT_HASH_INIT;

  int32_t* sendbuf[NSLOT];
  int32_t* recvbuf[NSLOT];
  MPI_Request req[NSLOT][2];
  for (int i = 0; i < NSLOT; ++i) {
    sendbuf[i] = (int32_t*)malloc(BIG * sizeof(int32_t));
    recvbuf[i] = (int32_t*)malloc(BIG * sizeof(int32_t));
    MT_CHECK(sendbuf[i] != NULL && recvbuf[i] != NULL, "malloc");
    req[i][0] = req[i][1] = MPI_REQUEST_NULL;
  }

  /* Persistent requests, created once, used every step. */
  int64_t psend[8], precv[8];
  /* (Posted with Irecv/Isend each step: persistent requests are not restartable yet, see
   * docs/mpi.md; faults.sh checks that a checkpoint of a job using them fails cleanly.) */
  MPI_Request preq[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  int persistent_active = 0;

  /* The never-matching receive. */
  MPI_Request cancel_req = MPI_REQUEST_NULL;
  int cancel_posted_at = -1, cancel_buf[4];
  int cancelled_total = 0;

  for (int s = 0; s < mt_steps + LAG; ++s) {
    if (s < mt_steps) mt_progress(s);
    /* 1. Complete the transfers posted LAG steps ago. */
    if (s >= LAG) {
      const int t = s - LAG, slot = t % NSLOT;
      MPI_Request* rq = req[slot];
      MPI_Status st[2];
      int got_recv = 0;
      switch (s % 5) {
        case 0:
          MT_MPI(MPI_Waitall(2, rq, st));
          got_recv = 1;
          break;
        case 1:
          for (int k = 0; k < 2; ++k) {
            int idx = -1;
            MPI_Status one;
            MT_MPI(MPI_Waitany(2, rq, &idx, &one));
            MT_CHECK(idx == 0 || idx == 1, "step %d: Waitany index %d", s, idx);
            MT_CHECK(rq[idx] == MPI_REQUEST_NULL, "step %d: Waitany left the request", s);
            if (idx == 0) st[0] = one, got_recv = 1;
          }
          break;
        case 2: {
          int done = 0, guard = 0;
          while (done < 2) {
            int idx = -1, flag = 0;
            MPI_Status one;
            MT_MPI(MPI_Testany(2, rq, &idx, &flag, &one));
            if (flag && idx != MPI_UNDEFINED) {
              ++done;
              if (idx == 0) st[0] = one, got_recv = 1;
            } else if (flag) {
              break; /* both inactive */
            }
            if (++guard % 1000 == 0) mt_sleep_ms(1);
          }
          MT_CHECK(done == 2, "step %d: Testany completed %d requests", s, done);
          break;
        }
        case 3: {
          int flag = 0, guard = 0;
          while (!flag) {
            MT_MPI(MPI_Testall(2, rq, &flag, st));
            if (++guard % 1000 == 0) mt_sleep_ms(1);
          }
          got_recv = 1;
          break;
        }
        default: {
          int f0 = 0, f1 = 0, guard = 0;
          while (!(f0 && f1)) {
            if (!f0) MT_MPI(MPI_Test(&rq[0], &f0, &st[0]));
            if (!f1) MT_MPI(MPI_Test(&rq[1], &f1, &st[1]));
            if (++guard % 1000 == 0) mt_sleep_ms(1);
          }
          got_recv = 1;
          break;
        }
      }
      MT_CHECK(got_recv && rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL,
               "step %d: requests of step %d not completed", s, t);
      int count = -1;
      MT_MPI(MPI_Get_count(&st[0], MPI_INT32_T, &count));
      const int want = msg_len(t, left);
      MT_CHECK(count == want, "step %d: message of step %d has %d ints, want %d", s, t, count,
               want);
      MT_CHECK(st[0].MPI_SOURCE == left && st[0].MPI_TAG == 100 + t % 500,
               "step %d: message of step %d from %d tag %d", s, t, st[0].MPI_SOURCE, st[0].MPI_TAG);
      const int stride = count > 1000 ? 101 : 1;
      for (int i = 0; i < count; i += stride)
        MT_CHECK(recvbuf[slot][i] == mt_val(t, left, i), "step %d: msg of step %d [%d] = %d", s, t,
                 i, recvbuf[slot][i]);
      h = mt_hash(h, recvbuf[slot], (size_t)count * sizeof(int32_t));
    }
    /* 1b. The late receive of the message sent at step s-2. */
    if (s >= 2 && s - 2 < mt_steps) {
      const int t = s - 2, want = late_len(t, left);
      int32_t late[LATE_CAP];
      MPI_Status st;
      memset(late, 0xff, sizeof late);
      MT_MPI(MPI_Recv(late, LATE_CAP, MPI_INT32_T, left, 70, MPI_COMM_WORLD, &st));
      int count = -1;
      MT_MPI(MPI_Get_count(&st, MPI_INT32_T, &count));
      MT_CHECK(count == want, "step %d: late message of step %d has %d ints, want %d", s, t, count,
               want);
      for (int i = 0; i < LATE_CAP; ++i)
        MT_CHECK(late[i] == (i < want ? mt_val(t, left, 2000 + i) : -1),
                 "step %d: late message of step %d [%d] = %d", s, t, i, late[i]);
      h = mt_hash(h, late, (size_t)want * sizeof(int32_t));
    }
    if (s >= mt_steps) continue;
    {
      int32_t late[LATE_CAP];
      const int len = late_len(s, r);
      for (int i = 0; i < len; ++i) late[i] = mt_val(s, r, 2000 + i);
      MT_MPI(MPI_Send(late, len, MPI_INT32_T, right, 70, MPI_COMM_WORLD));
    }

    /* 2. Post this step's transfers. */
    {
      const int slot = s % NSLOT, len = msg_len(s, r);
      MT_CHECK(req[slot][0] == MPI_REQUEST_NULL, "step %d: slot %d busy", s, slot);
      memset(recvbuf[slot], 0xff, BIG * sizeof(int32_t));
      for (int i = 0; i < len; ++i) sendbuf[slot][i] = mt_val(s, r, i);
      MT_MPI(MPI_Irecv(recvbuf[slot], BIG, MPI_INT32_T, s % 2 ? MPI_ANY_SOURCE : left,
                       100 + s % 500, MPI_COMM_WORLD, &req[slot][0]));
      if (s % 3 == 0)
        MT_MPI(MPI_Issend(sendbuf[slot], len, MPI_INT32_T, right, 100 + s % 500, MPI_COMM_WORLD,
                          &req[slot][1]));
      else
        MT_MPI(MPI_Isend(sendbuf[slot], len, MPI_INT32_T, right, 100 + s % 500, MPI_COMM_WORLD,
                         &req[slot][1]));
    }

    /* 3. Persistent requests: complete the pair started last step, start a new one. */
    if (persistent_active) {
      MPI_Status st[2];
      MT_MPI(MPI_Waitall(2, preq, st));
      for (int i = 0; i < 8; ++i)
        MT_CHECK(precv[i] == (int64_t)mt_val(s - 1, left, i) - i, "step %d: persistent[%d]", s, i);
      h = mt_hash(h, precv, sizeof precv);
    }
    for (int i = 0; i < 8; ++i) psend[i] = (int64_t)mt_val(s, r, i) - i;
    memset(precv, 0, sizeof precv);
    MT_MPI(MPI_Irecv(precv, 8, MPI_INT64_T, left, 50, MPI_COMM_WORLD, &preq[0]));
    MT_MPI(MPI_Isend(psend, 8, MPI_INT64_T, right, 50, MPI_COMM_WORLD, &preq[1]));
    persistent_active = 1;

    /* 4. An Isend freed with MPI_Request_free after the receiver acknowledged it. */
    {
      static int32_t ping_out[4];
      int32_t ping_in[4], ack_out = s, ack_in = -1;
      MPI_Request ping;
      for (int i = 0; i < 4; ++i) ping_out[i] = mt_val(s, r, 1000 + i);
      MT_MPI(MPI_Isend(ping_out, 4, MPI_INT32_T, right, 60, MPI_COMM_WORLD, &ping));
      MT_MPI(MPI_Recv(ping_in, 4, MPI_INT32_T, left, 60, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
      for (int i = 0; i < 4; ++i)
        MT_CHECK(ping_in[i] == mt_val(s, left, 1000 + i), "step %d: ping[%d]", s, i);
      MT_MPI(MPI_Sendrecv(&ack_out, 1, MPI_INT32_T, left, 61, &ack_in, 1, MPI_INT32_T, right, 61,
                          MPI_COMM_WORLD, MPI_STATUS_IGNORE));
      MT_CHECK(ack_in == s, "step %d: ack %d", s, ack_in);
      MT_MPI(MPI_Request_free(&ping));
      MT_CHECK(ping == MPI_REQUEST_NULL, "step %d: Request_free left the handle", s);
    }

    /* 5. A receive that never matches: posted every 7th step, cancelled two steps later. */
    if (cancel_req != MPI_REQUEST_NULL && s == cancel_posted_at + 2) {
      MPI_Status st;
      int flag = 0;
      MT_MPI(MPI_Cancel(&cancel_req));
      MT_MPI(MPI_Wait(&cancel_req, &st));
      MT_MPI(MPI_Test_cancelled(&st, &flag));
      MT_CHECK(flag, "step %d: receive posted at step %d not cancelled", s, cancel_posted_at);
      ++cancelled_total;
    }
    if (s % 7 == 0 && s + 2 < mt_steps) {
      MT_MPI(MPI_Irecv(cancel_buf, 4, MPI_INT, left, 9999, MPI_COMM_WORLD, &cancel_req));
      cancel_posted_at = s;
    }
    mt_step_sleep();
  }
  if (persistent_active) {
    MPI_Status st[2];
    MT_MPI(MPI_Waitall(2, preq, st));
    for (int i = 0; i < 8; ++i)
      MT_CHECK(precv[i] == (int64_t)mt_val(mt_steps - 1, left, i) - i, "last persistent[%d]", i);
    h = mt_hash(h, precv, sizeof precv);
  }
  MT_CHECK(cancel_req == MPI_REQUEST_NULL, "a cancel request is left");
  h = mt_hash_i64(h, cancelled_total);
  for (int i = 0; i < NSLOT; ++i) free(sendbuf[i]), free(recvbuf[i]);
  mt_finish(h);
  return 0;
}
