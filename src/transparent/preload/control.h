// The checkpoint thread and its control socket.
//
// Contract:
//   - Start() (from the library constructor, CAIRN_CKPT_DIR set) creates <dir>/.cairn (0700),
//     listens on <dir>/.cairn/<pid>.sock (0600) and starts the checkpoint thread with the real
//     pthread_create; the thread is internal (never registered, bypasses the gate).
//   - Protocol (ipc/wire.h frames): a client sends Message("CHECKPOINT") with kill=0|1; the
//     thread checkpoints and replies Message("DONE") with code (0 = OK, else cairn::Code),
//     message and path. With kill=1 and success, the process _exit(0)s after the reply.
//     Message("STATUS") is answered with Message("STATUS"): pid, uptime_ms, restored,
//     interval, fork, compress, checkpoints (taken by this process), last_path, last_ms,
//     last_bytes, last_error, threads.
//     With CAIRN_CKPT_INTERVAL=S (> 0) the thread also checkpoints every S seconds.
//   - Lineage lock: Start() creates <dir>/.cairn/<pid>-<ns>.lock (0600) and flock()s it for the
//     life of the process. The descriptor is part of every image; `cairn restart` takes the
//     same lock before it restores anything and refuses while another process (the original,
//     or an earlier restart) holds it. Fork children close it; a normal exit removes the file.
//   - Process trees are not checkpointed: a process whose CAIRN_LAUNCH_PID (set by `cairn
//     launch`) is not its own pid descends from the launched program and does not start
//     (no socket, no lock, no images); a checkpoint of a process that has children fails
//     with kFailedPrecondition naming them (not checked yet for MPI ranks).
//   - Errors are logged (stderr) and reported to the client; nothing here exits or aborts
//     except the requested kill.
#pragma once

#include "common/status.h"

namespace cairn::preload::control {

// Whether the library is checkpointing this process (constructor succeeded).
bool Active();

Status Start();
// The restored checkpoint thread (restart.cc): new control socket for this pid, then the
// checkpoint loop. Never returns.
[[noreturn]] void RunAfterRestart();
// Process exit: removes the socket file.
void Shutdown();
// In a fork child: the checkpoint thread does not exist there; the child is not
// checkpointable (its inherited listening socket is closed).
void OnForkChild();

}  // namespace cairn::preload::control
