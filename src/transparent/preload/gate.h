// The wrapper lock: a reader/writer gate that keeps a checkpoint out of half-done library
// calls. Wrapped calls (malloc family, pthread_create, fork, thread exit) are readers; the
// checkpoint thread is the writer and quiesces the user threads only while it holds the gate,
// so no thread is parked inside malloc (holding an arena lock) or in half a pthread_create.
//
// Contract:
//   - Enter()/Exit() nest per thread (a thread-local depth); only the outermost pair touches
//     the shared counter: the fast path is one atomic add, one load, no mutex, no syscall.
//   - A reader arriving while a writer holds or waits for the gate blocks (futex) until the
//     writer is done; nested readers never block (so a reader section can call malloc).
//   - Internal threads (the checkpoint thread and the threads it starts, e.g. compression
//     workers) bypass the gate entirely: they run while the writer holds it.
//   - Async-signal-safe apart from blocking; no allocation.
#pragma once

namespace cairn::preload::gate {

void Enter();
void Exit();

struct Guard {
  Guard() { Enter(); }
  ~Guard() { Exit(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

// Marks the calling thread internal (bypasses the gate, never quiesced).
void SetInternalThread(bool internal);
bool IsInternalThread();

// Takes the gate as writer: blocks new readers, waits until the current ones left. False
// (and the gate released) if readers remain after timeout_ms.
bool LockWriter(int timeout_ms);
void UnlockWriter();

// In a fork child: only the forking thread exists, inside its fork() reader section.
void ResetInChildAfterFork();

}  // namespace cairn::preload::gate
