#include "ipc/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/clock.h"

namespace cairn::ipc {
namespace {

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
};

std::string HostPort(const std::string& host, int port) {
  return (host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host) +
         ":" + std::to_string(port);
}

std::string StripBrackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Numeric addresses without getaddrinfo (no resolver, no allocation surprises); names
// through getaddrinfo.
Result<std::vector<Addr>> Resolve(const std::string& host_in, int port, bool passive) {
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument("port " + std::to_string(port) + " is outside 0..65535");
  }
  const std::string host = StripBrackets(host_in);
  Addr a;
  if (IsWildcardHost(host_in) && host != "::") {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    in->sin_addr.s_addr = htonl(passive ? INADDR_ANY : INADDR_LOOPBACK);
    a.len = sizeof(sockaddr_in);
    return std::vector<Addr>{a};
  }
  {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(static_cast<uint16_t>(port));
      a.len = sizeof(sockaddr_in);
      return std::vector<Addr>{a};
    }
  }
  {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<uint16_t>(port));
      a.len = sizeof(sockaddr_in6);
      return std::vector<Addr>{a};
    }
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::InvalidArgument("cannot resolve host '" + host + "': " + ::gai_strerror(rc));
  }
  std::vector<Addr> out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    if (p->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Addr x;
    std::memcpy(&x.ss, p->ai_addr, p->ai_addrlen);
    x.len = p->ai_addrlen;
    out.push_back(x);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Status::InvalidArgument("host '" + host + "' has no address");
  return out;
}

void SetNoDelay(int fd) {
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// One connect attempt within timeout_ms; returns the socket or an errno-style message.
Result<int> ConnectOne(const Addr& a, int timeout_ms) {
  int s = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return Status::FromErrno("socket", errno);
  int rc;
  do {
    rc = ::connect(s, reinterpret_cast<const sockaddr*>(&a.ss), a.len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(s);
    return Status::Unavailable(std::strerror(e));
  }
  if (rc != 0) {
    const int64_t deadline = NowMs() + timeout_ms;
    for (;;) {
      int left = static_cast<int>(std::max<int64_t>(0, deadline - NowMs()));
      pollfd p{s, POLLOUT, 0};
      int n = ::poll(&p, 1, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(s);
        return Status::FromErrno("poll", e);
      }
      if (n == 0) {
        ::close(s);
        return Status::Unavailable("no answer within " + std::to_string(timeout_ms) + " ms");
      }
      break;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      ::close(s);
      return Status::Unavailable(std::strerror(err));
    }
  }
  int flags = ::fcntl(s, F_GETFL);
  if (flags < 0 || ::fcntl(s, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int e = errno;
    ::close(s);
    return Status::FromErrno("fcntl", e);
  }
  SetNoDelay(s);
  return s;
}

}  // namespace

bool IsWildcardHost(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

Result<int> TcpListen(const std::string& host, int port) {
  auto addrs = Resolve(host, port, /*passive=*/true);
  if (!addrs.ok()) return addrs.status();
  Status last = Status::Unavailable("no address");
  for (const Addr& a : addrs.value()) {
    int s = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      last = Status::FromErrno("socket", errno);
      continue;
    }
    int one = 1;
    (void)::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(s, reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0 || ::listen(s, 256) != 0) {
      int e = errno;
      ::close(s);
      last =
          Status::Unavailable("cannot listen on " + HostPort(host, port) + ": " + std::strerror(e));
      continue;
    }
    return s;
  }
  return last;
}

Result<int> LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return Status::FromErrno("getsockname", errno);
  }
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return Status::InvalidArgument("not an IP socket");
}

Result<int> TcpAccept(int listen_fd) {
  for (;;) {
    int s = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (s >= 0) {
      SetNoDelay(s);
      return s;
    }
    if (errno == EINTR) continue;
    if (errno == ECONNABORTED || errno == EAGAIN || errno == EWOULDBLOCK) {
      return Status::Unavailable("connection aborted before accept");
    }
    return Status::FromErrno("accept", errno);
  }
}

Result<int> TcpConnect(const std::string& host, int port, int timeout_ms) {
  auto addrs = Resolve(host, port, /*passive=*/false);
  if (!addrs.ok()) return addrs.status();
  const int64_t deadline = NowMs() + std::max(0, timeout_ms);
  Status last = Status::Unavailable("no address");
  for (const Addr& a : addrs.value()) {
    int left = static_cast<int>(std::max<int64_t>(1, deadline - NowMs()));
    auto s = ConnectOne(a, left);
    if (s.ok()) return s;
    last = s.status();
  }
  return Status::Unavailable("cannot connect to " + HostPort(host, port) + ": " + last.message());
}

Status SetIoTimeout(int fd, int timeout_ms) {
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return Status::FromErrno("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)", errno);
  }
  return Status::Ok();
}

namespace {

std::string NumericHost(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  const void* src =
      a.ss_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in&>(a).sin_addr);
  if ((a.ss_family != AF_INET && a.ss_family != AF_INET6) ||
      ::inet_ntop(a.ss_family, src, buf, sizeof buf) == nullptr) {
    return "";
  }
  return buf;
}

}  // namespace

std::string PeerAddress(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "";
  return NumericHost(a);
}

std::string LocalAddress(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "";
  return NumericHost(a);
}

std::string DefaultAdvertiseHost() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "127.0.0.1";
  std::string out;
  for (ifaddrs* p = list; p != nullptr && out.empty(); p = p->ifa_next) {
    if (p->ifa_addr == nullptr || p->ifa_addr->sa_family != AF_INET) continue;
    if ((p->ifa_flags & IFF_UP) == 0 || (p->ifa_flags & IFF_LOOPBACK) != 0) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(p->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN] = {};
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)) != nullptr) out = buf;
  }
  ::freeifaddrs(list);
  return out.empty() ? "127.0.0.1" : out;
}

}  // namespace cairn::ipc
