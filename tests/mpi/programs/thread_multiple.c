/* MPI_THREAD_MULTIPLE: three threads per rank call MPI at the same time, each on its own
 * communicator (dups of MPI_COMM_WORLD made by the main thread): thread 0 passes a ring
 * message with MPI_Isend/MPI_Irecv/MPI_Waitall, thread 1 runs MPI_Allreduce and an
 * MPI_Bcast, thread 2 does blocking MPI_Sendrecv with the rank across the ring plus an
 * MPI_Iprobe poll before each receive. Every thread sleeps between steps, so a checkpoint
 * finds them anywhere: inside a collective, a wait, a probe loop or outside MPI. */
#include <pthread.h>

#include "mt.h"

#define THREADS 3
#define N 16

struct worker {
  int id;
  MPI_Comm comm;
  uint64_t hash;
};

static void* work(void* arg) {
  struct worker* w = (struct worker*)arg;
  const int n = mt_size, r = mt_rank;
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  uint64_t h = MT_HASH_INIT;
  for (int s = 0; s < mt_steps; ++s) {
    if (w->id == 0) {
      mt_progress(s);
      int32_t out[N], in[N];
      for (int i = 0; i < N; ++i) out[i] = mt_val(s, r, i);
      MPI_Request q[2];
      MT_MPI(MPI_Irecv(in, N, MPI_INT32_T, left, s % 100, w->comm, &q[0]));
      MT_MPI(MPI_Isend(out, N, MPI_INT32_T, right, s % 100, w->comm, &q[1]));
      MPI_Status sts[2];
      MT_MPI(MPI_Waitall(2, q, sts));
      for (int i = 0; i < N; ++i)
        MT_CHECK(in[i] == mt_val(s, left, i), "thread 0 step %d: [%d]", s, i);
      h = mt_hash(h, in, sizeof in);
    } else if (w->id == 1) {
      int64_t v = mt_val(s, r, 5), sum = 0, want = 0;
      for (int q = 0; q < n; ++q) want += mt_val(s, q, 5);
      MT_MPI(MPI_Allreduce(&v, &sum, 1, MPI_INT64_T, MPI_SUM, w->comm));
      MT_CHECK(sum == want, "thread 1 step %d: allreduce %lld, want %lld", s, (long long)sum,
               (long long)want);
      int32_t b = r == s % n ? mt_val(s, 9, 9) : -1;
      MT_MPI(MPI_Bcast(&b, 1, MPI_INT32_T, s % n, w->comm));
      MT_CHECK(b == mt_val(s, 9, 9), "thread 1 step %d: bcast %d", s, b);
      h = mt_hash_i64(h, sum);
    } else {
      const int k = n / 2 > 0 ? n / 2 : 1;
      const int to = (r + k) % n, from = (r - k + n) % n;
      double out = (double)mt_val(s, r, 3), in = 0;
      int flag = 0;
      MPI_Request q;
      MT_MPI(MPI_Isend(&out, 1, MPI_DOUBLE, to, 7, w->comm, &q));
      while (!flag) MT_MPI(MPI_Iprobe(from, 7, w->comm, &flag, MPI_STATUS_IGNORE));
      MT_MPI(MPI_Recv(&in, 1, MPI_DOUBLE, from, 7, w->comm, MPI_STATUS_IGNORE));
      MT_MPI(MPI_Wait(&q, MPI_STATUS_IGNORE));
      MT_CHECK(in == (double)mt_val(s, from, 3), "thread 2 step %d: got %g", s, in);
      h = mt_hash(h, &in, sizeof in);
    }
    mt_sleep_ms(mt_step_ms + (w->id * 7 + s) % 5);
  }
  w->hash = h;
  return NULL;
}

int main(int argc, char** argv) {
  int provided = -1;
  mt_init_thread(&argc, &argv, "thread_multiple", 150, 40, MPI_THREAD_MULTIPLE, &provided);
  MT_CHECK(provided == MPI_THREAD_MULTIPLE, "provided thread level %d", provided);
  struct worker w[THREADS];
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; ++i) {
    w[i].id = i;
    w[i].hash = 0;
    MT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &w[i].comm));
  }
  for (int i = 0; i < THREADS; ++i)
    MT_CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0, "pthread_create");
  uint64_t h = MT_HASH_INIT;
  for (int i = 0; i < THREADS; ++i) {
    pthread_join(t[i], NULL);
    h = mt_hash_u64(h, w[i].hash);
    MT_MPI(MPI_Comm_free(&w[i].comm));
  }
  mt_finish(h);
  return 0;
}
