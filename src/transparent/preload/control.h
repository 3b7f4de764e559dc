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
//   - Process trees (every job but an MPI job, whose ranks have CAIRN_LOWER_ROOTS): every
//     descendant of the launched program is followed. A fork child (wrappers.cc) gets a
//     lineage, a lineage lock, a socket and a checkpoint thread of its own before fork()
//     returns in the parent (the parent waits up to 5 s for it); an exec()ed program starts
//     through the library's constructor like the launched one. Descendants never checkpoint
//     on their own (no interval). In an MPI job a descendant does not start, and a
//     checkpoint of a rank with children is not checked yet.
//   - A tree round, driven by `cairn checkpoint` (tree/round.h) on one connection:
//       STOP                          -> STOPPED {code[, message], pid, ppid, pgid, sid}
//                                        (every user thread parked; they stay parked)
//       CAPTURE {pids, drain, single} -> CAPTURED {code, message[, path, bytes, zombies]}
//         pids: the job's pids (comma list); a child outside it that has exited is reported
//         in zombies ("pid:wait-status,..."; not reaped), any other fails the capture
//         naming it. drain: the pipes (inodes) whose bytes in flight this process saves.
//         single=1: a job of one process; the image is written as CHECKPOINT writes it.
//       RESUME {kill}                 -> threads released; with kill=1 after a successful
//                                        capture the process _exit(0)s instead.
//     A closed connection or silence for the checkpoint timeout resumes the threads.
//     A single process's own checkpoint (CHECKPOINT, the interval) fails with
//     kFailedPrecondition naming its children when it has any.
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
// Whether a fork child is followed (fork waits for it to be checkpointable).
bool FollowsForks();
// In a fork child: the checkpoint thread does not exist there. A followed child starts its
// own (see above); in an MPI job the child is not checkpointable (its inherited listening
// socket is closed).
void OnForkChild();

}  // namespace cairn::preload::control
