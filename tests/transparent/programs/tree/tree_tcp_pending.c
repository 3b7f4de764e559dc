/* A connection that waits in a listener's accept queue across checkpoints, between two
 * processes: the launched process listens on 127.0.0.1 and forks a client that connects at
 * once and then waits for the server's greeting; the server accepts only after all its steps.
 * Every checkpoint therefore finds the connection not yet accepted (its server end exists in
 * no descriptor); after a restart accept() must find it again, and a greeting and its answer
 * must cross it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tree.h"

MX_PROGRAM("tree_tcp_pending");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  MX_CHECK(l >= 0 && setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0, "socket");
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  MX_CHECK(bind(l, (struct sockaddr*)&a, sizeof a) == 0 && listen(l, 4) == 0 &&
               getsockname(l, (struct sockaddr*)&a, &len) == 0,
           "listener: %s", strerror(errno));
  const pid_t client = fork();
  MX_CHECK(client >= 0, "fork");
  if (client == 0) {
    close(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    MX_CHECK(c >= 0 && connect(c, (struct sockaddr*)&a, sizeof a) == 0, "connect: %s",
             strerror(errno));
    uint64_t hello = 0;
    MX_CHECK(tr_read_all(c, &hello, sizeof hello), "client: no greeting");
    hello = ~hello;
    tr_write_all(c, &hello, sizeof hello);
    close(c);
    _exit(0);
  }
  uint64_t h = MX_HASH_INIT;
  for (int s = 0; s < MX_STEPS; ++s) {
    uint32_t x = (uint32_t)s * 2654435761u;
    h = mx_hash(h, &x, sizeof x);
    mx_step_sleep();
  }
  int s;
  do {
    s = accept(l, NULL, NULL);
  } while (s < 0 && errno == EINTR);
  MX_CHECK(s >= 0, "accept of the waiting connection: %s", strerror(errno));
  uint64_t hello = h, back = 0;
  tr_write_all(s, &hello, sizeof hello);
  MX_CHECK(tr_read_all(s, &back, sizeof back) && back == ~h, "answer %llx, want %llx",
           (unsigned long long)back, (unsigned long long)~h);
  const int st = tr_wait(client);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client status %#x", st);
  printf("tree tcp pending: accepted after the steps, hash %016llx\n", (unsigned long long)h);
  return 0;
}
