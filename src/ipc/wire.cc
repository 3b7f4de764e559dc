#include "ipc/wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cairn::ipc {
namespace {

Status SendAll(int sock, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(sock, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("send failed: ") + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status RecvAll(int sock, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(sock, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("receive failed: ") + std::strerror(errno));
    }
    if (r == 0) return Status::Unavailable("connection closed");
    p += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) {
    return Status::InvalidArgument("socket path too long: '" + path + "'");
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

}  // namespace

Status SendMessage(int sock, const Message& m, int pass_fd) {
  std::string body = m.Encode();
  if (body.size() > kMaxFrame) return Status::InvalidArgument("message too large");
  uint32_t len = static_cast<uint32_t>(body.size());
  char hdr[4];
  std::memcpy(hdr, &len, 4);
  if (pass_fd < 0) {
    std::string frame(hdr, 4);
    frame += body;
    return SendAll(sock, frame.data(), frame.size());
  }
  // The descriptor travels with the 4 header bytes.
  iovec iov{hdr, 4};
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof(cbuf);
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  for (;;) {
    ssize_t w = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::Unavailable(std::string("send failed: ") + std::strerror(errno));
    if (w < 4) CAIRN_RETURN_IF_ERROR(SendAll(sock, hdr + w, 4 - static_cast<size_t>(w)));
    break;
  }
  return SendAll(sock, body.data(), body.size());
}

Result<Received> RecvMessage(int sock) {
  char hdr[4];
  iovec iov{hdr, 4};
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof(cbuf);
  ssize_t r;
  do {
    r = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Status::Unavailable(std::string("receive failed: ") + std::strerror(errno));
  if (r == 0) return Status::Unavailable("connection closed");
  Received out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&out.fd, CMSG_DATA(c), sizeof(int));
    }
  }
  auto fail = [&](Status st) -> Result<Received> {
    if (out.fd >= 0) ::close(out.fd);
    return st;
  };
  if (r < 4) {
    Status st = RecvAll(sock, hdr + r, 4 - static_cast<size_t>(r));
    if (!st.ok()) return fail(st);
  }
  uint32_t len = 0;
  std::memcpy(&len, hdr, 4);
  if (len > kMaxFrame) return fail(Status::Corruption("frame too large"));
  std::string body(len, '\0');
  Status st = RecvAll(sock, body.data(), len);
  if (!st.ok()) return fail(st);
  auto m = Message::Decode(body);
  if (!m.ok()) return fail(m.status());
  out.msg = std::move(m.value());
  return out;
}

Result<bool> WaitReadable(int sock, int timeout_ms) {
  pollfd p{sock, POLLIN, 0};
  for (;;) {
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Status::IOError(std::string("poll failed: ") + std::strerror(errno));
    return rc > 0;
  }
}

Result<int> Listen(const std::string& path) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Status::FromErrno("socket", errno);
  ::unlink(path.c_str());
  if (::bind(s, reinterpret_cast<const sockaddr*>(&addr.value()), sizeof(sockaddr_un)) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 || ::listen(s, 256) != 0) {
    int e = errno;
    ::close(s);
    return Status::FromErrno("cannot listen on '" + path + "'", e);
  }
  return s;
}

Result<int> Connect(const std::string& path) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Status::FromErrno("socket", errno);
  int rc;
  do {
    rc = ::connect(s, reinterpret_cast<const sockaddr*>(&addr.value()), sizeof(sockaddr_un));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int e = errno;
    ::close(s);
    return Status::Unavailable("cannot connect to '" + path + "': " + std::strerror(e));
  }
  return s;
}

}  // namespace cairn::ipc
