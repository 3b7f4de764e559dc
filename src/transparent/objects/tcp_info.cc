// The kernel's TCP_INFO fields newer than glibc's struct tcp_info (netinet/tcp.h); this file
// includes the kernel's header instead, which cannot be mixed with glibc's (tcp.h).
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "transparent/objects/tcp.h"

namespace cairn::transparent::objects {

bool TcpBytesSent(int fd, uint64_t* sent) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return false;
  if (len < offsetof(tcp_info, tcpi_bytes_sent) + sizeof ti.tcpi_bytes_sent) return false;
  *sent = ti.tcpi_bytes_sent;  // Linux >= 4.19
  return true;
}

}  // namespace cairn::transparent::objects
