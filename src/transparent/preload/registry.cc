// See registry.h.
#include "transparent/preload/registry.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>

#include "common/log.h"
#include "transparent/preload/gate.h"
#include "transparent/preload/private_heap.h"

namespace cairn::preload {
namespace {

ThreadSlot* g_slots[kMaxThreads];
size_t g_used_high = 0;  // slots [0, g_used_high) have been allocated
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;

__attribute__((tls_model("initial-exec"))) thread_local ThreadSlot* tl_slot = nullptr;

struct SpinLock {
  SpinLock() {
    while (g_lock.test_and_set(std::memory_order_acquire)) ::sched_yield();
  }
  ~SpinLock() { g_lock.clear(std::memory_order_release); }
};

pthread_key_t g_exit_key;
bool g_exit_key_ok = false;

void OnThreadExit(void*) {
  gate::Guard g;
  heap::FlushThreadCache();  // its cached private-heap blocks back to the shared lists
  UnregisterCurrentThread();
}

}  // namespace

void InitThreadExitHook() {
  if (!g_exit_key_ok) g_exit_key_ok = pthread_key_create(&g_exit_key, &OnThreadExit) == 0;
  if (!g_exit_key_ok)
    log::Warn("preload: pthread_key_create failed; exited threads stay registered");
}

void ArmThreadExitHook() {
  if (g_exit_key_ok) pthread_setspecific(g_exit_key, tl_slot);
}

ThreadSlot* RegisterCurrentThread(bool main_thread) {
  if (tl_slot != nullptr) return tl_slot;
  ThreadSlot* slot = nullptr;
  {
    SpinLock lock;
    for (size_t i = 0; i < g_used_high; ++i) {
      if (!g_slots[i]->in_use) {
        slot = g_slots[i];
        break;
      }
    }
    if (slot == nullptr && g_used_high < kMaxThreads) {
      void* mem = ::mmap(nullptr, sizeof(ThreadSlot), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem != MAP_FAILED) {
        slot = new (mem) ThreadSlot();
        g_slots[g_used_high++] = slot;
      }
    }
    if (slot != nullptr) {
      slot->tid = ::gettid();
      slot->main_thread = main_thread;
      slot->in_use = true;
    }
  }
  if (slot == nullptr) {
    log::Error("preload: cannot register thread ", ::gettid(),
               ": thread registry full or out of memory; it will not be checkpointed");
  }
  tl_slot = slot;
  return slot;
}

void UnregisterCurrentThread() {
  ThreadSlot* slot = tl_slot;
  if (slot == nullptr) return;
  tl_slot = nullptr;
  SpinLock lock;
  slot->in_use = false;
  slot->tid = 0;
}

ThreadSlot* CurrentSlot() { return tl_slot; }

size_t Snapshot(ThreadSlot** out, size_t max) {
  SpinLock lock;
  size_t n = 0;
  for (size_t i = 0; i < g_used_high; ++i) {
    if (g_slots[i]->in_use) {
      if (n < max) out[n] = g_slots[i];
      ++n;
    }
  }
  return n;
}

void ResetRegistryInChildAfterFork() {
  g_lock.clear();
  for (size_t i = 0; i < g_used_high; ++i) {
    if (g_slots[i] != tl_slot) {
      g_slots[i]->in_use = false;
      g_slots[i]->tid = 0;
    }
  }
  if (tl_slot != nullptr) {
    tl_slot->tid = ::gettid();
    tl_slot->main_thread = true;
  }
}

}  // namespace cairn::preload
