/* Internet sockets that a restart can bring back (issue 11, requirements 4 and 6): a TCP
 * listener on 127.0.0.1 (SO_REUSEADDR, as servers set it: the server side closes first) and
 * one on [::1] (IPV6_V6ONLY, no SO_REUSEADDR: the client closes first, so no connection of the
 * killed process holds the port in TIME_WAIT), both on ports the kernel chose, and a UDP
 * socket bound to 127.0.0.1. Every 10 steps a client connects to each listener, the
 * server side accepts and echoes a record; every step the UDP socket sends a datagram to
 * itself and receives it. After a restart the same ports must answer. (Connections are not
 * restored: each one here lives within a step.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mx.h"

MX_PROGRAM("inet_listeners");

/* A listener on loopback; -1 for IPv6 on a host without it (both runs then skip it). */
static int listener(int family, struct sockaddr_storage* a, socklen_t* len) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0 && family == AF_INET6 && errno == EAFNOSUPPORT) return -1;
  MX_CHECK(fd >= 0, "socket: %s", strerror(errno));
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    struct sockaddr_in* in = (struct sockaddr_in*)a;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof *in;
    int on = 1;
    MX_CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0, "SO_REUSEADDR");
  } else {
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)a;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    *len = sizeof *in6;
    int on = 1;
    MX_CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0, "V6ONLY");
  }
  int rc = bind(fd, (struct sockaddr*)a, *len);
  if (rc != 0 && family == AF_INET6 && errno == EADDRNOTAVAIL) {
    close(fd);
    return -1;
  }
  MX_CHECK(rc == 0 && listen(fd, 8) == 0 && getsockname(fd, (struct sockaddr*)a, len) == 0,
           "listener: %s", strerror(errno));
  return fd;
}

static void echo_once(int lfd, int family, const struct sockaddr_storage* a, socklen_t len,
                      uint32_t v, int step) {
  int c = socket(family, SOCK_STREAM, 0);
  MX_CHECK(c >= 0 && connect(c, (const struct sockaddr*)a, len) == 0,
           "step %d: connect to the listener: %s", step, strerror(errno));
  int s = accept(lfd, NULL, NULL);
  MX_CHECK(s >= 0, "step %d: accept: %s", step, strerror(errno));
  uint32_t got = 0, back = 0;
  MX_CHECK(send(c, &v, sizeof v, 0) == (ssize_t)sizeof v, "send");
  MX_CHECK(recv(s, &got, sizeof got, MSG_WAITALL) == (ssize_t)sizeof got && got == v, "recv");
  MX_CHECK(send(s, &got, sizeof got, 0) == (ssize_t)sizeof got, "echo");
  MX_CHECK(recv(c, &back, sizeof back, MSG_WAITALL) == (ssize_t)sizeof back && back == v,
           "step %d: echo %u, want %u", step, back, v);
  if (family == AF_INET) {
    close(s);
    close(c);
  } else {
    close(c);
    close(s);
  }
}

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  struct sockaddr_storage a4, a6, au;
  socklen_t l4, l6, lu = sizeof au;
  int t4 = listener(AF_INET, &a4, &l4), t6 = listener(AF_INET6, &a6, &l6);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  MX_CHECK(u >= 0 && bind(u, (struct sockaddr*)&ua, sizeof ua) == 0 &&
               getsockname(u, (struct sockaddr*)&au, &lu) == 0,
           "udp: %s", strerror(errno));
  uint64_t h = MX_HASH_INIT;
  int echoes = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    uint32_t v = (uint32_t)s * 2654435761u, got = 0;
    MX_CHECK(sendto(u, &v, sizeof v, 0, (struct sockaddr*)&au, lu) == (ssize_t)sizeof v,
             "step %d: sendto: %s", s, strerror(errno));
    MX_CHECK(recv(u, &got, sizeof got, 0) == (ssize_t)sizeof got && got == v,
             "step %d: datagram %u, want %u", s, got, v);
    h = mx_hash(h, &got, sizeof got);
    if (s % 10 == 3) {
      echo_once(t4, AF_INET, &a4, l4, v, s);
      ++echoes;
      if (t6 >= 0) echo_once(t6, AF_INET6, &a6, l6, v + 1, s);
    }
    mx_step_sleep();
  }
  printf("inet listeners: %d echoes (IPv6 %s), %d datagrams, hash %016llx\n", echoes,
         t6 >= 0 ? "too" : "absent", MX_STEPS, (unsigned long long)h);
  return 0;
}
