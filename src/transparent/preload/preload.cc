// libcairn_preload.so's entry points: the constructor that turns transparent checkpointing
// on (only when CAIRN_CKPT_DIR is set; see control.h) and the destructor that removes the
// control socket at exit. A failure to start is logged (stderr) and leaves the program
// running unmodified.
#include <cstdlib>

#include "common/log.h"
#include "transparent/preload/control.h"

namespace {

__attribute__((constructor)) void CairnPreloadInit() {
  const char* dir = std::getenv("CAIRN_CKPT_DIR");
  if (dir == nullptr || *dir == '\0') return;
  cairn::Status st = cairn::preload::control::Start();
  if (!st.ok()) {
    cairn::log::Error("preload: transparent checkpointing disabled: ", st.ToString());
  }
}

__attribute__((destructor)) void CairnPreloadFini() { cairn::preload::control::Shutdown(); }

}  // namespace
