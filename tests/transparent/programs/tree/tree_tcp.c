/* A forked TCP server and its client over loopback: the launched process listens, forks a
 * server that accepts each connection and forks a handler for it (the listener is shared by
 * the launched process and the server). The client streams numbers on two connections (the
 * second opened half-way), two per step, while each handler reads one per step and answers
 * with its running sum (a backlog builds up in the handler's receive queue, so bytes are in
 * flight at a checkpoint), then half-closes; each handler sends its total and closes. Checked:
 * every answer, the totals, and that each connection keeps its addresses: its peer is the
 * listener's port on both sides. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tree.h"

MX_PROGRAM("tree_tcp");

static unsigned short port_of(int fd, int peer) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int r = peer ? getpeername(fd, (struct sockaddr*)&a, &len)
               : getsockname(fd, (struct sockaddr*)&a, &len);
  MX_CHECK(r == 0, "%s: %s", peer ? "getpeername" : "getsockname", strerror(errno));
  return ntohs(a.sin_port);
}

/* One connection's server side: a number at a time, one per step, each answered with the sum
 * so far; at the client's end of stream, the count and the total. */
static void handle(int c, unsigned short port) {
  MX_CHECK(port_of(c, 0) == port, "handler: local port %u, listener %u", port_of(c, 0), port);
  uint64_t v, sum = 0, n = 0;
  while (tr_read_all(c, &v, sizeof v)) {
    sum += v;
    ++n;
    tr_write_all(c, &sum, sizeof sum);
    if (n % 2 == 0) mx_step_sleep();
  }
  uint64_t end[2] = {n, sum};
  tr_write_all(c, end, sizeof end);
  MX_CHECK(port_of(c, 0) == port, "handler: local port changed to %u", port_of(c, 0));
  close(c);
  _exit(0);
}

/* The server: accepts `count` connections, a handler process each, and reaps them. */
static void serve(int l, int count, unsigned short port) {
  pid_t handlers[2];
  for (int i = 0; i < count; ++i) {
    int c;
    do {
      c = accept(l, NULL, NULL);
    } while (c < 0 && errno == EINTR);
    MX_CHECK(c >= 0, "accept: %s", strerror(errno));
    handlers[i] = fork();
    MX_CHECK(handlers[i] >= 0, "fork");
    if (handlers[i] == 0) {
      close(l);
      handle(c, port);
    }
    close(c);
  }
  for (int i = 0; i < count; ++i) {
    const int st = tr_wait(handlers[i]);
    MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "handler %d status %#x", i, st);
  }
  _exit(0);
}

struct conn {
  int fd;
  uint64_t sent_sum, sent, answers, last;
};

static void connect_to(struct conn* k, unsigned short port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  k->fd = socket(AF_INET, SOCK_STREAM, 0);
  MX_CHECK(k->fd >= 0, "socket");
  int on = 1;
  MX_CHECK(setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0, "TCP_NODELAY");
  MX_CHECK(connect(k->fd, (struct sockaddr*)&a, sizeof a) == 0, "connect: %s", strerror(errno));
}

/* Takes every answer waiting on k without blocking; each is the running sum of what k sent. */
static void take_answers(struct conn* k, int block_until_all) {
  uint64_t a;
  for (;;) {
    ssize_t n = recv(k->fd, &a, sizeof a, (block_until_all ? 0 : MSG_DONTWAIT) | MSG_PEEK);
    if (n < (ssize_t)sizeof a) {
      if (block_until_all && k->answers < k->sent) {
        MX_CHECK(n != 0, "end of stream after %llu answers", (unsigned long long)k->answers);
        continue;
      }
      return;
    }
    MX_CHECK(tr_read_all(k->fd, &a, sizeof a), "answer lost");
    MX_CHECK(a >= k->last, "answers out of order");
    k->last = a;
    ++k->answers;
    if (block_until_all && k->answers == k->sent) return;
  }
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  MX_CHECK(l >= 0, "socket");
  int on = 1;
  MX_CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0, "SO_REUSEADDR");
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  MX_CHECK(bind(l, (struct sockaddr*)&a, sizeof a) == 0, "bind: %s", strerror(errno));
  MX_CHECK(listen(l, 8) == 0, "listen");
  const unsigned short port = port_of(l, 0);
  const pid_t server = fork();
  MX_CHECK(server >= 0, "fork");
  if (server == 0) serve(l, 2, port);

  struct conn k[2] = {{.fd = -1}, {.fd = -1}};
  connect_to(&k[0], port);
  uint64_t state = 17;
  for (int s = 0; s < MX_STEPS; ++s) {
    if (s == MX_STEPS / 2) connect_to(&k[1], port);
    for (int i = 0; i < 2; ++i) {
      if (k[i].fd < 0) continue;
      for (int j = 0; j < 2; ++j) {
        uint64_t v = mx_next(&state) % 1000;
        k[i].sent_sum += v;
        ++k[i].sent;
        tr_write_all(k[i].fd, &v, sizeof v);
      }
      take_answers(&k[i], 0);
    }
    mx_step_sleep();
  }
  uint64_t total = 0;
  for (int i = 0; i < 2; ++i) {
    MX_CHECK(port_of(k[i].fd, 1) == port, "connection %d: peer port %u, listener %u", i,
             port_of(k[i].fd, 1), port);
    MX_CHECK(shutdown(k[i].fd, SHUT_WR) == 0, "shutdown");
    take_answers(&k[i], 1);
    uint64_t end[2];
    MX_CHECK(tr_read_all(k[i].fd, end, sizeof end), "no totals on connection %d", i);
    MX_CHECK(end[0] == k[i].sent && end[1] == k[i].sent_sum && k[i].last == k[i].sent_sum,
             "connection %d: handler read %llu numbers summing %llu; sent %llu summing %llu, "
             "last answer %llu",
             i, (unsigned long long)end[0], (unsigned long long)end[1],
             (unsigned long long)k[i].sent, (unsigned long long)k[i].sent_sum,
             (unsigned long long)k[i].last);
    char extra;
    MX_CHECK(read(k[i].fd, &extra, 1) == 0, "data after the totals on connection %d", i);
    close(k[i].fd);
    total += k[i].sent_sum;
  }
  const int st = tr_wait(server);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server status %#x", st);
  printf("tree_tcp: 2 connections, %llu and %llu numbers, total %llu\n",
         (unsigned long long)k[0].sent, (unsigned long long)k[1].sent, (unsigned long long)total);
  return 0;
}
