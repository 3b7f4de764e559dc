// The registry of user threads: one slot per live thread started through pthread_create
// (plus the main thread), holding its kernel tid and, while a checkpoint has it parked, its
// saved state.
//
// Contract:
//   - Slots are mmap()ed once and reused, never freed: a signal handler can always touch its
//     own slot; nothing here calls malloc, so registration is safe inside any wrapper.
//   - Register() binds the calling thread to a free slot (idempotent); Unregister() frees it.
//     Both are quick and run under a spinlock; callers hold the gate as readers, so the
//     writer (the checkpoint) sees a stable set.
//   - Snapshot() (the checkpoint thread, gate held as writer) lists the slots in use.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <ucontext.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cairn::preload {

struct ThreadSlot {
  pid_t tid = 0;
  bool in_use = false;
  bool main_thread = false;
  // Filled by the checkpoint handler of this thread while it is parked.
  std::atomic<uint32_t> parked_epoch{0};  // the checkpoint epoch this thread parked for
  ucontext_t context;
  uint64_t fs_base = 0;
  uint64_t sigmask = 0;  // kernel layout: bit (signo - 1)
  stack_t altstack;
  // Filled by the checkpoint thread (kernel_state.h) while this thread is parked.
  cpu_set_t affinity;
  bool affinity_ok = false;
  // Set by the restart entry: the temporary stack this thread was re-created on (its handler
  // unmaps it once back on its own stack).
  void* restart_stack = nullptr;
  size_t restart_stack_size = 0;
};

inline constexpr size_t kMaxThreads = 4096;

// Registers the calling thread (its gettid()); nullptr if the registry is full or out of
// memory (logged; the thread then runs unregistered and is not checkpointed).
ThreadSlot* RegisterCurrentThread(bool main_thread);
void UnregisterCurrentThread();
ThreadSlot* CurrentSlot();  // of the calling thread, or nullptr

// Creates the pthread key whose destructor unregisters a thread when it exits (call once,
// before threads register). ArmThreadExitHook() sets the calling thread's key value.
void InitThreadExitHook();
void ArmThreadExitHook();

// Copies the slots in use to out[0..max) and returns how many there are.
size_t Snapshot(ThreadSlot** out, size_t max);

// In a fork child: every other thread is gone; keeps the calling thread's slot only.
void ResetRegistryInChildAfterFork();

}  // namespace cairn::preload
