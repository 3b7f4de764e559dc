/* Socket pairs between a parent and its child: a stream pair carries numbers one way while
 * the reader lags (so bytes are queued at a checkpoint), a seqpacket pair carries one
 * answer per step back, and a datagram pair carries a final report. */
#include <sys/socket.h>

#include "tree.h"

MX_PROGRAM("tree_socketpair");

int main(int argc, char** argv) {
  (void)mx_workdir(argc, argv);
  int st_pair[2], sq_pair[2], dg_pair[2];
  MX_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, st_pair) == 0, "socketpair stream");
  MX_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq_pair) == 0, "socketpair seqpacket");
  MX_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg_pair) == 0, "socketpair dgram");
  const pid_t child = fork();
  MX_CHECK(child >= 0, "fork");
  if (child == 0) {
    close(st_pair[0]);
    close(sq_pair[0]);
    close(dg_pair[0]);
    uint64_t sum = 0, v;
    int n = 0;
    /* Reads two numbers per step, half as fast as they come: a backlog builds up. */
    while (tr_read_all(st_pair[1], &v, sizeof v)) {
      sum += v;
      if (++n % 2 == 0) {
        uint64_t answer = sum;
        MX_CHECK(send(sq_pair[1], &answer, sizeof answer, 0) == sizeof answer, "send");
        mx_step_sleep();
      }
    }
    char report[64];
    int len = snprintf(report, sizeof report, "child read %d numbers", n);
    MX_CHECK(send(dg_pair[1], report, (size_t)len, 0) == len, "send report");
    _exit(0);
  }
  close(st_pair[1]);
  close(sq_pair[1]);
  close(dg_pair[1]);
  uint64_t state = 11, sum = 0, answers = 0, last = 0;
  for (int s = 0; s < MX_STEPS; ++s) {
    for (int k = 0; k < 2; ++k) {
      uint64_t v = mx_next(&state) % 1000;
      sum += v;
      tr_write_all(st_pair[0], &v, sizeof v);
    }
    uint64_t a;
    while (recv(sq_pair[0], &a, sizeof a, MSG_DONTWAIT) == sizeof a) {
      MX_CHECK(a > last || a == 0, "answers out of order");
      last = a;
      ++answers;
    }
    mx_step_sleep();
  }
  shutdown(st_pair[0], SHUT_WR);
  uint64_t a;
  ssize_t n;
  while ((n = recv(sq_pair[0], &a, sizeof a, 0)) == sizeof a) {
    last = a;
    ++answers;
  }
  char report[64] = {0};
  MX_CHECK(recv(dg_pair[0], report, sizeof report - 1, 0) > 0, "no report");
  const int st = tr_wait(child);
  MX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  MX_CHECK(answers == MX_STEPS && last == sum, "%llu answers, last %llu, sum %llu",
           (unsigned long long)answers, (unsigned long long)last, (unsigned long long)sum);
  printf("tree_socketpair: %s, %llu answers, sum %llu\n", report, (unsigned long long)answers,
         (unsigned long long)sum);
  return 0;
}
