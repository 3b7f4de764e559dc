// See socket.h.
#include "transparent/objects/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <set>
#include <tuple>

#include "common/log.h"
#include "transparent/objects/event_objects.h"
#include "transparent/objects/tcp.h"

namespace cairn::transparent::objects {
namespace {

constexpr uint32_t kRcvShutdown = 1, kSendShutdown = 2;          // the kernel's sk_shutdown bits
constexpr int kTcpEstablished = 1, kTcpListen = 10;              // sock_diag states
constexpr uint32_t kV6Only = 1, kReuseAddr = 2, kReusePort = 4;  // SocketState::options

struct Diag {
  uint64_t peer = 0;
  uint32_t state = 0;
  uint32_t shutdown = 0;
  uint32_t backlog = 0;
};

// One NETLINK_SOCK_DIAG query for the AF_UNIX socket with inode `ino`.
Result<Diag> QueryDiag(uint64_t ino) {
  unix_diag_req req{};
  req.sdiag_family = AF_UNIX;
  req.udiag_states = ~0u;
  req.udiag_ino = static_cast<uint32_t>(ino);
  req.udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
  req.udiag_cookie[0] = req.udiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE
  auto answer = SockDiag(req);
  if (!answer.ok()) return answer.status();
  const std::string& a = answer.value();
  if (a.size() < sizeof(unix_diag_msg)) return Status::IOError("short sock_diag answer");
  auto* m = reinterpret_cast<const unix_diag_msg*>(a.data());
  Diag d;
  d.state = m->udiag_state;
  int len = static_cast<int>(a.size() - NLMSG_ALIGN(sizeof *m));
  auto* at = reinterpret_cast<rtattr*>(const_cast<char*>(a.data()) + NLMSG_ALIGN(sizeof *m));
  for (; RTA_OK(at, len); at = RTA_NEXT(at, len)) {
    if (at->rta_type == UNIX_DIAG_PEER) {
      d.peer = *static_cast<uint32_t*>(RTA_DATA(at));
    } else if (at->rta_type == UNIX_DIAG_SHUTDOWN) {
      d.shutdown = *static_cast<uint8_t*>(RTA_DATA(at));
    } else if (at->rta_type == UNIX_DIAG_RQLEN) {
      d.backlog = static_cast<unix_diag_rqlen*>(RTA_DATA(at))->udiag_wqueue;
    }
  }
  return d;
}

// sockaddr_un for a saved name ("" = unnamed); *len set to its length.
sockaddr_un Address(const std::string& name, socklen_t* len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), std::min(name.size(), sizeof a.sun_path));
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  return a;
}

// Sends `data` through `fd`, whole (a datagram in one send).
Status SendAll(int fd, const std::string& data, bool stream) {
  size_t done = 0;
  bool first = true;
  while (first || done < data.size()) {
    iovec iov{const_cast<char*>(data.data() + done), data.size() - done};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t w = ::sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::FromErrno("sending queued data back", errno);
    first = false;
    done += static_cast<size_t>(w);
    if (!stream) break;  // a datagram goes whole or not at all
  }
  return Status::Ok();
}

// Copies every message waiting on `fd` without taking it off the queue: MSG_PEEK with the
// socket's peek offset (SO_PEEK_OFF) walking the queue, the program's own offset put back
// after. A stream's bytes come in chunks. Descriptors passed in flight (SCM_RIGHTS) that the
// peek installs are closed again; *passed_fds counts them.
// `ended`: the socket can no longer receive more (shut down), so an empty read may be the end
// of the queue rather than an empty message: a seqpacket queue's byte count (SIOCINQ) tells
// them apart; for a datagram socket the first empty message ends the copy.
std::vector<std::string> PeekQueue(int fd, uint32_t type, bool ended, size_t* passed_fds) {
  const bool stream = type == SOCK_STREAM;
  int inq = 0;
  if (type == SOCK_SEQPACKET && ::ioctl(fd, SIOCINQ, &inq) != 0) inq = 0;
  size_t peeked = 0;
  std::vector<std::string> out;
  int old_off = -1;
  socklen_t len = sizeof old_off;
  (void)::getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old_off, &len);
  int zero = 0;
  if (::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) != 0) {
    log::Warn("preload: fd ", fd, ": SO_PEEK_OFF: ", std::strerror(errno),
              "; its queued data is not in the image");
    return out;
  }
  // One peek per chunk: with MSG_TRUNC a datagram peek says the bytes left of the datagram
  // at the offset, so a datagram larger than the buffer is read on by the next peeks.
  std::string buf(256 * 1024, '\0');
  std::string partial;  // a datagram read so far
  for (size_t guard = 0; guard < (1u << 22); ++guard) {
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 253)];
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    const int flags = MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (stream ? 0 : MSG_TRUNC);
    ssize_t n = ::recvmsg(fd, &mh, flags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (n == 0 && (stream || (ended && peeked >= static_cast<size_t>(inq))))) {
      break;  // empty (EAGAIN), or the end
    }
    peeked += static_cast<size_t>(n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* p = reinterpret_cast<const int*>(CMSG_DATA(c));
      for (size_t i = 0; i < k; ++i) ::close(p[i]);
      *passed_fds += k;
    }
    const size_t copied = std::min(static_cast<size_t>(n), buf.size());
    if (stream) {
      out.emplace_back(buf.data(), copied);
      continue;
    }
    partial.append(buf.data(), copied);
    if (static_cast<size_t>(n) > copied) continue;  // more of this datagram
    out.push_back(std::move(partial));
    partial.clear();
  }
  (void)::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old_off, sizeof old_off);
  return out;
}

int SockType(uint32_t type) { return static_cast<int>(type) | SOCK_CLOEXEC; }

// An internet socket: its bound address and options; listening (with TCP_INFO's backlog) or
// connected (kUnnamedPeer; a TCP connection's peer address, tcp.h).
Status CaptureInet(int fd, SocketState* k) {
  sockaddr_storage a{};
  socklen_t alen = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0) {
    return Status::FromErrno("getsockname", errno);
  }
  k->name.assign(reinterpret_cast<const char*>(&a), alen);
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v != 0) {
    k->listening = true;
    tcp_info ti{};
    socklen_t tlen = sizeof ti;
    if (k->type == SOCK_STREAM && ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0) {
      k->backlog = ti.tcpi_sacked;  // for a listener: the accept queue's limit
    }
  } else {
    sockaddr_storage p{};
    socklen_t plen = sizeof p;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &plen) == 0) {
      k->peer = SocketState::kUnnamedPeer;
      if (k->type == SOCK_STREAM) CAIRN_RETURN_IF_ERROR(CaptureTcp(fd, k));
    } else if (k->type == SOCK_STREAM && TcpConnectUnderWay(fd)) {
      k->peer = SocketState::kUnnamedPeer;  // not restored (tcp.h)
    }
  }
  auto flag = [&](int level, int opt, uint32_t bit) {
    int on = 0;
    socklen_t l = sizeof on;
    if (::getsockopt(fd, level, opt, &on, &l) == 0 && on != 0) k->options |= bit;
  };
  if (k->family == AF_INET6) flag(IPPROTO_IPV6, IPV6_V6ONLY, kV6Only);
  flag(SOL_SOCKET, SO_REUSEADDR, kReuseAddr);
  flag(SOL_SOCKET, SO_REUSEPORT, kReusePort);
  return Status::Ok();
}

// bind(), waiting up to 2 s while the address is in use: the process this image was taken
// from may still be dying (its descriptors close in order, the lineage lock before them).
int BindPatiently(int fd, const sockaddr* a, socklen_t len) {
  for (int tries = 0;; ++tries) {
    if (::bind(fd, a, len) == 0) return 0;
    if (errno != EADDRINUSE || tries >= 100) return -1;
    ::usleep(20 * 1000);
  }
}

// The last step of re-creating a socket alone: listen() with the saved backlog if it listened;
// on any failure (`st` or listen's) the descriptor is closed and the error returned.
Result<int> Finish(int fd, const SocketState& k, Status st) {
  if (st.ok() && k.listening &&
      ::listen(fd, static_cast<int>(k.backlog == 0 ? SOMAXCONN : k.backlog)) != 0) {
    st = Status::FromErrno("listen", errno);
  }
  if (!st.ok()) {
    ::close(fd);
    return st;
  }
  return fd;
}

}  // namespace

Result<std::string> SockDiagMessage(const void* request, size_t len) {
  const int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return Status::FromErrno("socket(NETLINK_SOCK_DIAG)", errno);
  alignas(nlmsghdr) char buf[8192];
  ssize_t n = -1;
  if (::send(nl, request, len, 0) == static_cast<ssize_t>(len)) {
    do {
      n = ::recv(nl, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
  }
  const int e = errno;
  ::close(nl);
  if (n < 0) return Status::FromErrno("sock_diag query", e);
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  if (!NLMSG_OK(h, static_cast<unsigned>(n))) return Status::IOError("short sock_diag answer");
  if (h->nlmsg_type == NLMSG_ERROR) {
    auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
    return Status::FromErrno("sock_diag query", -err->error);
  }
  return std::string(static_cast<const char*>(NLMSG_DATA(h)), h->nlmsg_len - NLMSG_LENGTH(0));
}

// Sends f's saved queue through `via`, its peer's new end, so that f's new end holds it.
Status Refill(int via, const FileState& f) {
  size_t total = 0;
  for (const std::string& m : f.socket.queued) total += m.size() + 512;  // + skb overhead
  if (total > 64 * 1024) {  // room for it all in the sender's buffer (FORCE needs privilege)
    int want = static_cast<int>(std::min<size_t>(total * 2, 1u << 30));
    if (::setsockopt(via, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) != 0) {
      (void)::setsockopt(via, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    }
  }
  for (const std::string& m : f.socket.queued) {
    Status st = SendAll(via, m, f.socket.type == SOCK_STREAM);
    if (!st.ok()) return st.Annotate("fd " + std::to_string(f.fd));
  }
  return Status::Ok();
}

const FileState* FindSocket(const std::vector<FileState>& files, uint64_t id) {
  for (const FileState& f : files) {
    if (f.kind == FileKind::kSocket && f.socket.family == AF_UNIX && f.socket.id == id) return &f;
  }
  return nullptr;
}

bool IsPeer(const FileState& a, const FileState& b) {
  if (a.kind != FileKind::kSocket || b.kind != FileKind::kSocket) return false;
  if (a.socket.family != AF_UNIX) return IsTcpPair(a, b);
  return b.socket.family == AF_UNIX && a.socket.peer != 0 && a.socket.peer == b.socket.id &&
         b.socket.peer == a.socket.id && a.socket.type == b.socket.type;
}

const FileState* FindPeer(const std::vector<FileState>& files, const FileState& f) {
  for (const FileState& g : files) {
    if (IsPeer(f, g)) return &g;
  }
  return nullptr;
}

// "127.0.0.1:8080", "[::1]:8080" for a saved internet sockaddr.
std::string InetAddress(const std::string& raw) {
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (raw.size() >= sizeof(sockaddr_in6) &&
      reinterpret_cast<const sockaddr*>(raw.data())->sa_family == AF_INET6) {
    sockaddr_in6 a;
    std::memcpy(&a, raw.data(), sizeof a);
    ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  if (raw.size() >= sizeof(sockaddr_in)) {
    sockaddr_in a;
    std::memcpy(&a, raw.data(), sizeof a);
    ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    port = ntohs(a.sin_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

std::string SocketSummary(const FileState& f) {
  const SocketState& k = f.socket;
  if (k.family == AF_INET || k.family == AF_INET6) {
    std::string out = std::string(k.type == SOCK_STREAM ? "tcp" : "udp") +
                      (k.family == AF_INET6 ? "6 " : " ") + InetAddress(k.name);
    if (k.listening) return out + ", listening (backlog " + std::to_string(k.backlog) + ")";
    if (!k.peer_name.empty()) {
      size_t bytes = 0;
      for (const std::string& m : k.queued) bytes += m.size();
      return out + ", connected to " + InetAddress(k.peer_name) +
             (bytes != 0 ? ", " + std::to_string(bytes) + " bytes queued" : "") +
             (k.shutdown != 0 ? ", shut down " + std::to_string(k.shutdown) : "");
    }
    return out + (k.peer != 0 ? ", connected (not restored)" : "");
  }
  if (k.family != AF_UNIX) return "family " + std::to_string(k.family) + ", not restored";
  const char* type = k.type == SOCK_STREAM      ? "stream"
                     : k.type == SOCK_DGRAM     ? "datagram"
                     : k.type == SOCK_SEQPACKET ? "seqpacket"
                                                : "?";
  std::string out = std::string("unix ") + type;
  if (!k.name.empty()) {
    out += ", name " + (k.name[0] == '\0' ? "@" + k.name.substr(1) : k.name);
  }
  if (k.listening) out += ", listening (backlog " + std::to_string(k.backlog) + ")";
  if (k.peer != 0) out += ", peer socket:[" + std::to_string(k.peer) + "]";
  size_t bytes = 0;
  for (const std::string& m : k.queued) bytes += m.size();
  if (!k.queued.empty()) {
    out += ", " + std::to_string(bytes) + " bytes in " + std::to_string(k.queued.size()) +
           (k.type == SOCK_STREAM ? " chunks" : " messages") + " queued";
  }
  if (k.shutdown != 0) out += ", shut down " + std::to_string(k.shutdown);
  return out;
}

Status CaptureSocket(int fd, FileState* f) {
  SocketState& k = f->socket;
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0) {
    return Status::FromErrno("getsockopt(SO_DOMAIN)", errno);
  }
  k.family = static_cast<uint32_t>(v);
  len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0) {
    return Status::FromErrno("getsockopt(SO_TYPE)", errno);
  }
  k.type = static_cast<uint32_t>(v);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("fstat", errno);
  k.id = st.st_ino;
  if (k.family == AF_INET || k.family == AF_INET6) return CaptureInet(fd, &k);
  if (k.family != AF_UNIX) {
    k.id = 0;
    return Status::Ok();
  }
  sockaddr_un a{};
  socklen_t alen = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0 &&
      alen > offsetof(sockaddr_un, sun_path)) {
    k.name.assign(a.sun_path, alen - offsetof(sockaddr_un, sun_path));
    if (!k.name.empty() && k.name[0] != '\0') k.name.resize(std::strlen(k.name.c_str()));
  }
  auto d = QueryDiag(k.id);
  if (!d.ok()) return d.status();
  k.peer = d.value().peer;
  // Connected to a socket that has no inode yet (a connection its server has not accepted):
  // a peer that cannot be in the image.
  if (k.peer == 0 && d.value().state == kTcpEstablished) k.peer = SocketState::kUnnamedPeer;
  k.shutdown = d.value().shutdown & 3u;
  k.listening = d.value().state == kTcpListen;
  if (k.listening) k.backlog = d.value().backlog;
  return Status::Ok();
}

void SaveSocketQueues(std::vector<FileState>* files, bool peers_elsewhere) {
  std::set<uint64_t> done;
  for (FileState& f : *files) {
    SocketState& k = f.socket;
    if (f.kind == FileKind::kSocket && !k.peer_name.empty() && done.insert(k.id).second &&
        (peers_elsewhere || FindPeer(*files, f) != nullptr)) {
      k.queued = PeekTcpQueue(f.fd);  // a TCP connection (tcp.h)
      continue;
    }
    if (f.kind != FileKind::kSocket || k.family != AF_UNIX || k.peer == 0) continue;
    if (!done.insert(k.id).second) continue;  // a dup of a socket already seen
    const FileState* peer = FindSocket(*files, k.peer);
    if (peer == nullptr && !peers_elsewhere) continue;  // the other end is outside
    const bool ended = (k.shutdown & kRcvShutdown) != 0 ||
                       (peer != nullptr && (peer->socket.shutdown & kSendShutdown) != 0);
    size_t passed = 0;
    k.queued = PeekQueue(f.fd, k.type, ended, &passed);
    if (passed != 0) {
      log::Warn("preload: fd ", f.fd, ": ", passed,
                " descriptors in flight (SCM_RIGHTS) are not in the image");
    }
  }
}

const FileState* FindListener(const std::vector<FileState>& files, const FileState& f) {
  for (const FileState& g : files) {
    if (IsPendingOn(f, g)) return &g;
  }
  return nullptr;
}

SocketRestore Restorable(const FileState& f, const std::vector<FileState>& files) {
  const SocketState& k = f.socket;
  if (f.kind != FileKind::kSocket) return SocketRestore::kNone;
  if (k.family == AF_INET || k.family == AF_INET6) {
    if (k.listening) return SocketRestore::kListener;
    if (FindPeer(files, f) != nullptr) return SocketRestore::kPair;  // a TCP connection
    if (k.peer == 0) return SocketRestore::kUnbound;
    return FindListener(files, f) != nullptr ? SocketRestore::kPending : SocketRestore::kNone;
  }
  if (k.family != AF_UNIX) return SocketRestore::kNone;
  if (k.listening) return SocketRestore::kListener;
  if (k.peer == 0) return SocketRestore::kUnbound;
  return FindPeer(files, f) != nullptr ? SocketRestore::kPair : SocketRestore::kNone;
}

Result<std::pair<int, int>> RestorePair(const FileState& a, const FileState& b, int min_fd) {
  if (a.socket.family != AF_UNIX) {
    std::string note;
    auto ends = RestoreTcpPair(a, b, min_fd, &note);
    if (ends.ok() && !note.empty()) log::Info("restart: ", SocketSummary(a), ": ", note);
    return ends;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SockType(a.socket.type), 0, sv) != 0) {
    return Status::FromErrno("socketpair", errno);
  }
  auto x = MoveAbove(sv[0], min_fd, "socketpair");
  auto y = MoveAbove(sv[1], min_fd, "socketpair");
  if (!x.ok() || !y.ok()) {
    if (x.ok()) ::close(x.value());
    if (y.ok()) ::close(y.value());
    return x.ok() ? y.status() : x.status();
  }
  Status st = Refill(y.value(), a);  // a's queue is what b sent it
  if (st.ok()) st = Refill(x.value(), b);
  for (auto [fd, s] : {std::pair{x.value(), &a.socket}, std::pair{y.value(), &b.socket}}) {
    if (st.ok() && (s->shutdown & kSendShutdown) != 0 && ::shutdown(fd, SHUT_WR) != 0) {
      st = Status::FromErrno("shutdown(SHUT_WR)", errno);
    }
  }
  for (auto [fd, s, other] :
       {std::tuple{x.value(), &a.socket, &b.socket}, std::tuple{y.value(), &b.socket, &a.socket}}) {
    if (st.ok() && (s->shutdown & kRcvShutdown) != 0 && (other->shutdown & kSendShutdown) == 0 &&
        ::shutdown(fd, SHUT_RD) != 0) {
      st = Status::FromErrno("shutdown(SHUT_RD)", errno);
    }
  }
  if (!st.ok()) {
    ::close(x.value());
    ::close(y.value());
    return st;
  }
  return std::pair{x.value(), y.value()};
}

uint16_t InetPort(const std::string& raw) {
  if (raw.size() < sizeof(sockaddr_in)) return 0;
  sockaddr_in a{};
  std::memcpy(&a, raw.data(), sizeof a);  // sin_port and sin6_port share their offset
  return ntohs(a.sin_port);
}

// An internet listener, or an unconnected socket (bound to its address again if it was).
static Result<int> RestoreInet(const FileState& f, int min_fd) {
  const SocketState& k = f.socket;
  auto placed =
      MoveAbove(::socket(static_cast<int>(k.family), SockType(k.type), 0), min_fd, "socket");
  if (!placed.ok()) return placed.status();
  const int fd = placed.value();
  auto set = [&](int level, int opt, bool on) {
    int v = on ? 1 : 0;
    return ::setsockopt(fd, level, opt, &v, sizeof v) == 0;
  };
  Status st;
  // SO_REUSEADDR always for a listener: the dead process's connections may hold the port
  // in TIME_WAIT; then the program's own setting.
  if (!set(SOL_SOCKET, SO_REUSEADDR, true) ||
      ((k.options & kReusePort) != 0 && !set(SOL_SOCKET, SO_REUSEPORT, true)) ||
      (k.family == AF_INET6 && !set(IPPROTO_IPV6, IPV6_V6ONLY, (k.options & kV6Only) != 0))) {
    st = Status::FromErrno("setsockopt", errno);
  }
  if (st.ok() && InetPort(k.name) != 0 &&
      BindPatiently(fd, reinterpret_cast<const sockaddr*>(k.name.data()),
                    static_cast<socklen_t>(k.name.size())) != 0) {
    const int e = errno;
    st = Status::FromErrno("bind to " + SocketSummary(f), e);
    if (e == EADDRINUSE && k.listening && (k.options & kReuseAddr) == 0) {
      st = st.Annotate(
          "(the program did not set SO_REUSEADDR, so connections it closed first "
          "hold the port in TIME_WAIT for up to a minute)");
    }
  }
  if (st.ok() && (k.options & kReuseAddr) == 0 && !k.listening) {
    (void)set(SOL_SOCKET, SO_REUSEADDR, false);
  }
  return Finish(fd, k, st);
}

Result<int> RestoreAlone(const FileState& f, int min_fd) {
  const SocketState& k = f.socket;
  if (k.family != AF_UNIX) return RestoreInet(f, min_fd);
  auto placed = MoveAbove(::socket(AF_UNIX, SockType(k.type), 0), min_fd, "socket(AF_UNIX)");
  if (!placed.ok()) return placed.status();
  const int fd = placed.value();
  Status st;
  if (!k.name.empty()) {
    if (k.name[0] != '\0') {
      struct stat old;
      if (::lstat(k.name.c_str(), &old) == 0 && S_ISSOCK(old.st_mode)) {
        (void)::unlink(k.name.c_str());  // the dead process's socket file
      }
      if (k.name[0] != '/') {
        log::Warn("transparent: fd ", f.fd, ": socket name '", k.name,
                  "' is relative; bound again relative to the restart's directory");
      }
    }
    socklen_t len = 0;
    sockaddr_un a = Address(k.name, &len);
    if (BindPatiently(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
      st = Status::FromErrno(
          "bind to '" + (k.name[0] == '\0' ? "@" + k.name.substr(1) : k.name) + "'", errno);
    }
  }
  return Finish(fd, k, st);
}

}  // namespace cairn::transparent::objects
