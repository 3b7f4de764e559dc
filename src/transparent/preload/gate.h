// The wrapper gate: keeps a checkpoint out of half-done library calls. Wrapped calls (malloc
// family, pthread_create, fork, thread exit) run inside Enter()/Exit(); no thread is parked
// by a checkpoint while inside one, so none is stopped holding a malloc arena lock or in half
// a pthread_create.
//
// Contract:
//   - The fast path touches only thread-local state plus one load of a read-mostly flag: no
//     atomic read-modify-write, no shared counter, no syscall (a malloc/free pair under
//     `cairn launch` costs about what it costs without).
//   - Enter()/Exit() nest per thread (a thread-local depth).
//   - LockWriter() (the checkpoint thread) raises the flag: a thread about to enter an
//     outermost gated call waits (futex) until UnlockWriter(); threads already inside finish
//     their call. The checkpoint signal handler asks InsideCall(): if so it calls Defer() and
//     returns instead of parking, and the thread's outermost Exit() re-raises the checkpoint
//     signal to itself, so it parks right after the call.
//   - Internal threads (the checkpoint thread and the threads it starts, e.g. compression
//     workers) bypass the gate entirely.
//   - Async-signal-safe apart from blocking; no allocation.
#pragma once

#include <atomic>
#include <cstdint>

namespace cairn::preload::gate {

namespace detail {
// An internal thread's depth starts here: its calls always look nested (never wait or park).
inline constexpr int kInternalDepth = 1 << 24;
extern std::atomic<uint32_t> g_writer;
extern __thread int tl_depth __attribute__((tls_model("initial-exec")));  // no TLS wrapper
// Set by this thread's own signal handler: a park deferred until the outermost Exit().
extern __thread bool tl_deferred __attribute__((tls_model("initial-exec")));
void EnterSlow();  // a checkpoint is on: wait it out
void ExitSlow();   // outermost exit: park if the handler deferred
}  // namespace detail

inline void Enter() {
  ++detail::tl_depth;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (detail::tl_depth == 1 && detail::g_writer.load(std::memory_order_acquire) != 0) {
    detail::EnterSlow();
  }
}

inline void Exit() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (--detail::tl_depth == 0) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (detail::tl_deferred) detail::ExitSlow();
  }
}

struct Guard {
  Guard() { Enter(); }
  ~Guard() { Exit(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

// Marks the calling thread internal (bypasses the gate, never quiesced; allocates from the
// private heap, private_heap.h).
void SetInternalThread(bool internal);
inline bool IsInternalThread() { return detail::tl_depth >= detail::kInternalDepth / 2; }

// For the checkpoint signal handler (the calling thread's own state).
bool InsideCall();
void Defer();

// Raises / lowers the checkpoint flag (see above).
void LockWriter();
void UnlockWriter();

// In a fork child: only the forking thread exists, inside its fork() section.
void ResetInChildAfterFork();

}  // namespace cairn::preload::gate
