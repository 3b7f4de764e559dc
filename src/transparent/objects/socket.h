// Sockets of one process: capture and restore (as event_objects.h does for event objects). UNIX
// sockets, internet listeners and bound UDP sockets here; TCP connections in tcp.h.
//
// Capture (in the checkpointed process)
// - CaptureSocket fills f->socket for a socket descriptor: family and type; for AF_UNIX also
//   the socket's inode (its id), its connected peer's inode and its shutdown state (from
//   NETLINK_SOCK_DIAG), its bound name (getsockname; "\0..." for abstract names) and, when it
//   listens, the backlog; for AF_INET/AF_INET6 see "Internet sockets" below. Sockets of other
//   families keep only family and type.
// - SaveSocketQueues: every AF_UNIX socket or TCP connection whose peer is also in `files`
//   (with peers_elsewhere, a process of a tree: every connected one) has its receive queue
//   copied into f.socket.queued (one entry per message; a stream's bytes in chunks) with
//   MSG_PEEK and the socket's peek offset, so the running process sees no change (its own
//   SO_PEEK_OFF is put back). Descriptors passed in flight (SCM_RIGHTS) stay queued for the
//   running process but are not in the image (logged).
//
// Restore (in `cairn restart`)
// - Internet sockets (AF_INET, AF_INET6): CaptureSocket records the bound address (`name`:
//   the raw sockaddr), whether it listens and its backlog (TCP_INFO), and its IPV6_V6ONLY,
//   SO_REUSEADDR and SO_REUSEPORT options. A listener comes back bound to the same address and port
//   (SO_REUSEADDR, so the dead process's closed connections do not hold the port) and an
//   unconnected socket (UDP, or TCP never connected: state CLOSE) comes back bound again when
//   it was bound, else fresh; a TCP connection whose other end is in the job is kPair (tcp.h
//   re-creates it); other connections (connected UDP, a peer outside the job, a connect()
//   under way) are kNone.
// - Restorable says how a saved socket comes back: kPair (both ends in the process: a new
//   socketpair of the same type, or a new TCP connection (tcp.h), the queues refilled, the
//   shutdown state re-applied),
//   kListener (a listening AF_UNIX socket: bound to its name again, a stale socket file at a
//   path name removed first, listen()ed with its backlog), kUnbound (an unconnected AF_UNIX
//   socket, bound again if it had a name), or kNone (a peer outside the process, or another
//   family: the caller's documented policy, a closed connection, applies), or kPending (a TCP
//   connection waiting in the accept queue of a listener in `files`: connected again, tcp.h).
// - RestorePair returns the two new descriptors (FD_CLOEXEC, at or above min_fd) for a and b
//   with a's and b's queues refilled; RestoreAlone one for kListener and kUnbound.
#pragma once

#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::objects {

Status CaptureSocket(int fd, FileState* f);
// "unix stream, peer socket:[N], 3 messages (120 bytes) queued", for `cairn inspect`.
std::string SocketSummary(const FileState& f);
void SaveSocketQueues(std::vector<FileState>* files, bool peers_elsewhere = false);

// Sends f's saved receive queue through `via`, the new end of its peer (a UNIX pair or a TCP
// connection), so that f's new end holds it; raises via's send buffer first when it is large.
Status Refill(int via, const FileState& f);
// One NETLINK_SOCK_DIAG request `req` (a unix_diag_req or an inet_diag_req_v2): the payload
// of the kernel's first answer (a unix_diag_msg or inet_diag_msg and its attributes), or the
// kernel's error. SockDiagMessage sends a whole message (its nlmsghdr first, `len` bytes).
Result<std::string> SockDiagMessage(const void* message, size_t len);
template <class Req>
Result<std::string> SockDiag(const Req& req) {
  struct {
    nlmsghdr nlh;
    Req req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.req = req;
  return SockDiagMessage(&msg, sizeof msg);
}
// The port of a raw sockaddr_in / sockaddr_in6; 0 for a socket never bound.
uint16_t InetPort(const std::string& raw);
// "127.0.0.1:8080", "[::1]:8080" for a raw sockaddr_in / sockaddr_in6.
std::string InetAddress(const std::string& raw);

// The first descriptor in `files` holding the AF_UNIX socket with inode `id`, or nullptr.
const FileState* FindSocket(const std::vector<FileState>& files, uint64_t id);
// Whether a and b are the two ends of one connection: a UNIX pair (each one's peer inode is
// the other's) or a TCP connection (tcp.h, IsTcpPair); FindPeer: the first such b in `files`.
bool IsPeer(const FileState& a, const FileState& b);
const FileState* FindPeer(const std::vector<FileState>& files, const FileState& f);

// kPending: a TCP connection not yet accepted by a listener in `files` (tcp.h, IsPendingOn);
// FindListener gives that listener.
enum class SocketRestore { kNone, kPair, kListener, kUnbound, kPending };
const FileState* FindListener(const std::vector<FileState>& files, const FileState& f);
SocketRestore Restorable(const FileState& f, const std::vector<FileState>& files);
Result<std::pair<int, int>> RestorePair(const FileState& a, const FileState& b, int min_fd);
Result<int> RestoreAlone(const FileState& f, int min_fd);

}  // namespace cairn::transparent::objects
