// The shim's entry gate (shim.h: Call, SafePoint, Lower), its checkpoint-thread side
// (protocol_state.h: RegisterGate, FreezeBarrier, ThreadsInside) and the real-symbol lookup.
//
// Each upper-half thread owns a slot (claimed at its first call, given back when it exits)
// whose `inside` flag it sets with a plain store on entry and clears on exit: no locked
// instruction on the path of an MPI call. The Dekker pair "thread: inside = 1, read frozen;
// checkpoint: frozen = 1, read inside" needs a full fence on both sides; the thread's is
// supplied by membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) in FreezeBarrier(), which runs a
// fence on every CPU running a thread of this process. Threads beyond the slots, and every
// thread when membarrier cannot be registered, use a locked counter / fence instead.
#include <dlfcn.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "mpi/protocol_state.h"
#include "mpi/shim.h"
#include "transparent/preload/futex.h"
#include "transparent/preload/lower_api.h"

namespace cairn::mpi {

void* RealSymbol(const char* name) {
  void* p = ::dlsym(RTLD_NEXT, name);
  if (p == nullptr) {
    std::fprintf(stderr, "cairn mpi: the MPI library has no %s\n", name);
  }
  return p;
}

Lower::Lower() { cairn_lower_enter(); }
Lower::~Lower() { cairn_lower_exit(); }

bool FromLower() { return cairn_lower_inside() != 0; }

namespace {

struct alignas(64) Slot {
  std::atomic<int> inside{0};
  std::atomic<int> owned{0};
  std::atomic<uint64_t> sent{0}, received{0};  // point-to-point messages, for the drain
};
constexpr int kSlots = 256;
Slot g_slots[kSlots];
Slot g_overflow;  // threads without a slot of their own: `inside` is their count
std::atomic<bool> g_membarrier{false};
pthread_key_t g_slot_key;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

// Initial-exec: the shim is LD_PRELOADed, so its TLS is static (no __tls_get_addr per call).
__thread int tl_calls __attribute__((tls_model("initial-exec"))) = 0;
__thread Slot* tl_slot __attribute__((tls_model("initial-exec"))) = nullptr;

long Membarrier(int cmd) { return ::syscall(__NR_membarrier, cmd, 0, 0); }

std::mutex g_totals_lock;  // a thread giving its slot back vs the drain's sums

void GiveBack(void* p) {
  Slot* s = static_cast<Slot*>(p);
  std::lock_guard<std::mutex> g(g_totals_lock);
  g_overflow.sent.fetch_add(s->sent.exchange(0));
  g_overflow.received.fetch_add(s->received.exchange(0));
  s->inside.store(0);
  s->owned.store(0);
}

// The calling thread's own slot, or the shared one.
inline Slot* Own() {
  Slot* s = tl_slot;
  return s != nullptr ? s : &g_overflow;
}

inline void Bump(Slot* s, std::atomic<uint64_t> Slot::*field) {
  if (s == &g_overflow) {
    (s->*field).fetch_add(1);
  } else {
    BumpCount(s->*field);
  }
}

uint64_t Total(std::atomic<uint64_t> Slot::*field) {
  std::lock_guard<std::mutex> g(g_totals_lock);
  uint64_t n = (g_overflow.*field).load();
  for (const Slot& s : g_slots) n += (s.*field).load();
  return n;
}

Slot* ClaimSlot() {
  pthread_once(&g_key_once, [] { (void)pthread_key_create(&g_slot_key, &GiveBack); });
  for (Slot& s : g_slots) {
    int free = 0;
    if (s.owned.load(std::memory_order_relaxed) == 0 && s.owned.compare_exchange_strong(free, 1)) {
      if (pthread_setspecific(g_slot_key, &s) != 0) {
        s.owned.store(0);
        break;
      }
      return tl_slot = &s;
    }
  }
  return tl_slot = &g_overflow;
}

// Marks the calling thread inside, fenced against a concurrent freeze.
inline void Enter(Slot* slot) {
  if (slot == &g_overflow) {
    slot->inside.fetch_add(1);  // a locked instruction: a full fence
    return;
  }
  slot->inside.store(1, std::memory_order_relaxed);
  if (g_membarrier.load(std::memory_order_relaxed)) {
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the checkpoint side fences for us
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

inline void Leave(Slot* slot) {
  if (slot == &g_overflow) {
    slot->inside.fetch_sub(1);
  } else {
    slot->inside.store(0, std::memory_order_release);
  }
  ProtocolState& s = State();
  if (s.frozen.load(std::memory_order_relaxed)) {
    s.active_changes.fetch_add(1);
    preload::FutexWakeAll(&s.active_changes);
  }
}

// Enters, or waits while MPI is frozen and enters after.
void EnterWhenThawed(Slot* slot) {
  ProtocolState& s = State();
  for (;;) {
    Enter(slot);
    if (!s.frozen.load(std::memory_order_relaxed)) return;
    Leave(slot);
    for (;;) {
      const uint32_t epoch = s.freeze_epoch.load();
      if (!s.frozen.load()) break;
      preload::FutexWait(&s.freeze_epoch, epoch);
    }
  }
}

}  // namespace

Call::Call() {
  if (tl_calls++ > 0) return;
  EnterWhenThawed(tl_slot != nullptr ? tl_slot : ClaimSlot());
}

Call::~Call() {
  if (--tl_calls > 0) return;
  Leave(tl_slot);
}

void SafePoint() {
  if (!State().frozen.load(std::memory_order_relaxed)) return;
  Slot* slot = tl_slot != nullptr ? tl_slot : ClaimSlot();
  Leave(slot);
  EnterWhenThawed(slot);
}

bool RegisterGate() {
  // Threads fence themselves until the registration is known to hold (also right after a
  // restart: the new process is not registered yet).
  g_membarrier.store(false);
  const long cmds = Membarrier(MEMBARRIER_CMD_QUERY);
  const bool ok = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
                  Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
  g_membarrier.store(ok);
  return ok;
}

void FreezeBarrier() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g_membarrier.load() && Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    // Not expected once registered. A thread that skipped its fence may have its entry still
    // in its store buffer: fences from now on, and a pause far longer than a store buffer
    // takes to drain before the caller reads the slots.
    g_membarrier.store(false);
    ::usleep(1000);
  }
}

void CountSent() { Bump(Own(), &Slot::sent); }
void CountReceived() { Bump(Own(), &Slot::received); }
uint64_t TotalSent() { return Total(&Slot::sent); }
uint64_t TotalReceived() { return Total(&Slot::received); }

int ThreadsInside() {
  int n = g_overflow.inside.load();
  for (const Slot& s : g_slots) n += s.inside.load();  // a free slot's flag is 0
  return n;
}

}  // namespace cairn::mpi
