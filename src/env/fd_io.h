// Whole writes to an open descriptor (a pipe, a socket, a memfd, a file the caller opened): the
// one loop for "write all of it" outside Env's files. EINTR is retried and a short write
// continued; a write that fails, or makes no progress, returns an error "writing <what>: ..."
// with the errno text (Status::FromErrno: ENOSPC/EDQUOT are kNoSpace). Blocking descriptors
// only: EAGAIN on a non-blocking one is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace cairn {

Status WriteFd(int fd, const void* data, size_t n, const std::string& what);
Status WriteFd(int fd, const std::string& data, const std::string& what);
// pwrite() at `offset` (the descriptor's file offset is not moved).
Status WriteFdAt(int fd, const void* data, size_t n, uint64_t offset, const std::string& what);

}  // namespace cairn
