/* A pipe inside the process: every step writes 3 records into the pipe and reads 2, so
 * bytes are always in flight (up to 200 records) when a checkpoint lands; each record is
 * checked in order. A second pipe has a non-blocking read end (O_NONBLOCK must survive: an
 * empty read gives EAGAIN) and a larger capacity set with F_SETPIPE_SZ. A reader thread on a
 * third pipe blocks in read(2) across checkpoints. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>

#include "mx.h"

MX_PROGRAM("pipe_inproc");

typedef struct {
  uint32_t seq;
  uint32_t check;
  char text[24];
} record_t;

static int thread_pipe[2];
static volatile int thread_got;
static uint64_t thread_hash = MX_HASH_INIT;

static void* reader(void* arg) {
  (void)arg;
  for (int i = 0; i < MX_STEPS / 10; ++i) {
    uint32_t v;
    ssize_t n = read(thread_pipe[0], &v, sizeof v);
    MX_CHECK(n == (ssize_t)sizeof v, "thread read %zd", n);
    MX_CHECK(v == (uint32_t)i * 77u, "thread: value %u, want %u", v, i * 77u);
    thread_hash = mx_hash(thread_hash, &v, sizeof v);
    __atomic_store_n(&thread_got, i + 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

static int ioctl_fionread_ok(int fd, int* avail) { return ioctl(fd, FIONREAD, avail) == 0; }

static record_t make(uint32_t seq) {
  record_t r;
  memset(&r, 0, sizeof r);
  r.seq = seq;
  r.check = seq * 2654435761u;
  snprintf(r.text, sizeof r.text, "record-%u", seq);
  return r;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int p[2], q[2];
  MX_CHECK(pipe(p) == 0 && pipe2(q, O_NONBLOCK) == 0 && pipe(thread_pipe) == 0, "pipe");
  MX_CHECK(fcntl(q[1], F_SETPIPE_SZ, 1 << 20) >= (1 << 20), "F_SETPIPE_SZ");
  pthread_t t;
  MX_CHECK(pthread_create(&t, NULL, reader, NULL) == 0, "create");
  uint32_t wseq = 0, rseq = 0, qw = 0, qr = 0;
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 3; ++k) {
      record_t r = make(wseq++);
      MX_CHECK(write(p[1], &r, sizeof r) == (ssize_t)sizeof r, "write");
    }
    for (int k = 0; k < 2; ++k) {
      record_t r;
      MX_CHECK(read(p[0], &r, sizeof r) == (ssize_t)sizeof r, "read");
      record_t want = make(rseq++);
      MX_CHECK(memcmp(&r, &want, sizeof r) == 0, "step %d: record %u lost (got seq %u)", s,
               want.seq, r.seq);
      h = mx_hash(h, &r, sizeof r);
    }
    int avail = 0;
    MX_CHECK(ioctl_fionread_ok(p[0], &avail), "FIONREAD");
    MX_CHECK(avail == (int)((wseq - rseq) * sizeof(record_t)),
             "step %d: %d bytes in flight, want %zu", s, avail, (wseq - rseq) * sizeof(record_t));
    /* q: non-blocking, 1 MiB capacity, 4 KiB written per step and read back 2 steps later */
    MX_CHECK(fcntl(q[0], F_GETFL) & O_NONBLOCK, "step %d: O_NONBLOCK lost", s);
    MX_CHECK(fcntl(q[1], F_GETPIPE_SZ) >= (1 << 20), "step %d: pipe capacity %d", s,
             fcntl(q[1], F_GETPIPE_SZ));
    static char block[4096];
    memset(block, (int)(qw & 0xff), sizeof block);
    MX_CHECK(write(q[1], block, sizeof block) == (ssize_t)sizeof block, "write q");
    ++qw;
    if (s % 2 == 1) {
      while (qr + 1 < qw) {
        MX_CHECK(read(q[0], block, sizeof block) == (ssize_t)sizeof block, "read q");
        MX_CHECK(block[0] == (char)(qr & 0xff) && block[4095] == (char)(qr & 0xff),
                 "step %d: q block %u lost", s, qr);
        ++qr;
      }
    }
    if (s % 10 == 5) {
      uint32_t v = (uint32_t)(s / 10) * 77u;
      MX_CHECK(write(thread_pipe[1], &v, sizeof v) == (ssize_t)sizeof v, "write thread pipe");
    }
    mx_step_sleep();
  }
  /* drain q completely: then it must be empty (EAGAIN, not a block) */
  char block[4096];
  while (qr < qw) {
    MX_CHECK(read(q[0], block, sizeof block) == (ssize_t)sizeof block, "drain q");
    ++qr;
  }
  MX_CHECK(read(q[0], block, 1) == -1 && errno == EAGAIN, "the empty non-blocking read");
  pthread_join(t, NULL);
  MX_CHECK(thread_got == MX_STEPS / 10, "thread got %d", thread_got);
  close(p[1]);
  uint32_t left = 0;
  record_t r;
  while (read(p[0], &r, sizeof r) == (ssize_t)sizeof r) {
    record_t want = make(rseq++);
    MX_CHECK(memcmp(&r, &want, sizeof r) == 0, "drain: record %u lost", want.seq);
    ++left;
  }
  printf("pipe records %u drained %u hash %016llx thread %016llx\n", wseq, left,
         (unsigned long long)h, (unsigned long long)thread_hash);
  return 0;
}
