// The VeloC C API (veloc.h) over the process-wide client of veloc_cpp.cc.
#include <veloc.h>

#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "api/boundary.h"
#include "api/veloc_ops.h"
#include "common/log.h"

#if CAIRN_HAVE_MPI
#include "comm/mpi_comm.h"
#endif

namespace {

using cairn::api::Guard;

int Ret(bool ok) { return ok ? VELOC_SUCCESS : VELOC_FAILURE; }

// A C string argument that must not be NULL.
bool NotNull(const char* fn, const void* p, const char* what) {
  if (p != nullptr) return true;
  cairn::api::LogErrorNoThrow(fn, ": ", what, " is NULL");
  return false;
}

// Runs f(engine) -> bool with the process-wide engine; VELOC_FAILURE when not initialized.
template <class F>
int WithEngine(const char* fn, F&& f) noexcept {
  return Guard(fn, VELOC_FAILURE, [&] {
    std::shared_ptr<cairn::Client> e = cairn::api::VelocEngine(fn);
    if (e == nullptr) return VELOC_FAILURE;
    return Ret(f(*e));
  });
}

int Selective(const char* fn, bool checkpoint, int mode, const int* ids, int n) noexcept {
  return WithEngine(fn, [&](cairn::Client& e) {
    auto set = cairn::api::IdSet(fn, mode, ids, n);
    if (!set) return false;
    return checkpoint ? cairn::api::CheckpointMem(fn, e, mode, *set)
                      : cairn::api::RecoverMem(fn, e, mode, *set);
  });
}

}  // namespace

extern "C" {

#if CAIRN_HAVE_MPI
int VELOC_Init(MPI_Comm comm, const char* cfg_file) {
  static constexpr const char* kFn = "VELOC_Init";
  return Guard(kFn, VELOC_FAILURE, [&] {
    std::string cfg = cfg_file == nullptr ? std::string() : std::string(cfg_file);
    return Ret(cairn::api::VelocGetOrCreate(
                   kFn, [comm]() { return cairn::MakeMpiComm(comm); }, cfg, -1) != nullptr);
  });
}
#endif

int VELOC_Init_single(unsigned int id, const char* cfg_file) {
  static constexpr const char* kFn = "VELOC_Init_single";
  return Guard(kFn, VELOC_FAILURE, [&] {
    std::string cfg = cfg_file == nullptr ? std::string() : std::string(cfg_file);
    return Ret(cairn::api::VelocGetOrCreate(
                   kFn,
                   [id]() -> cairn::Result<std::unique_ptr<cairn::Comm>> {
                     return cairn::MakeSingleComm(static_cast<int>(id));
                   },
                   cfg, static_cast<long long>(id)) != nullptr);
  });
}

int VELOC_Finalize(int drain) {
  static constexpr const char* kFn = "VELOC_Finalize";
  return Guard(kFn, VELOC_FAILURE,
               [&] { return Ret(cairn::api::Ok(kFn, cairn::api::VelocFinalize(drain != 0))); });
}

int VELOC_Mem_protect(int id, void* ptr, size_t count, size_t base_size) {
  static constexpr const char* kFn = "VELOC_Mem_protect";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return cairn::api::Protect(kFn, e, id, ptr, count, base_size, "");
  });
}

int VELOC_Region_protect(int id, void* ptr, size_t count, size_t base_size, const char* name) {
  static constexpr const char* kFn = "VELOC_Region_protect";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "region name") &&
           cairn::api::Protect(kFn, e, id, ptr, count, base_size, cairn::api::GroupOf(name));
  });
}

int VELOC_Mem_unprotect(int id) {
  static constexpr const char* kFn = "VELOC_Mem_unprotect";
  return WithEngine(kFn, [&](cairn::Client& e) { return cairn::api::Unprotect(kFn, e, id, ""); });
}

int VELOC_Region_unprotect(int id, const char* name) {
  static constexpr const char* kFn = "VELOC_Region_unprotect";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "region name") &&
           cairn::api::Unprotect(kFn, e, id, cairn::api::GroupOf(name));
  });
}

int VELOC_Mem_clear(void) {
  static constexpr const char* kFn = "VELOC_Mem_clear";
  return WithEngine(kFn, [&](cairn::Client& e) { return cairn::api::Clear(kFn, e, ""); });
}

int VELOC_Region_clear(const char* name) {
  static constexpr const char* kFn = "VELOC_Region_clear";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "region name") &&
           cairn::api::Clear(kFn, e, cairn::api::GroupOf(name));
  });
}

int VELOC_Route_file(const char* original, char* routed) {
  static constexpr const char* kFn = "VELOC_Route_file";
  if (routed != nullptr) routed[0] = '\0';
  return WithEngine(kFn, [&](cairn::Client& e) {
    if (!NotNull(kFn, original, "file name") || !NotNull(kFn, routed, "output buffer")) {
      return false;
    }
    std::optional<std::string> path = cairn::api::RouteFile(kFn, e, original);
    if (!path) return false;
    if (path->size() >= VELOC_MAX_NAME) {
      cairn::api::LogErrorNoThrow(
          kFn, ": the routed path of '", original, "' has ", path->size(),
          " characters, more than VELOC_MAX_NAME - 1 = ", VELOC_MAX_NAME - 1, ": ", *path);
      return false;
    }
    std::memcpy(routed, path->c_str(), path->size() + 1);
    return true;
  });
}

int VELOC_Cleanup(const char* name) {
  static constexpr const char* kFn = "VELOC_Cleanup";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "checkpoint name") && cairn::api::Cleanup(kFn, e, name);
  });
}

int VELOC_Checkpoint_begin(const char* name, int version) {
  static constexpr const char* kFn = "VELOC_Checkpoint_begin";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "checkpoint name") &&
           cairn::api::CheckpointBegin(kFn, e, name, version);
  });
}

int VELOC_Checkpoint_selective(int mode, int* ids, int id_count) {
  return Selective("VELOC_Checkpoint_selective", true, mode, ids, id_count);
}

int VELOC_Checkpoint_mem(void) {
  return Selective("VELOC_Checkpoint_mem", true, VELOC_CKPT_ALL, nullptr, 0);
}

int VELOC_Checkpoint_end(int success) {
  static constexpr const char* kFn = "VELOC_Checkpoint_end";
  return WithEngine(
      kFn, [&](cairn::Client& e) { return cairn::api::CheckpointEnd(kFn, e, success != 0); });
}

int VELOC_Checkpoint_wait(void) {
  static constexpr const char* kFn = "VELOC_Checkpoint_wait";
  return WithEngine(kFn, [&](cairn::Client& e) { return cairn::api::CheckpointWait(kFn, e); });
}

int VELOC_Checkpoint_finished(void) {
  return WithEngine("VELOC_Checkpoint_finished",
                    [&](cairn::Client& e) { return e.CheckpointFinished(); });
}

int VELOC_Checkpoint(const char* name, int version) {
  static constexpr const char* kFn = "VELOC_Checkpoint";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "checkpoint name") && cairn::api::Checkpoint(kFn, e, name, version);
  });
}

int VELOC_Restart_test(const char* name, int needed_version) {
  static constexpr const char* kFn = "VELOC_Restart_test";
  return Guard(kFn, VELOC_FAILURE, [&] {
    std::shared_ptr<cairn::Client> e = cairn::api::VelocEngine(kFn);
    if (e == nullptr || !NotNull(kFn, name, "checkpoint name")) return VELOC_FAILURE;
    return cairn::api::RestartTest(kFn, *e, name, needed_version, -1);
  });
}

int VELOC_Restart_begin(const char* name, int version) {
  static constexpr const char* kFn = "VELOC_Restart_begin";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "checkpoint name") &&
           cairn::api::RestartBegin(kFn, e, name, version, -1);
  });
}

int VELOC_Recover_selective(int mode, int* ids, int id_count) {
  return Selective("VELOC_Recover_selective", false, mode, ids, id_count);
}

int VELOC_Recover_size(int id) {
  static constexpr const char* kFn = "VELOC_Recover_size";
  return Guard(kFn, -1, [&] {
    std::shared_ptr<cairn::Client> e = cairn::api::VelocEngine(kFn);
    if (e == nullptr) return -1;
    long long n = cairn::api::RecoverSize(kFn, *e, id);
    if (n > INT_MAX) {
      cairn::api::LogErrorNoThrow(kFn, ": region ", id, " has ", n,
                                  " bytes, which does not fit in an int (use "
                                  "veloc::client_t::recover_size or cairn_recover_size)");
      return -1;
    }
    return static_cast<int>(n);
  });
}

int VELOC_Recover_mem(void) {
  return Selective("VELOC_Recover_mem", false, VELOC_RECOVER_ALL, nullptr, 0);
}

int VELOC_Restart_end(int success) {
  static constexpr const char* kFn = "VELOC_Restart_end";
  return WithEngine(kFn,
                    [&](cairn::Client& e) { return cairn::api::RestartEnd(kFn, e, success != 0); });
}

int VELOC_Restart(const char* name, int version) {
  static constexpr const char* kFn = "VELOC_Restart";
  return WithEngine(kFn, [&](cairn::Client& e) {
    return NotNull(kFn, name, "checkpoint name") && cairn::api::Restart(kFn, e, name, version, -1);
  });
}

int VELOC_Need_checkpoint(int* flag) {
  static constexpr const char* kFn = "VELOC_Need_checkpoint";
  return WithEngine(kFn, [&](cairn::Client& e) {
    if (!NotNull(kFn, flag, "flag pointer")) return false;
    std::optional<bool> r = cairn::api::NeedCheckpoint(kFn, e);
    if (r) *flag = *r ? 1 : 0;
    return r.has_value();
  });
}

int VELOC_Should_exit(int* flag) {
  static constexpr const char* kFn = "VELOC_Should_exit";
  return WithEngine(kFn, [&](cairn::Client& e) {
    if (!NotNull(kFn, flag, "flag pointer")) return false;
    std::optional<bool> r = cairn::api::ShouldExit(kFn, e);
    if (r) *flag = *r ? 1 : 0;
    return r.has_value();
  });
}

}  // extern "C"
