/* UNIX sockets inside one process across checkpoints (issue 11, requirements 4 and 6):
 * - st: a stream socketpair carrying records both ways, 3 sent and 2 received per step and
 *   direction, so bytes are always queued when a checkpoint lands; one end non-blocking (an
 *   empty read gives EAGAIN at the end); one end also used through a dup;
 * - sp, dg: a seqpacket and a datagram pair, messages of 1..300 bytes received two steps
 *   after they were sent: message boundaries and order must survive;
 * - half: a stream pair whose writer sent 200 bytes and shut down its sending side at start;
 *   the reader takes one byte a step, then must see end of file;
 * - srv: a listener bound to WORKDIR/srv.sock and one with an abstract name: every 10 steps a
 *   client connects to each, the server accepts and echoes a message. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "mx.h"

MX_PROGRAM("unix_sockets");

typedef struct {
  uint32_t seq, check;
} rec_t;

static rec_t make(uint32_t seq, uint32_t salt) {
  rec_t r = {seq, seq * 2654435761u ^ salt};
  return r;
}

static void send_rec(int fd, uint32_t seq, uint32_t salt) {
  rec_t r = make(seq, salt);
  MX_CHECK(send(fd, &r, sizeof r, MSG_NOSIGNAL) == (ssize_t)sizeof r, "send: %s", strerror(errno));
}

static void recv_rec(int fd, uint32_t seq, uint32_t salt, int step) {
  rec_t r, want = make(seq, salt);
  MX_CHECK(recv(fd, &r, sizeof r, MSG_WAITALL) == (ssize_t)sizeof r, "recv: %s", strerror(errno));
  MX_CHECK(r.seq == want.seq && r.check == want.check, "step %d: record %u lost (got %u)", step,
           want.seq, r.seq);
}

static size_t msg_len(uint32_t i) { return 1 + (i * 37u) % 300; }

static void send_msg(int fd, uint32_t i) {
  char b[300];
  size_t n = msg_len(i);
  for (size_t k = 0; k < n; ++k) b[k] = (char)(i + k);
  MX_CHECK(send(fd, b, n, 0) == (ssize_t)n, "send msg %u: %s", i, strerror(errno));
}

static void recv_msg(int fd, uint32_t i, const char* what) {
  char b[400];
  ssize_t n = recv(fd, b, sizeof b, 0);
  MX_CHECK(n == (ssize_t)msg_len(i), "%s message %u: %zd bytes, want %zu", what, i, n, msg_len(i));
  for (ssize_t k = 0; k < n; ++k) MX_CHECK(b[k] == (char)(i + k), "%s message %u byte", what, i);
}

static int listener(const struct sockaddr_un* a, socklen_t len) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  MX_CHECK(fd >= 0 && bind(fd, (const struct sockaddr*)a, len) == 0 && listen(fd, 4) == 0,
           "listener: %s", strerror(errno));
  return fd;
}

static void echo_once(int lfd, const struct sockaddr_un* a, socklen_t len, int step) {
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  MX_CHECK(c >= 0 && connect(c, (const struct sockaddr*)a, len) == 0,
           "step %d: connect to the listener: %s", step, strerror(errno));
  int s = accept(lfd, NULL, NULL);
  MX_CHECK(s >= 0, "step %d: accept: %s", step, strerror(errno));
  send_rec(c, (uint32_t)step, 7);
  rec_t r;
  MX_CHECK(recv(s, &r, sizeof r, MSG_WAITALL) == (ssize_t)sizeof r, "server recv");
  MX_CHECK(send(s, &r, sizeof r, 0) == (ssize_t)sizeof r, "server send");
  recv_rec(c, (uint32_t)step, 7, step);
  close(s);
  close(c);
}

int main(int argc, char** argv) {
  const char* dir = mx_workdir(argc, argv);
  int st[2], sp[2], dg[2], half[2];
  MX_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, st) == 0 &&
               socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0 &&
               socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0 &&
               socketpair(AF_UNIX, SOCK_STREAM, 0, half) == 0,
           "socketpair: %s", strerror(errno));
  MX_CHECK(fcntl(st[1], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
  int st0dup = fcntl(st[0], F_DUPFD, 50);
  MX_CHECK(st0dup >= 50, "dup");
  char bye[200];
  for (int k = 0; k < 200; ++k) bye[k] = (char)(k * 3);
  MX_CHECK(
      write(half[0], bye, sizeof bye) == (ssize_t)sizeof bye && shutdown(half[0], SHUT_WR) == 0,
      "half: %s", strerror(errno));

  struct sockaddr_un path = {.sun_family = AF_UNIX}, abstract = {.sun_family = AF_UNIX};
  snprintf(path.sun_path, sizeof path.sun_path, "%s/srv.sock", dir);
  unlink(path.sun_path);
  socklen_t plen = (socklen_t)sizeof path;
  int alen_name = snprintf(abstract.sun_path + 1, sizeof abstract.sun_path - 1,
                           "cairn-mx-unix-sockets-%d", (int)getpid());
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + alen_name);
  int lp = listener(&path, plen), la = listener(&abstract, alen);

  uint32_t ab_w = 0, ab_r = 0, ba_w = 0, ba_r = 0, sp_w = 0, sp_r = 0, dg_w = 0, dg_r = 0;
  uint64_t h = MX_HASH_INIT;
  int half_got = 0, echoes = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 3; ++k) send_rec(s % 2 ? st0dup : st[0], ab_w++, 1);
    for (int k = 0; k < 3; ++k) send_rec(st[1], ba_w++, 2);
    for (int k = 0; k < 2; ++k) recv_rec(st[1], ab_r++, 1, s);
    for (int k = 0; k < 2; ++k) recv_rec(st[0], ba_r++, 2, s);
    send_msg(sp[0], sp_w++);
    send_msg(dg[1], dg_w++);
    if (s >= 2) {
      recv_msg(sp[1], sp_r++, "seqpacket");
      recv_msg(dg[0], dg_r++, "datagram");
    }
    if (half_got < 200) {
      char c;
      MX_CHECK(read(half[1], &c, 1) == 1 && c == bye[half_got], "step %d: half byte %d", s,
               half_got);
      h = mx_hash(h, &c, 1);
      ++half_got;
    }
    if (s % 10 == 4) {
      echo_once(lp, &path, plen, s);
      echo_once(la, &abstract, alen, s);
      echoes += 2;
    }
    mx_step_sleep();
  }
  char c;
  MX_CHECK(half_got < 200 || read(half[1], &c, 1) == 0, "half: no end of file after 200 bytes");
  /* drain: what is left in flight must be exactly what was sent */
  while (ab_r < ab_w) recv_rec(st[1], ab_r++, 1, MX_STEPS);
  while (ba_r < ba_w) recv_rec(st[0], ba_r++, 2, MX_STEPS);
  while (sp_r < sp_w) recv_msg(sp[1], sp_r++, "seqpacket");
  while (dg_r < dg_w) recv_msg(dg[0], dg_r++, "datagram");
  MX_CHECK(recv(st[1], &c, 1, 0) == -1 && errno == EAGAIN, "the empty non-blocking read");
  close(lp);
  unlink(path.sun_path);
  printf(
      "unix sockets: stream %u/%u records, seqpacket %u, datagram %u, half %d hash %016llx, "
      "echoes %d\n",
      ab_r, ba_r, sp_r, dg_r, half_got, (unsigned long long)h, echoes);
  return 0;
}
