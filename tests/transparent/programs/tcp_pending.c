/* TCP connections that the program's own listeners have not accepted yet when a checkpoint
 * lands (issue 11, requirement 4; a checkpoint during connect() makes one): a client on
 * 127.0.0.1 connects to a listener bound to 127.0.0.1 and another to one bound to the wildcard
 * address, and neither is accepted until the last step. Every checkpoint therefore finds both
 * waiting in the accept queues; after a restart accept() must find them again and each must
 * carry a record both ways. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mx.h"

MX_PROGRAM("tcp_pending");

static int listener(uint32_t addr, struct sockaddr_in* a) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  MX_CHECK(fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0, "socket");
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(addr);
  socklen_t len = sizeof *a;
  MX_CHECK(bind(fd, (struct sockaddr*)a, sizeof *a) == 0 && listen(fd, 4) == 0 &&
               getsockname(fd, (struct sockaddr*)a, &len) == 0,
           "listener: %s", strerror(errno));
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // where a client connects
  return fd;
}

static int client(const struct sockaddr_in* a) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  MX_CHECK(c >= 0 && connect(c, (const struct sockaddr*)a, sizeof *a) == 0, "connect: %s",
           strerror(errno));
  return c;
}

static uint32_t exchange(int l, int c, uint32_t v) {
  int s = accept(l, NULL, NULL);
  MX_CHECK(s >= 0, "accept of the waiting connection: %s", strerror(errno));
  uint32_t got = 0, back = 0;
  MX_CHECK(send(c, &v, sizeof v, 0) == (ssize_t)sizeof v, "send: %s", strerror(errno));
  MX_CHECK(recv(s, &got, sizeof got, MSG_WAITALL) == (ssize_t)sizeof got && got == v,
           "the server end got %u, want %u", got, v);
  got = ~got;
  MX_CHECK(send(s, &got, sizeof got, 0) == (ssize_t)sizeof got, "echo: %s", strerror(errno));
  MX_CHECK(recv(c, &back, sizeof back, MSG_WAITALL) == (ssize_t)sizeof back && back == ~v,
           "the client end got %u back, want %u", back, ~v);
  close(s);
  close(c);
  return back;
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sockaddr_in a1, a2;
  int l1 = listener(INADDR_LOOPBACK, &a1), l2 = listener(INADDR_ANY, &a2);
  int c1 = client(&a1), c2 = client(&a2);
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    uint32_t x = (uint32_t)s * 2654435761u;
    h = mx_hash(h, &x, sizeof x);
    mx_step_sleep();
  }
  uint32_t r1 = exchange(l1, c1, 0x1234567u), r2 = exchange(l2, c2, 0x89abcdeu);
  h = mx_hash(h, &r1, sizeof r1);
  h = mx_hash(h, &r2, sizeof r2);
  printf("tcp pending: 2 connections accepted after the steps, hash %016llx\n",
         (unsigned long long)h);
  return 0;
}
