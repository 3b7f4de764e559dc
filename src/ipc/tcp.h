// TCP helpers for the job coordinator (coord/): listen, accept and connect with a
// timeout. The framed messages of ipc/wire.h work unchanged on these stream sockets.
//
// Contract:
//   - every socket is created SOCK_CLOEXEC and gets TCP_NODELAY (the protocol is small
//     request/answer messages, latency matters, throughput does not);
//   - hosts are numeric IPv4/IPv6 addresses or names (resolved with getaddrinfo only when
//     the string is not a numeric address); "0.0.0.0" / "::" / "" listen on every
//     interface; port 0 asks the kernel for an ephemeral port (see LocalPort());
//   - nothing here blocks without a bound: Connect() gives up after timeout_ms, and
//     SetIoTimeout() bounds each later send/recv so a peer that stops mid-frame cannot
//     hang a reader (the call then fails with kUnavailable);
//   - errors are kUnavailable (peer refused/unreachable/timed out) or kInvalidArgument
//     (a host that does not resolve, a port outside 0..65535), naming host:port.
#pragma once

#include <string>

#include "common/status.h"

namespace cairn::ipc {

// A listening TCP socket on host:port (SO_REUSEADDR, backlog 256).
Result<int> TcpListen(const std::string& host, int port);
// The local port a socket is bound to (the ephemeral port after TcpListen(host, 0)).
Result<int> LocalPort(int fd);
// Accepts one connection (SOCK_CLOEXEC, TCP_NODELAY). Restarts on EINTR; a connection
// reset before accept is reported as kUnavailable so the caller can just go on.
Result<int> TcpAccept(int listen_fd);
// Connects to host:port within timeout_ms (non-blocking connect + poll); the returned
// socket is blocking again, with TCP_NODELAY. Each resolved address is tried in turn.
Result<int> TcpConnect(const std::string& host, int port, int timeout_ms);
// Bounds every later blocking send/recv on `fd` to timeout_ms (SO_SNDTIMEO/SO_RCVTIMEO).
Status SetIoTimeout(int fd, int timeout_ms);
// The address other machines can reach this one at: the first non-loopback, up IPv4
// address of the interfaces (getifaddrs), else "127.0.0.1".
std::string DefaultAdvertiseHost();
// The numeric address of a connected socket's peer (PeerAddress) or of its own end
// (LocalAddress): "10.0.0.2", "fe80::1"; "" when it has none.
std::string PeerAddress(int fd);
std::string LocalAddress(int fd);
// True for "", "0.0.0.0", "::" and "[::]" (every interface).
bool IsWildcardHost(const std::string& host);

}  // namespace cairn::ipc
