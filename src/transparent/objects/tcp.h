// TCP connections whose two ends are both in the job (one process, or two processes of a
// tree): capture and restore. Listeners and bound UDP sockets are in socket.h; a connection
// to a peer outside the job is not restored (the caller's documented policy: the program
// finds a closed connection after the restart).
//
// Capture (in the checkpointed process, threads stopped)
// - CaptureTcp (called by CaptureSocket for a connected SOCK_STREAM internet socket) records
//   the peer's address (`peer_name`, the raw sockaddr), TCP_NODELAY and SO_KEEPALIVE
//   (SocketState::options bits kTcpNoDelay, kTcpKeepAlive), whether it has sent any byte
//   (kTcpSentData), and from the TCP state which halves are shut down (a FIN sent:
//   kSendShutdown; one received: kRcvShutdown).
// - DrainTcpSends, at the stop of a tree round (before any process is captured): waits up to
//   `timeout_ms` until every connected TCP socket of this process has nothing left in its
//   send queue (SIOCOUTQ: all its bytes acknowledged, so they sit in the peer's receive
//   queue, which the peer's capture copies). Bytes that stay unacknowledged towards a peer
//   in the job fail it with kFailedPrecondition naming the connection: the peer does not
//   read, and its bytes could be lost. A peer is in the job when a process of the tree of
//   `job_root` holds its socket (found by an exact NETLINK_SOCK_DIAG lookup of the reversed
//   addresses, then in /proc/PID/fd); with job_root 0, when it is on this host (loopback or
//   one of its addresses). A peer at one of the addresses of `job_hosts` (comma-separated:
//   the nodes of a job spread over several, tree/node_agent.h) is in the job too. Towards any
//   other peer they are logged: that connection is not restored anyway (the outside-peer
//   policy).
// - PeekTcpQueue copies a connected socket's receive queue (MSG_PEEK; the program still
//   reads it).
//
// Restore (in `cairn restart`)
// - IsTcpPair says whether a and b are the two ends of one connection (each one's address is
//   the other's peer).
// - RestoreTcpPair re-creates the connection and returns the new descriptors for a and b
//   (FD_CLOEXEC, >= min_fd): a temporary listener on b's address accepts a connection made
//   from a's address, so both ends keep their addresses and ports; when that cannot be
//   (an address of a host the job left, a port still in use) both ends get new loopback
//   addresses and *note says so. Each end's saved receive queue is sent by the other (Refill,
//   socket.h), the options are set again and a saved shutdown is re-applied. Every wait is
//   bounded (2 s).
// - A connection that a listener of the job had not accepted yet (its other end waited in the
//   listener's accept queue, where no capture sees it; e.g. a checkpoint during connect()):
//   IsPendingOn(f, listener) says f is one, to `listener` (listening on f's peer address, or
//   on the wildcard address with its port), with no FIN and no byte sent (kTcpSentData
//   clear: bytes waiting in the unaccepted end cannot be saved, so such a connection stays
//   unrestored). RestorePending connects a new socket, from f's address when it is free, to
//   the listener's new socket `listener_fd`: the program's accept() finds it again.
//
// Connections between nodes (a job spread over several machines, tree/node_rendezvous.h): the
// two ends are restored on two machines whose addresses changed. IsTcpConnection says f is a
// connected TCP end. One node ListenAgain()s on its new address (f's own port when free) and
// tells the other the `address` (a raw sockaddr); the other ConnectFrom()s its new address (its
// own port when free) and tells back where from; the first AcceptFrom()s exactly that address
// (a stranger's connection is refused), bounded by timeout_ms. SettleRemote then sends on
// each end what its peer had received and not read (the peer's saved queue, from the other
// node), sets f's options, re-applies its shutdowns and returns the end above min_fd, blocking.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::objects {

// SocketState::options; kTcpSentData: the connection has sent bytes (or TCP_INFO cannot tell).
inline constexpr uint32_t kTcpNoDelay = 8, kTcpKeepAlive = 16, kTcpSentData = 32;

Status CaptureTcp(int fd, SocketState* k);
// TCP_INFO's count of bytes sent (tcpi_bytes_sent); false when the kernel does not report it.
bool TcpBytesSent(int fd, uint64_t* sent);
// Whether the TCP socket `fd`, which has no peer address, is in any state but CLOSE: a
// connect() under way (SYN_SENT), which a restart cannot re-create.
bool TcpConnectUnderWay(int fd);
Status DrainTcpSends(int timeout_ms, long job_root = 0, const std::string& job_hosts = "");
// The inode of the socket at the other end of `fd`'s TCP connection, when that end is on this
// host and open (not waiting in an accept queue); 0 otherwise or when it cannot be told.
uint64_t PeerSocketInode(int fd);
std::vector<std::string> PeekTcpQueue(int fd);

bool IsTcpPair(const FileState& a, const FileState& b);
Result<std::pair<int, int>> RestoreTcpPair(const FileState& a, const FileState& b, int min_fd,
                                           std::string* note);
bool IsPendingOn(const FileState& f, const FileState& listener);
Result<int> RestorePending(const FileState& f, int listener_fd, int min_fd);

bool IsTcpConnection(const FileState& f);
Result<int> ListenAgain(const FileState& f, const std::string& host, std::string* address);
Result<int> AcceptFrom(int listener, const std::string& from, int timeout_ms);
Result<int> ConnectFrom(const FileState& f, const std::string& host, const std::string& to,
                        std::string* from);
Result<int> SettleRemote(int fd, const FileState& me, const std::vector<std::string>& peer_queue,
                         uint32_t peer_shutdown, int min_fd);

}  // namespace cairn::transparent::objects
