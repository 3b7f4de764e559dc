// Named pipes (FIFOs) a process holds open. Their bytes in flight are captured with the
// anonymous pipes' (preload/capture.cc, SavePipeData: when both ends are in the process, read
// out and written straight back); the FIFO is re-opened here.
//
// Contract
// - RestoreFifo re-opens every end in `ends` (one FIFO: same path and pipe id; an O_RDWR end
//   is both) by its path and returns the new descriptors (FD_CLOEXEC, >= min_fd), in the
//   order of `ends`, with the pipe holding `data` (capacity raised to `capacity` when larger
//   than the default). O_NONBLOCK is set on them; the caller puts the saved status flags back.
// - A write end whose reader was outside the process is connected to the FIFO again when a
//   reader has it open now, else to /dev/null (a line in *warnings), as for anonymous pipes:
//   never a SIGPIPE or a write that blocks forever.
// - kNotFound when no FIFO exists at the path any more: the caller falls back to an anonymous
//   pipe. Other failures are errors naming the path.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "transparent/image.h"

namespace cairn::transparent::objects {

Result<std::vector<int>> RestoreFifo(const std::vector<const FileState*>& ends,
                                     const std::string& data, size_t capacity, int min_fd,
                                     std::vector<std::string>* warnings);

}  // namespace cairn::transparent::objects
