/* The two processes of a two-node job (tests/transparent/two_nodes.sh): a TCP server and its
 * client, each on its own node.
 *
 *   node_peer server WORKDIR PORT        listens on 0.0.0.0:PORT, accepts one connection
 *   node_peer client WORKDIR HOST PORT   connects to HOST:PORT (retried for about 10 s)
 *
 * The client sends NP_MESSAGES messages, message i a 4-byte length (network order) and a body
 * of 1..48 KiB of pseudo-random bytes, both derived from i alone, with up to NP_AHEAD messages
 * sent before their replies are read and about NP_PAUSE_MS between messages, so that bytes sit
 * in the socket queues at any moment (~5 s in all). The server reads each whole message and
 * answers with 16 bytes: i and the FNV-1a hash of the body. The client checks every answer
 * (order and hash of what it sent), then half-closes; the server ends at that end of stream
 * and closes, the client ends at the server's. Each keeps a hash of every byte it received and
 * prints one line at its end, e.g. "server: 600 messages, checksum 0123456789abcdef". Any
 * inconsistency (a wrong answer, a short message, an early end of stream, a failed call) is
 * reported on stderr with exit status 1. WORKDIR (the harness's convention) is left untouched.
 * Every call resumes after EINTR: the process may be frozen and checkpointed at any point and
 * restarted later, on other addresses. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "../mx.h"

MX_PROGRAM("node_peer");

#define NP_MESSAGES 600
#define NP_AHEAD 3
#define NP_MAX_BODY (48 * 1024)
#define NP_PAUSE_MS 8
#define NP_CONNECT_TRIES 100 /* every 100 ms: about 10 s */

static const char* role = "node_peer";

static void fail(const char* fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "node_peer %s: ", role);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  _exit(1);
}

/* Sends all of buf (short writes, EINTR). MSG_NOSIGNAL: a dead peer is an error, not SIGPIPE. */
static void send_all(int fd, const void* buf, size_t len) {
  const char* p = (const char*)buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("send: %s", n < 0 ? strerror(errno) : "sent nothing");
    p += n;
    len -= (size_t)n;
  }
}

/* Reads exactly len bytes (short reads, EINTR). Returns 0 at an end of stream before the first
 * byte; an end of stream after it fails. */
static int recv_all(int fd, void* buf, size_t len, const char* what) {
  char* p = (char*)buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, p + got, len - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("reading %s: %s", what, strerror(errno));
    if (n == 0) {
      if (got == 0) return 0;
      fail("end of stream after %zu of the %zu bytes of %s", got, len, what);
    }
    got += (size_t)n;
  }
  return 1;
}

static void set_nodelay(int fd) {
  int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    fail("TCP_NODELAY: %s", strerror(errno));
  }
}

/* Sleeps ms milliseconds, resuming after EINTR with the time left (kept within the request:
 * a remainder not filled in ends the sleep rather than stretching it). */
static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  for (;;) {
    struct timespec rem = {0, 0};
    if (nanosleep(&ts, &rem) == 0 || errno != EINTR) return;
    if (rem.tv_sec > ts.tv_sec || (rem.tv_sec == ts.tv_sec && rem.tv_nsec >= ts.tv_nsec)) return;
    ts = rem;
  }
}

static unsigned short parse_port(const char* s) {
  char* end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v <= 0 || v > 65535) fail("bad port '%s'", s);
  return (unsigned short)v;
}

/* Message i: its body length (1..NP_MAX_BODY) and its body, from i alone. */
static size_t body_len(uint32_t i) {
  uint64_t s = 0x6e6f6465ULL ^ ((uint64_t)i << 20);
  return 1 + (size_t)(mx_next(&s) % NP_MAX_BODY);
}

static void fill_body(uint32_t i, unsigned char* buf, size_t len) {
  uint64_t s = ((uint64_t)i + 1) * 0x9e3779b97f4a7c15ULL;
  for (size_t k = 0; k < len; k += 8) {
    uint64_t v = mx_next(&s);
    size_t m = len - k < 8 ? len - k : 8;
    memcpy(buf + k, &v, m);
  }
}

struct reply {
  uint64_t index, hash; /* host order: both ends are the same program on the same machine */
};

static int serve(unsigned short port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) fail("socket: %s", strerror(errno));
  int on = 1;
  if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    fail("SO_REUSEADDR: %s", strerror(errno));
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(l, (struct sockaddr*)&a, sizeof a) != 0) fail("bind port %u: %s", port, strerror(errno));
  if (listen(l, 1) != 0) fail("listen: %s", strerror(errno));
  int c;
  do {
    c = accept(l, NULL, NULL);
  } while (c < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (c < 0) fail("accept: %s", strerror(errno));
  close(l);
  set_nodelay(c);

  static unsigned char body[NP_MAX_BODY];
  uint64_t sum = MX_HASH_INIT;
  uint32_t count = 0;
  for (;;) {
    uint32_t hdr;
    if (!recv_all(c, &hdr, sizeof hdr, "a length")) break; /* the client half-closed */
    sum = mx_hash(sum, &hdr, sizeof hdr);
    const uint32_t len = ntohl(hdr);
    if (count >= NP_MESSAGES) fail("a message %u beyond the %d expected", count, NP_MESSAGES);
    if (len == 0 || len > NP_MAX_BODY) fail("message %u: bad length %u", count, len);
    if (!recv_all(c, body, len, "a body"))
      fail("end of stream before the body of message %u", count);
    sum = mx_hash(sum, body, len);
    struct reply r = {count, mx_hash(MX_HASH_INIT, body, len)};
    send_all(c, &r, sizeof r);
    ++count;
  }
  if (count != NP_MESSAGES) fail("end of stream after %u of %d messages", count, NP_MESSAGES);
  printf("server: %u messages, checksum %016llx\n", count, (unsigned long long)sum);
  fflush(stdout);
  close(c);
  return 0;
}

/* connect(), resumed after EINTR: the attempt goes on in the background, so wait until the
 * socket is writable (the attempt ended) and ask again: EISCONN is success, anything else the
 * attempt's outcome. Returns 0 or the error. */
static int connect_once(int fd, const struct sockaddr_in* a) {
  for (;;) {
    if (connect(fd, (const struct sockaddr*)a, sizeof *a) == 0) return 0;
    const int err = errno;
    if (err == EISCONN) return 0;
    if (err != EINTR && err != EALREADY && err != EINPROGRESS) return err;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (poll(&p, 1, 1000) < 0) {
      if (errno != EINTR) fail("poll: %s", strerror(errno));
    }
  }
}

/* A connected socket to host:port, the server may not listen yet: tried every 100 ms. */
static int connect_to(const char* host, unsigned short port) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo* ai = NULL;
  int gr = getaddrinfo(host, NULL, &hints, &ai);
  if (gr != 0) fail("host '%s': %s", host, gai_strerror(gr));
  struct sockaddr_in a;
  memcpy(&a, ai->ai_addr, sizeof a);
  freeaddrinfo(ai);
  a.sin_port = htons(port);
  int err = 0;
  for (int t = 0; t < NP_CONNECT_TRIES; ++t) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("socket: %s", strerror(errno));
    err = connect_once(fd, &a);
    if (err == 0) return fd;
    close(fd);
    if (err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH && err != ETIMEDOUT &&
        err != ECONNRESET && err != EADDRNOTAVAIL) {
      break;
    }
    pause_ms(100);
  }
  fail("cannot connect to %s:%u: %s", host, port, strerror(err));
}

static int client(const char* host, unsigned short port) {
  int fd = connect_to(host, port);
  set_nodelay(fd);
  static unsigned char msg[4 + NP_MAX_BODY];
  uint64_t expect[NP_AHEAD]; /* hashes of the bodies sent and not answered yet, by i % NP_AHEAD */
  uint64_t sum = MX_HASH_INIT;
  uint32_t sent = 0, answered = 0;
  while (answered < NP_MESSAGES) {
    if (sent < NP_MESSAGES && sent - answered < NP_AHEAD) {
      const size_t len = body_len(sent);
      const uint32_t hdr = htonl((uint32_t)len);
      memcpy(msg, &hdr, sizeof hdr);
      fill_body(sent, msg + 4, len);
      expect[sent % NP_AHEAD] = mx_hash(MX_HASH_INIT, msg + 4, len);
      send_all(fd, msg, 4 + len);
      ++sent;
      pause_ms(NP_PAUSE_MS);
      if (sent < NP_MESSAGES && sent - answered < NP_AHEAD) continue; /* send further ahead */
    }
    struct reply r;
    if (!recv_all(fd, &r, sizeof r, "an answer")) {
      fail("end of stream after %u answers (%u messages sent)", answered, sent);
    }
    sum = mx_hash(sum, &r, sizeof r);
    if (r.index != answered) {
      fail("answer %u is for message %llu", answered, (unsigned long long)r.index);
    }
    if (r.hash != expect[answered % NP_AHEAD]) {
      fail("answer %u: hash %016llx, sent %016llx", answered, (unsigned long long)r.hash,
           (unsigned long long)expect[answered % NP_AHEAD]);
    }
    ++answered;
  }
  /* Done: half-close, then the server's end of stream (nothing more may come). */
  while (shutdown(fd, SHUT_WR) != 0) {
    if (errno != EINTR) fail("shutdown: %s", strerror(errno));
  }
  char extra;
  if (recv_all(fd, &extra, 1, "the end of stream")) fail("bytes after the last answer");
  close(fd);
  printf("client: %u messages, checksum %016llx\n", answered, (unsigned long long)sum);
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "server") == 0) {
    role = "server";
    return serve(parse_port(argv[3]));
  }
  if (argc == 5 && strcmp(argv[1], "client") == 0) {
    role = "client";
    return client(argv[3], parse_port(argv[4]));
  }
  fprintf(stderr, "usage: %s server WORKDIR PORT | client WORKDIR HOST PORT\n", argv[0]);
  return 2;
}
