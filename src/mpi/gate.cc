// The shim's entry gate (shim.h: Call, SafePoint, Lower) and the real-symbol lookup.
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

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
// Initial-exec: the shim is LD_PRELOADed, so its TLS is static (no __tls_get_addr per call).
__thread int tl_calls __attribute__((tls_model("initial-exec"))) = 0;
}  // namespace

Call::Call() {
  if (tl_calls++ > 0) return;
  ProtocolState& s = State();
  for (;;) {
    uint32_t epoch = s.freeze_epoch.load();
    if (s.frozen.load()) {
      preload::FutexWait(&s.freeze_epoch, epoch);
      continue;
    }
    s.active.fetch_add(1);
    if (!s.frozen.load()) break;
    s.active.fetch_sub(1);
    preload::FutexWakeAll(&s.active_changes);
  }
}

Call::~Call() {
  if (--tl_calls > 0) return;
  ProtocolState& s = State();
  s.active.fetch_sub(1);
  if (s.frozen.load()) {
    s.active_changes.fetch_add(1);
    preload::FutexWakeAll(&s.active_changes);
  }
}

void SafePoint() {
  ProtocolState& s = State();
  if (!s.frozen.load()) return;
  s.active.fetch_sub(1);
  s.active_changes.fetch_add(1);
  preload::FutexWakeAll(&s.active_changes);
  for (;;) {
    uint32_t epoch = s.freeze_epoch.load();
    if (!s.frozen.load()) break;
    preload::FutexWait(&s.freeze_epoch, epoch);
  }
  s.active.fetch_add(1);
}

}  // namespace cairn::mpi
