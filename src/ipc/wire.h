// Wire: framed messages over a Unix stream socket, with optional file-descriptor
// passing (SCM_RIGHTS; used to hand the client's shared-memory staging area to the
// backend). Frame = u32 little-endian length + Message::Encode() bytes.
//
// Contract: sends never raise SIGPIPE (MSG_NOSIGNAL), so a dead peer is an error
// (kUnavailable), never a signal that kills the application. All calls restart on
// EINTR. Receive of a closed connection returns kUnavailable "connection closed".
#pragma once

#include <string>

#include "common/status.h"
#include "ipc/message.h"

namespace cairn::ipc {

inline constexpr size_t kMaxFrame = 64u << 20;

struct Received {
  Message msg;
  int fd = -1;  // a descriptor passed with the message, or -1 (caller owns it)
};

Status SendMessage(int sock, const Message& m, int pass_fd = -1);
Result<Received> RecvMessage(int sock);
// True when a message (or EOF) can be read within timeout_ms (0: poll, -1: forever).
Result<bool> WaitReadable(int sock, int timeout_ms);

// Unix socket helpers. Listen() removes a stale socket file at `path` first; the
// socket file gets mode 0600.
Result<int> Listen(const std::string& path);
Result<int> Connect(const std::string& path);

}  // namespace cairn::ipc
