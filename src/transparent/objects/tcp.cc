// See tcp.h.
#include "transparent/objects/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/clock.h"
#include "common/log.h"
#include "env/env.h"
#include "ipc/message.h"
#include "ipc/tcp.h"
#include "transparent/objects/event_objects.h"
#include "transparent/objects/socket.h"
#include "transparent/procfs.h"

namespace cairn::transparent::objects {
namespace {

constexpr uint32_t kRcvShutdown = 1, kSendShutdown = 2;  // as SocketState::shutdown
// The kernel's TCP states (include/net/tcp_states.h).
enum : uint8_t {
  kEstablished = 1,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kTimeWait = 6,
  kClose = 7,  // never connected, or done
  kCloseWait = 8,
  kLastAck = 9,
  kClosing = 11,
};
constexpr int kWaitMs = 2000;  // every wait of a connection's re-creation

bool IsConnectedTcp(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || (v != AF_INET && v != AF_INET6)) {
    return false;
  }
  len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_STREAM) return false;
  sockaddr_storage p{};
  socklen_t plen = sizeof p;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &plen) == 0;
}

// "tcp 127.0.0.1:40000 -> 127.0.0.1:8080" for descriptor `fd`.
std::string Connection(int fd) {
  sockaddr_storage l{}, p{};
  socklen_t ll = sizeof l, pl = sizeof p;
  (void)::getsockname(fd, reinterpret_cast<sockaddr*>(&l), &ll);
  (void)::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &pl);
  return "fd " + std::to_string(fd) + " (tcp " +
         InetAddress(std::string(reinterpret_cast<const char*>(&l), ll)) + " -> " +
         InetAddress(std::string(reinterpret_cast<const char*>(&p), pl)) + ")";
}

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
  }
  return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
         reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
}

// Whether the peer of `fd` is on this host (loopback, or an address of one of its interfaces).
bool PeerIsLocal(int fd) {
  sockaddr_storage p{};
  socklen_t pl = sizeof p;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &pl) != 0) return false;
  if (p.ss_family == AF_INET &&
      (ntohl(reinterpret_cast<const sockaddr_in&>(p).sin_addr.s_addr) >> 24) == 127) {
    return true;
  }
  if (p.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(p).sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127) return true;
  }
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return true;  // cannot tell: assume the peer may be in the job
  bool local = false;
  for (ifaddrs* i = list; i != nullptr && !local; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != p.ss_family) continue;
    sockaddr_storage mine{};
    std::memcpy(&mine, i->ifa_addr,
                p.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    local = SameHost(mine, p);
  }
  ::freeifaddrs(list);
  return local;
}

int Unsent(int fd) {
  int n = 0;
  return ::ioctl(fd, SIOCOUTQ, &n) == 0 ? n : 0;
}

const sockaddr* Sa(const std::string& raw) { return reinterpret_cast<const sockaddr*>(raw.data()); }

// The loopback address of `family`, port 0.
std::string Loopback(uint32_t family) {
  sockaddr_storage a{};
  if (family == AF_INET6) {
    auto& s = reinterpret_cast<sockaddr_in6&>(a);
    s.sin6_family = AF_INET6;
    s.sin6_addr = in6addr_loopback;
    return std::string(reinterpret_cast<const char*>(&s), sizeof s);
  }
  auto& s = reinterpret_cast<sockaddr_in&>(a);
  s.sin_family = AF_INET;
  s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return std::string(reinterpret_cast<const char*>(&s), sizeof s);
}

int NewSocket(uint32_t family) {
  int fd = ::socket(static_cast<int>(family), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int on = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  return fd;
}

bool WaitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, kWaitMs);
    if (r < 0 && errno == EINTR) continue;
    return r == 1 && (p.revents & events) != 0;
  }
}

// connect() of the non-blocking socket `c` to `to`, waiting at most kWaitMs for it to be
// established; false with errno set when it is not.
bool ConnectAndWait(int c, const sockaddr* to, socklen_t len) {
  if (::connect(c, to, len) != 0 && errno != EINPROGRESS) return false;
  if (!WaitFor(c, POLLOUT)) {
    errno = ETIMEDOUT;
    return false;
  }
  int err = 0;
  socklen_t el = sizeof err;
  if (::getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) != 0) return false;
  if (err != 0) {
    errno = err;
    return false;
  }
  return true;
}

// A connection from `from` to `to` (raw sockaddrs, port 0 for any): the connecting end and the
// accepted end, both non-blocking and FD_CLOEXEC. The accepted end is checked to be ours.
Result<std::pair<int, int>> Connect(uint32_t family, const std::string& from,
                                    const std::string& to) {
  int l = NewSocket(family);
  int c = NewSocket(family);
  int s = -1;
  auto fail = [&](const std::string& what) {
    Status st = Status::FromErrno(what, errno);
    for (int fd : {l, c, s}) {
      if (fd >= 0) ::close(fd);
    }
    return st;
  };
  if (l < 0 || c < 0) return fail("socket");
  if (::bind(l, Sa(to), static_cast<socklen_t>(to.size())) != 0) return fail("bind (listener)");
  if (::listen(l, 4) != 0) return fail("listen");
  sockaddr_storage there{};
  socklen_t tl = sizeof there;
  if (::getsockname(l, reinterpret_cast<sockaddr*>(&there), &tl) != 0) return fail("getsockname");
  if (::bind(c, Sa(from), static_cast<socklen_t>(from.size())) != 0) return fail("bind");
  if (!ConnectAndWait(c, reinterpret_cast<sockaddr*>(&there), tl)) return fail("connect");
  sockaddr_storage here{};
  socklen_t hl = sizeof here;
  if (::getsockname(c, reinterpret_cast<sockaddr*>(&here), &hl) != 0) return fail("getsockname");
  for (;;) {  // another program may connect to the listener meanwhile: only ours is taken
    if (!WaitFor(l, POLLIN)) {
      errno = ETIMEDOUT;
      return fail("accept");
    }
    sockaddr_storage who{};
    socklen_t wl = sizeof who;
    s = ::accept4(l, reinterpret_cast<sockaddr*>(&who), &wl, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (s < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (s < 0) return fail("accept");
    if (wl == hl && std::memcmp(&who, &here, hl) == 0) break;
    ::close(s);
    s = -1;
  }
  ::close(l);
  return std::pair{c, s};
}

// The saved options of end `fd` (saved as `me`): TCP_NODELAY, SO_KEEPALIVE.
Status SetTcpOptions(int fd, const FileState& me) {
  int on = 1;
  if ((me.socket.options & kTcpNoDelay) != 0 &&
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    return Status::FromErrno("setsockopt(TCP_NODELAY)", errno);
  }
  if ((me.socket.options & kTcpKeepAlive) != 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0) {
    return Status::FromErrno("setsockopt(SO_KEEPALIVE)", errno);
  }
  return Status::Ok();
}

// The saved data and options of end `fd` (saved as `me`), whose peer's new end is `peer`.
Status Settle(int fd, const FileState& me, int peer) {
  CAIRN_RETURN_IF_ERROR(Refill(peer, me));  // (socket.h)
  return SetTcpOptions(fd, me);
}

}  // namespace

Status CaptureTcp(int fd, SocketState* k) {
  sockaddr_storage p{};
  socklen_t plen = sizeof p;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &plen) != 0) {
    return Status::FromErrno("getpeername", errno);
  }
  k->peer = SocketState::kUnnamedPeer;
  k->peer_name.assign(reinterpret_cast<const char*>(&p), plen);
  int on = 0;
  socklen_t len = sizeof on;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 && on != 0) {
    k->options |= kTcpNoDelay;
  }
  len = sizeof on;
  if (::getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len) == 0 && on != 0) {
    k->options |= kTcpKeepAlive;
  }
  uint64_t sent = 0;
  if (!TcpBytesSent(fd, &sent) || sent > 0) k->options |= kTcpSentData;
  tcp_info ti{};
  socklen_t tlen = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0) {
    switch (ti.tcpi_state) {
      case kFinWait1:
      case kFinWait2:
        k->shutdown = kSendShutdown;
        break;
      case kCloseWait:
        k->shutdown = kRcvShutdown;
        break;
      case kLastAck:
      case kClosing:
      case kTimeWait:
        k->shutdown = kSendShutdown | kRcvShutdown;
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

bool TcpConnectUnderWay(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state != kClose;
}

std::vector<std::string> PeekTcpQueue(int fd) {
  std::vector<std::string> out;
  int inq = 0;
  if (::ioctl(fd, SIOCINQ, &inq) != 0 || inq <= 0) return out;
  std::string buf(static_cast<size_t>(inq), '\0');
  ssize_t n;
  do {
    n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    log::Warn("preload: ", Connection(fd),
              ": cannot copy its receive queue: ", std::strerror(errno),
              "; its queued bytes are not in the image");
    return out;
  }
  buf.resize(static_cast<size_t>(n));
  out.push_back(std::move(buf));
  return out;
}

uint64_t PeerSocketInode(int fd) {
  sockaddr_storage l{}, p{};
  socklen_t ll = sizeof l, pl = sizeof p;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&l), &ll) != 0 ||
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &pl) != 0 || l.ss_family != p.ss_family ||
      (l.ss_family != AF_INET && l.ss_family != AF_INET6)) {
    return 0;
  }
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<uint8_t>(l.ss_family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = ~0u;
  inet_diag_sockid& id = req.id;  // the peer's end: its address is the source
  if (l.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(l);
    const auto& b = reinterpret_cast<const sockaddr_in&>(p);
    id.idiag_sport = b.sin_port;
    id.idiag_dport = a.sin_port;
    id.idiag_src[0] = b.sin_addr.s_addr;
    id.idiag_dst[0] = a.sin_addr.s_addr;
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(l);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(p);
    id.idiag_sport = b.sin6_port;
    id.idiag_dport = a.sin6_port;
    std::memcpy(id.idiag_src, &b.sin6_addr, 16);
    std::memcpy(id.idiag_dst, &a.sin6_addr, 16);
  }
  id.idiag_cookie[0] = id.idiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE
  auto answer = SockDiag(req);                    // (socket.h)
  if (!answer.ok() || answer.value().size() < sizeof(inet_diag_msg)) return 0;
  inet_diag_msg m;
  std::memcpy(&m, answer.value().data(), sizeof m);
  return m.idiag_inode;
}

namespace {

// Whether a process of the tree of `root` has socket `inode` open.
bool TreeHoldsSocket(long root, uint64_t inode) {
  const std::string link = "socket:[" + std::to_string(inode) + "]";
  for (long pid : ProcessTree(root)) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    auto fds = Env::Default()->ListDir(dir);
    if (!fds.ok()) continue;
    for (const std::string& fd : fds.value()) {
      char target[64];
      const ssize_t n = ::readlink((dir + "/" + fd).c_str(), target, sizeof target);
      if (n > 0 && std::string_view(target, static_cast<size_t>(n)) == link) return true;
    }
  }
  return false;
}

}  // namespace

Status DrainTcpSends(int timeout_ms, long job_root, const std::string& job_hosts) {
  std::vector<int> fds;
  auto names = Env::Default()->ListDir("/proc/self/fd");  // (the listing's own is closed after)
  for (const std::string& name : names.ok() ? names.value() : std::vector<std::string>()) {
    const int fd = std::atoi(name.c_str());
    if (IsConnectedTcp(fd)) fds.push_back(fd);
  }
  const int64_t deadline = NowMs() + timeout_ms;
  for (int delay_us = 200;; delay_us = std::min(delay_us * 2, 20000)) {
    std::vector<int> waiting;
    for (int fd : fds) {
      if (Unsent(fd) > 0) waiting.push_back(fd);
    }
    fds.swap(waiting);
    if (fds.empty()) return Status::Ok();
    if (NowMs() >= deadline) break;
    ::usleep(static_cast<useconds_t>(delay_us));
  }
  for (int fd : fds) {
    const std::string what = Connection(fd) + ": " + std::to_string(Unsent(fd)) +
                             " bytes sent but not acknowledged by the peer";
    bool in_job = false;
    if (job_root > 0) {
      const uint64_t peer = PeerSocketInode(fd);
      in_job = peer != 0 && TreeHoldsSocket(job_root, peer);
    } else {
      in_job = PeerIsLocal(fd);
    }
    if (!in_job && !job_hosts.empty()) {  // a node of a job spread over several (node_agent.h)
      const std::string peer = ipc::PeerAddress(fd);
      for (const std::string& h : ipc::SplitFields(job_hosts, ',')) in_job |= h == peer;
    }
    if (in_job) {
      return Status::FailedPrecondition(what + " after " + std::to_string(timeout_ms) +
                                        " ms (the peer does not read them); a checkpoint now "
                                        "could lose them");
    }
    log::Info("preload: ", what, " (a peer outside the job: the connection is not restored)");
  }
  return Status::Ok();
}

bool IsTcpPair(const FileState& a, const FileState& b) {
  const SocketState& x = a.socket;
  const SocketState& y = b.socket;
  return a.kind == FileKind::kSocket && b.kind == FileKind::kSocket &&
         (x.family == AF_INET || x.family == AF_INET6) && x.family == y.family &&
         x.type == SOCK_STREAM && y.type == SOCK_STREAM && !x.listening && !y.listening &&
         !x.peer_name.empty() && !x.name.empty() && x.peer_name == y.name && y.peer_name == x.name;
}

Result<std::pair<int, int>> RestoreTcpPair(const FileState& a, const FileState& b, int min_fd,
                                           std::string* note) {
  auto ends = Connect(a.socket.family, a.socket.name, b.socket.name);
  if (!ends.ok()) {
    const std::string any = Loopback(a.socket.family);
    auto moved = Connect(a.socket.family, any, any);
    if (!moved.ok()) {
      return moved.status().Annotate(
          "re-creating the connection on loopback (on its own "
          "addresses: " +
          ends.status().ToString() + ")");
    }
    *note = "on new loopback addresses (its own: " + ends.status().ToString() + ")";
    ends = moved;
  }
  auto x = MoveAbove(ends.value().first, min_fd, "tcp connection");
  auto y = MoveAbove(ends.value().second, min_fd, "tcp connection");
  if (!x.ok() || !y.ok()) {
    if (x.ok()) ::close(x.value());
    if (y.ok()) ::close(y.value());
    return x.ok() ? y.status() : x.status();
  }
  Status st = Settle(x.value(), a, y.value());
  if (st.ok()) st = Settle(y.value(), b, x.value());
  for (auto [fd, s] : {std::pair{x.value(), &a.socket}, std::pair{y.value(), &b.socket}}) {
    if (st.ok() && (s->shutdown & kSendShutdown) != 0 && ::shutdown(fd, SHUT_WR) != 0) {
      st = Status::FromErrno("shutdown(SHUT_WR)", errno);
    }
  }
  if (!st.ok()) {
    ::close(x.value());
    ::close(y.value());
    return st;
  }
  // Blocking again (the caller sets the program's saved status flags).
  for (int fd : {x.value(), y.value()}) {
    (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  return std::pair{x.value(), y.value()};
}

namespace {

// Whether the address of a raw internet sockaddr is the wildcard one.
bool IsWildcard(const std::string& raw) {
  sockaddr_storage a{};
  std::memcpy(&a, raw.data(), std::min(raw.size(), sizeof a));
  if (a.ss_family == AF_INET6) {
    const in6_addr& x = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(&x);
  }
  return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
}

}  // namespace

bool IsPendingOn(const FileState& f, const FileState& listener) {
  const SocketState& c = f.socket;
  const SocketState& l = listener.socket;
  if (f.kind != FileKind::kSocket || listener.kind != FileKind::kSocket ||
      (c.family != AF_INET && c.family != AF_INET6) || c.family != l.family ||
      c.type != SOCK_STREAM || l.type != SOCK_STREAM || c.listening || !l.listening ||
      c.peer != SocketState::kUnnamedPeer || c.shutdown != 0 || !c.queued.empty() ||
      (c.options & kTcpSentData) != 0 || c.peer_name.empty() || l.name.empty()) {
    return false;
  }
  return InetPort(l.name) == InetPort(c.peer_name) && (l.name == c.peer_name || IsWildcard(l.name));
}

Result<int> RestorePending(const FileState& f, int listener_fd, int min_fd) {
  sockaddr_storage there{};
  socklen_t tl = sizeof there;
  if (::getsockname(listener_fd, reinterpret_cast<sockaddr*>(&there), &tl) != 0) {
    return Status::FromErrno("getsockname (the listener)", errno);
  }
  std::string to(reinterpret_cast<const char*>(&there), tl);
  if (IsWildcard(to)) {  // connect to the loopback address, on the listener's port
    const std::string lo = Loopback(f.socket.family);
    sockaddr_in a{};
    std::memcpy(&a, to.data(), sizeof a);
    const uint16_t port = a.sin_port;
    to = lo;
    std::memcpy(to.data() + offsetof(sockaddr_in, sin_port), &port, sizeof port);
  }
  int c = NewSocket(f.socket.family);
  if (c < 0) return Status::FromErrno("socket", errno);
  // From its own address when it is free; else from a new port.
  if (::bind(c, Sa(f.socket.name), static_cast<socklen_t>(f.socket.name.size())) != 0) {
    log::Info("restart: ", SocketSummary(f), ": its address is taken (", std::strerror(errno),
              "); connecting from a new port");
  }
  Status st;
  if (!ConnectAndWait(c, Sa(to), static_cast<socklen_t>(to.size()))) {
    const int e = errno;
    st = Status::FromErrno("connect to the listener " + InetAddress(to), e);
    if (e == ETIMEDOUT) st = st.Annotate("(its accept queue is full?)");
  }
  if (st.ok()) st = SetTcpOptions(c, f);
  if (st.ok()) (void)::fcntl(c, F_SETFL, ::fcntl(c, F_GETFL) & ~O_NONBLOCK);
  if (!st.ok()) {
    ::close(c);
    return st;
  }
  return MoveAbove(c, min_fd, "tcp connection");
}

}  // namespace cairn::transparent::objects

// ------------------------------------------------------------ connections between nodes

namespace cairn::transparent::objects {
namespace {

// A raw sockaddr of `family` for the numeric address `host` and `port`; "" when `host` is not
// an address of that family.
std::string RawAddress(uint32_t family, const std::string& host, uint16_t port) {
  sockaddr_storage a{};
  if (family == AF_INET6) {
    auto& s = reinterpret_cast<sockaddr_in6&>(a);
    s.sin6_family = AF_INET6;
    s.sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host.c_str(), &s.sin6_addr) != 1) return "";
    return std::string(reinterpret_cast<const char*>(&s), sizeof s);
  }
  auto& s = reinterpret_cast<sockaddr_in&>(a);
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &s.sin_addr) != 1) return "";
  return std::string(reinterpret_cast<const char*>(&s), sizeof s);
}

std::string NameOf(int fd, bool peer) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (rc != 0) return "";
  return std::string(reinterpret_cast<const char*>(&a), len);
}

// A new socket of f's family bound to `host` on f's own port when it is free, else on a new one.
Result<int> BoundOnNode(const FileState& f, const std::string& host) {
  const std::string same = RawAddress(f.socket.family, host, InetPort(f.socket.name));
  if (same.empty()) {
    return Status::InvalidArgument("the node address '" + host + "' is not an address of the " +
                                   "connection's family");
  }
  int fd = NewSocket(f.socket.family);
  if (fd < 0) return Status::FromErrno("socket", errno);
  if (::bind(fd, Sa(same), static_cast<socklen_t>(same.size())) == 0) return fd;
  log::Info("restart: ", SocketSummary(f), ": port ", InetPort(f.socket.name), " on ", host,
            " is taken (", std::strerror(errno), "); using a new port");
  const std::string any = RawAddress(f.socket.family, host, 0);
  if (::bind(fd, Sa(any), static_cast<socklen_t>(any.size())) == 0) return fd;
  Status st = Status::FromErrno("bind to " + host, errno);
  ::close(fd);
  return st;
}

}  // namespace

bool IsTcpConnection(const FileState& f) {
  const SocketState& k = f.socket;
  return f.kind == FileKind::kSocket && (k.family == AF_INET || k.family == AF_INET6) &&
         k.type == SOCK_STREAM && !k.listening && k.peer == SocketState::kUnnamedPeer &&
         !k.peer_name.empty() && !k.name.empty();
}

Result<int> ListenAgain(const FileState& f, const std::string& host, std::string* address) {
  auto fd = BoundOnNode(f, host);
  if (!fd.ok()) return fd.status();
  if (::listen(fd.value(), 4) != 0) {
    Status st = Status::FromErrno("listen", errno);
    ::close(fd.value());
    return st;
  }
  *address = NameOf(fd.value(), false);
  return fd.value();
}

Result<int> AcceptFrom(int listener, const std::string& from, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  for (;;) {
    const int64_t left = deadline - NowMs();
    pollfd p{listener, POLLIN, 0};
    const int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      return Status::Unavailable("the other node did not connect from " + InetAddress(from) +
                                 " within " + std::to_string(timeout_ms / 1000) + " s");
    }
    int s = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (s < 0 && (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)) continue;
    if (s < 0) return Status::FromErrno("accept", errno);
    if (NameOf(s, true) == from) return s;
    log::Warn("restart: refused a connection from ", InetAddress(NameOf(s, true)),
              " (waiting for one from ", InetAddress(from), ")");
    ::close(s);
  }
}

Result<int> ConnectFrom(const FileState& f, const std::string& host, const std::string& to,
                        std::string* from) {
  auto fd = BoundOnNode(f, host);
  if (!fd.ok()) return fd.status();
  if (!ConnectAndWait(fd.value(), Sa(to), static_cast<socklen_t>(to.size()))) {
    Status st = Status::FromErrno("connect to " + InetAddress(to), errno);
    ::close(fd.value());
    return st;
  }
  *from = NameOf(fd.value(), false);
  return fd.value();
}

Result<int> SettleRemote(int fd, const FileState& me, const std::vector<std::string>& peer_queue,
                         uint32_t peer_shutdown, int min_fd) {
  FileState peer;
  peer.kind = FileKind::kSocket;
  peer.fd = me.fd;
  peer.socket.family = me.socket.family;
  peer.socket.type = SOCK_STREAM;
  peer.socket.queued = peer_queue;
  Status st = Refill(fd, peer);  // what my peer had received and not read: I send it again
  if (st.ok()) st = SetTcpOptions(fd, me);
  if (st.ok() && (me.socket.shutdown & kSendShutdown) != 0 && ::shutdown(fd, SHUT_WR) != 0) {
    st = Status::FromErrno("shutdown(SHUT_WR)", errno);
  }
  if (st.ok() && (me.socket.shutdown & kRcvShutdown) != 0 && (peer_shutdown & kSendShutdown) == 0 &&
      ::shutdown(fd, SHUT_RD) != 0) {
    st = Status::FromErrno("shutdown(SHUT_RD)", errno);
  }
  if (!st.ok()) {
    ::close(fd);
    return st.Annotate(SocketSummary(me));
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return MoveAbove(fd, min_fd, "tcp connection");
}

}  // namespace cairn::transparent::objects
