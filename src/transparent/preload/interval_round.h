// Periodic checkpoints of a process tree (`cairn launch --interval N`). A process of a tree
// cannot checkpoint itself alone (its children would be lost), and the round that checkpoints
// the whole tree (tree/round.h) must be driven from outside the job: every process of the job,
// the launched one included, is stopped by it. So at each period the launched process's
// checkpoint thread starts `cairn checkpoint --ckpt-dir DIR` as a sibling (clone with
// CLONE_PARENT: not its child, so the program's wait() never sees it and the round never
// counts it as a child cairn does not follow) and goes back to serving its control socket,
// which that round then uses like any other.
//
// Contract:
//   - StartRound(bin, dir) starts the round unless the one it started before still runs
//     (then it logs and returns kUnavailable). The helper runs `bin checkpoint --ckpt-dir
//     dir` with the environment of the process minus LD_PRELOAD and every CAIRN_* variable,
//     every signal unblocked, stdin /dev/null, stdout and stderr appended to
//     DIR/.cairn/interval.log (0600): nothing reaches the program's own output.
//   - Called from the checkpoint thread only (not thread-safe); allocation-free in the child
//     between clone and execve.
//   - The helper's pidfd (HelperFd) is the library's, never in an image; after a restart
//     ForgetHelperAfterRestart drops it (its number may be the program's now).
#pragma once

#include <string>

#include "common/status.h"

namespace cairn::preload {

Status StartRound(const std::string& bin, const std::string& dir);
// The descriptor (a pidfd) that watches the helper, or -1: not the program's, left out of
// the image.
int HelperFd();
// After a restart: the helper and its pidfd belong to the process that was saved.
void ForgetHelperAfterRestart();

}  // namespace cairn::preload
