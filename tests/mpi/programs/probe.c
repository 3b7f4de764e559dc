/* Probing messages of unknown size: every step each rank receives three messages whose sizes
 * only the senders know (ints from r-1, doubles from r-2, chars of a length that is not a
 * multiple of 4 from r-1; the tag tells the kind), in an order it learns by probing with
 * MPI_ANY_SOURCE / MPI_ANY_TAG (or a given source). It rotates MPI_Probe, MPI_Iprobe loops,
 * MPI_Mprobe + MPI_Mrecv and MPI_Improbe + MPI_Imrecv, sizes the buffer with MPI_Get_count
 * (checked against MPI_BYTE counts, MPI_Get_elements and MPI_UNDEFINED for a count that is not
 * whole), and checks the contents afterwards. Some messages are large (rendezvous). */
#include "mt.h"

enum { KIND_INT = 1, KIND_DOUBLE = 2, KIND_CHAR = 3 };

static int len_of(int s, int sender, int kind) {
  const uint64_t m = mt_mix((uint64_t)s * 31 + (uint64_t)sender * 7 + (uint64_t)kind);
  switch (kind) {
    case KIND_INT: return s % 9 == 4 ? 100000 + (int)(m % 5000) : 1 + (int)(m % 3000);
    case KIND_DOUBLE: return (int)(m % 700); /* may be empty */
    default: return 4 * (int)(m % 200) + 1 + s % 3;
  }
}

static int tag_of(int kind, int len) { return kind * 10 + len % 7; }

int main(int argc, char** argv) {
  mt_init(&argc, &argv, "probe", 180, 35);
  const int n = mt_size, r = mt_rank;
  MT_CHECK(n >= 3, "needs at least 3 ranks, has %d", n);
  const int r1 = (r + 1) % n, r2 = (r + 2) % n, l1 = (r + n - 1) % n, l2 = (r + n - 2) % n;
  uint64_t h = MT_HASH_INIT;
  long probes_total = 0;

  for (int s = 0; s < mt_steps; ++s) {
    mt_progress(s);
    /* Send: ints and chars to r+1, doubles to r+2. */
    const int li = len_of(s, r, KIND_INT), ld = len_of(s, r, KIND_DOUBLE),
              lc = len_of(s, r, KIND_CHAR);
    int32_t* oi = (int32_t*)malloc((size_t)li * sizeof *oi);
    double* od = (double*)malloc((size_t)(ld + 1) * sizeof *od);
    char* oc = (char*)malloc((size_t)lc);
    MT_CHECK(oi && od && oc, "malloc");
    for (int i = 0; i < li; ++i) oi[i] = mt_val(s, r, i);
    for (int i = 0; i < ld; ++i) od[i] = (double)mt_val(s, r, i) * 0.5;
    for (int i = 0; i < lc; ++i) oc[i] = (char)('a' + mt_val(s, r, i) % 26);
    MPI_Request sreq[3];
    MT_MPI(MPI_Isend(oi, li, MPI_INT32_T, r1, tag_of(KIND_INT, li), MPI_COMM_WORLD, &sreq[0]));
    MT_MPI(MPI_Isend(od, ld, MPI_DOUBLE, r2, tag_of(KIND_DOUBLE, ld), MPI_COMM_WORLD, &sreq[1]));
    MT_MPI(MPI_Isend(oc, lc, MPI_CHAR, r1, tag_of(KIND_CHAR, lc), MPI_COMM_WORLD, &sreq[2]));

    /* Receive the three messages in whatever order probing finds them. */
    int seen[4] = {0, 0, 0, 0};
    uint64_t part[4] = {0, 0, 0, 0};
    const int mode = s % 4, given_source = (s / 4) % 2;
    for (int m = 0; m < 3; ++m) {
      MPI_Status st;
      MPI_Message msg = MPI_MESSAGE_NULL;
      int flag = 0;
      /* With a given source: the first two messages come from r-1 (ints and chars, any order),
       * the last from r-2. */
      const int src = given_source ? (m < 2 ? l1 : l2) : MPI_ANY_SOURCE;
      switch (mode) {
        case 0: MT_MPI(MPI_Probe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &st)); break;
        case 1:
          while (!flag) {
            MT_MPI(MPI_Iprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
            if (!flag) mt_sleep_ms(1);
            ++probes_total;
          }
          break;
        case 2: MT_MPI(MPI_Mprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &msg, &st)); break;
        default:
          while (!flag) {
            MT_MPI(MPI_Improbe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg, &st));
            if (!flag) mt_sleep_ms(1);
          }
          break;
      }
      const int kind = st.MPI_TAG / 10;
      MT_CHECK(kind >= KIND_INT && kind <= KIND_CHAR && !seen[kind], "step %d: tag %d", s,
               st.MPI_TAG);
      seen[kind] = 1;
      const int want_src = kind == KIND_DOUBLE ? l2 : l1;
      MT_CHECK(st.MPI_SOURCE == want_src, "step %d: kind %d from %d, want %d", s, kind,
               st.MPI_SOURCE, want_src);
      const int want_len = len_of(s, want_src, kind);
      MPI_Datatype type = kind == KIND_INT ? MPI_INT32_T : kind == KIND_DOUBLE ? MPI_DOUBLE : MPI_CHAR;
      const int elem = kind == KIND_INT ? 4 : kind == KIND_DOUBLE ? 8 : 1;
      int count = -1, bytes = -1, elements = -1, as_int = 0;
      MT_MPI(MPI_Get_count(&st, type, &count));
      MT_MPI(MPI_Get_count(&st, MPI_BYTE, &bytes));
      MT_MPI(MPI_Get_elements(&st, type, &elements));
      MT_CHECK(count == want_len && bytes == want_len * elem && elements == want_len,
               "step %d: kind %d: count %d bytes %d elements %d, want %d", s, kind, count, bytes,
               elements, want_len);
      MT_CHECK(st.MPI_TAG == tag_of(kind, count), "step %d: tag %d", s, st.MPI_TAG);
      if (kind == KIND_CHAR) {
        MT_MPI(MPI_Get_count(&st, MPI_INT, &as_int));
        MT_CHECK(as_int == MPI_UNDEFINED, "step %d: %d chars counted as %d ints", s, count, as_int);
      }
      void* buf = malloc((size_t)(count + 1) * (size_t)elem);
      MT_CHECK(buf != NULL, "malloc");
      MPI_Status rst;
      if (mode == 2) {
        MT_MPI(MPI_Mrecv(buf, count, type, &msg, &rst));
        MT_CHECK(msg == MPI_MESSAGE_NULL, "Mrecv left the message handle");
      } else if (mode == 3) {
        MPI_Request rq;
        MT_MPI(MPI_Imrecv(buf, count, type, &msg, &rq));
        MT_MPI(MPI_Wait(&rq, &rst));
      } else {
        MT_MPI(MPI_Recv(buf, count, type, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &rst));
      }
      MT_CHECK(rst.MPI_SOURCE == st.MPI_SOURCE && rst.MPI_TAG == st.MPI_TAG,
               "step %d: received another message than probed", s);
      for (int i = 0; i < count; ++i) {
        if (kind == KIND_INT)
          MT_CHECK(((int32_t*)buf)[i] == mt_val(s, want_src, i), "step %d: int[%d]", s, i);
        else if (kind == KIND_DOUBLE)
          MT_CHECK(((double*)buf)[i] == (double)mt_val(s, want_src, i) * 0.5, "step %d: dbl[%d]",
                   s, i);
        else
          MT_CHECK(((char*)buf)[i] == (char)('a' + mt_val(s, want_src, i) % 26),
                   "step %d: chr[%d]", s, i);
      }
      part[kind] = mt_hash(mt_hash_i64(MT_HASH_INIT, count), buf, (size_t)count * (size_t)elem);
      free(buf);
    }
    for (int k = 1; k <= 3; ++k) h = mt_hash_u64(h, part[k]);
    MPI_Status sst[3];
    MT_MPI(MPI_Waitall(3, sreq, sst));
    free(oi), free(od), free(oc);
    /* No message of the next step may be probed in this one. */
    int flag = 1;
    MT_MPI(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE));
    MT_CHECK(!flag, "step %d: an unexpected message is pending", s);
    mt_step_sleep();
    MT_MPI(MPI_Barrier(MPI_COMM_WORLD));
  }
  (void)probes_total; /* timing-dependent: not part of the result */
  mt_finish(h);
  return 0;
}
