// cairn's own C API (cairn/cairn.h) over cairn::Client.
#include <cairn/cairn.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "client/client.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status.h"

#if CAIRN_HAVE_MPI
#include "comm/mpi_comm.h"
#endif

struct cairn_client {
  std::unique_ptr<cairn::Client> engine;
  uint64_t serial = 0;  // keys the last-error messages; never reused
};

namespace {

using cairn::Code;
using cairn::Result;
using cairn::Status;

// Restores tried by cairn_restart_latest before it gives up (the newest and older ones).
constexpr int kMaxRestartAttempts = 4;

std::atomic<uint64_t> g_next_serial{1};

// Per thread: the last failure message per client serial (0: no client / open / close).
std::unordered_map<uint64_t, std::string>& LastErrors() {
  thread_local std::unordered_map<uint64_t, std::string> m;
  return m;
}

uint64_t KeyOf(const cairn_client_t* c) { return c == nullptr ? 0 : c->serial; }

cairn_status_t ToC(Code c) {
  switch (c) {
    case Code::kOk:
      return CAIRN_OK;
    case Code::kInvalidArgument:
      return CAIRN_E_INVALID;
    case Code::kNotFound:
      return CAIRN_E_NOT_FOUND;
    case Code::kCorruption:
      return CAIRN_E_CORRUPT;
    case Code::kIOError:
      return CAIRN_E_IO;
    case Code::kNoSpace:
      return CAIRN_E_NO_SPACE;
    case Code::kFailedPrecondition:
      return CAIRN_E_ORDER;
    case Code::kUnavailable:
      return CAIRN_E_UNAVAILABLE;
    case Code::kInternal:
      return CAIRN_E_INTERNAL;
  }
  return CAIRN_E_INTERNAL;
}

// Records a failure of `fn` for the client with last-error key `key`, logs it at info level
// (the caller reports it), and returns its code. Never throws.
cairn_status_t Fail(const char* fn, uint64_t key, const Status& st) noexcept {
  cairn_status_t code = st.ok() ? CAIRN_E_INTERNAL : ToC(st.code());
  try {
    std::string msg = std::string(fn) + ": " + (st.ok() ? "failed" : st.message());
    cairn::log::Info(msg, " [", cairn_status_string(code), "]");
    LastErrors()[key] = std::move(msg);
  } catch (...) {
  }
  return code;
}

// Runs f() -> Status at the API boundary: records failures and turns exceptions into
// CAIRN_E_INTERNAL.
template <class F>
cairn_status_t Run(const char* fn, uint64_t key, F&& f) noexcept {
  try {
    Status st = f();
    return st.ok() ? CAIRN_OK : Fail(fn, key, st);
  } catch (const std::exception& e) {
    return Fail(fn, key, Status::Internal(std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    return Fail(fn, key, Status::Internal("unexpected exception"));
  }
}

// As Run, with a non-NULL client.
template <class F>
cairn_status_t WithClient(const char* fn, cairn_client_t* c, F&& f) noexcept {
  if (c == nullptr) return Fail(fn, 0, Status::InvalidArgument("client is NULL"));
  return Run(fn, c->serial, [&] { return f(*c->engine); });
}

Status NeedString(const char* s, const char* what) {
  if (s == nullptr) return Status::InvalidArgument(std::string(what) + " is NULL");
  return Status::Ok();
}

Status CheckNameVersion(const char* name, long long version) {
  CAIRN_RETURN_IF_ERROR(NeedString(name, "checkpoint name"));
  CAIRN_RETURN_IF_ERROR(cairn::ValidateName(name));
  return cairn::ValidateVersion(version);
}

std::string GroupOf(const char* group) { return group == nullptr ? std::string() : group; }

Result<std::set<int>> Selection(cairn_select_t sel, const int* ids, size_t n) {
  if (sel != CAIRN_SELECT_ALL && sel != CAIRN_SELECT_SOME && sel != CAIRN_SELECT_REST) {
    return Status::InvalidArgument("selection " + std::to_string(static_cast<int>(sel)) +
                                   " is not CAIRN_SELECT_ALL, _SOME or _REST");
  }
  std::set<int> out;
  if (sel == CAIRN_SELECT_ALL || n == 0) return out;
  if (ids == nullptr) {
    return Status::InvalidArgument("id list is NULL but its length is " + std::to_string(n));
  }
  out.insert(ids, ids + n);
  return out;
}

cairn::Select ToSelect(cairn_select_t sel) { return static_cast<cairn::Select>(sel); }

cairn_status_t Open(const char* fn, const char* cfg, cairn_client_t** out,
                    const std::function<Result<std::unique_ptr<cairn::Comm>>()>& make_comm) {
  if (out != nullptr) *out = nullptr;
  return Run(fn, 0, [&]() -> Status {
    if (out == nullptr) return Status::InvalidArgument("output pointer is NULL");
    std::string path = cfg == nullptr ? std::string() : std::string(cfg);
    Result<std::unique_ptr<cairn::Comm>> comm = make_comm();
    if (!comm.ok()) return comm.status().Annotate("cannot set up the communicator");
    Result<std::unique_ptr<cairn::Client>> r = cairn::Client::Create(std::move(comm).value(), path);
    if (!r.ok()) {
      return r.status().Annotate(path.empty() ? std::string("configuration from the environment")
                                              : "configuration '" + path + "'");
    }
    // cairn's API restarts at read speed: the data is verified as it is read (client.h).
    r.value()->SetVerifyBeforeRestore(false);
    auto c = std::make_unique<cairn_client>();
    c->engine = std::move(r).value();
    c->serial = g_next_serial.fetch_add(1);
    *out = c.release();
    return Status::Ok();
  });
}

}  // namespace

extern "C" {

cairn_status_t cairn_open_single(unsigned rank, const char* cfg, cairn_client_t** out) {
  if (rank > static_cast<unsigned>(INT32_MAX)) {
    if (out != nullptr) *out = nullptr;
    return Fail("cairn_open_single", 0,
                Status::InvalidArgument("rank " + std::to_string(rank) + " is too large"));
  }
  return Open("cairn_open_single", cfg, out, [rank]() -> Result<std::unique_ptr<cairn::Comm>> {
    return cairn::MakeSingleComm(static_cast<int>(rank));
  });
}

#if CAIRN_HAVE_MPI
cairn_status_t cairn_open_mpi(MPI_Comm comm, const char* cfg, cairn_client_t** out) {
  return Open("cairn_open_mpi", cfg, out, [comm]() { return cairn::MakeMpiComm(comm); });
}
#endif

cairn_status_t cairn_close(cairn_client_t* c, int drain) {
  if (c == nullptr) return CAIRN_OK;
  std::unique_ptr<cairn_client> owned(c);  // freed whatever happens below
  try {
    LastErrors().erase(c->serial);
  } catch (...) {
  }
  return Run("cairn_close", 0, [&]() -> Status {
    Status st = owned->engine->Finalize(drain != 0);
    owned.reset();  // destroys the engine; exceptions from it are caught by Run
    return st;
  });
}

int cairn_rank(const cairn_client_t* c) {
  if (c == nullptr) return -1;
  try {
    return c->engine->rank();
  } catch (...) {
    return -1;
  }
}

int cairn_size(const cairn_client_t* c) {
  if (c == nullptr) return -1;
  try {
    return c->engine->size();
  } catch (...) {
    return -1;
  }
}

cairn_status_t cairn_protect(cairn_client_t* c, int id, void* ptr, size_t bytes) {
  return cairn_protect_named(c, nullptr, id, ptr, bytes);
}

cairn_status_t cairn_protect_named(cairn_client_t* c, const char* group, int id, void* ptr,
                                   size_t bytes) {
  return WithClient("cairn_protect", c, [&](cairn::Client& e) -> Status {
    if (ptr == nullptr && bytes != 0) {
      return Status::InvalidArgument("region " + std::to_string(id) +
                                     ": NULL pointer with a non-zero size");
    }
    return e.Protect(id, ptr, bytes, 1, GroupOf(group));
  });
}

cairn_status_t cairn_unprotect(cairn_client_t* c, const char* group, int id) {
  return WithClient("cairn_unprotect", c,
                    [&](cairn::Client& e) { return e.Unprotect(id, GroupOf(group)); });
}

cairn_status_t cairn_clear(cairn_client_t* c, const char* group) {
  return WithClient("cairn_clear", c,
                    [&](cairn::Client& e) { return e.ClearGroup(GroupOf(group)); });
}

cairn_status_t cairn_clear_all(cairn_client_t* c) {
  return WithClient("cairn_clear_all", c, [&](cairn::Client& e) { return e.ClearAll(); });
}

cairn_status_t cairn_checkpoint(cairn_client_t* c, const char* name, long long version) {
  return WithClient("cairn_checkpoint", c, [&](cairn::Client& e) {
    CAIRN_RETURN_IF_ERROR(CheckNameVersion(name, version));
    return e.Checkpoint(name, version);
  });
}

cairn_status_t cairn_checkpoint_begin(cairn_client_t* c, const char* name, long long version) {
  return WithClient("cairn_checkpoint_begin", c, [&](cairn::Client& e) {
    CAIRN_RETURN_IF_ERROR(CheckNameVersion(name, version));
    return e.CheckpointBegin(name, version);
  });
}

cairn_status_t cairn_checkpoint_mem(cairn_client_t* c, cairn_select_t sel, const int* ids,
                                    size_t n) {
  return WithClient("cairn_checkpoint_mem", c, [&](cairn::Client& e) -> Status {
    Result<std::set<int>> set = Selection(sel, ids, n);
    if (!set.ok()) return set.status();
    return e.CheckpointMem(ToSelect(sel), set.value());
  });
}

cairn_status_t cairn_checkpoint_end(cairn_client_t* c, int success) {
  return WithClient("cairn_checkpoint_end", c,
                    [&](cairn::Client& e) { return e.CheckpointEnd(success != 0); });
}

cairn_status_t cairn_wait(cairn_client_t* c) {
  return WithClient("cairn_wait", c, [&](cairn::Client& e) { return e.CheckpointWait(); });
}

int cairn_finished(cairn_client_t* c) {
  if (c == nullptr) return -1;
  try {
    return c->engine->CheckpointFinished() ? 1 : 0;
  } catch (const std::exception& ex) {
    Fail("cairn_finished", c->serial,
         Status::Internal(std::string("unexpected exception: ") + ex.what()));
    return -1;
  } catch (...) {
    Fail("cairn_finished", c->serial, Status::Internal("unexpected exception"));
    return -1;
  }
}

cairn_status_t cairn_cleanup(cairn_client_t* c, const char* name) {
  return WithClient("cairn_cleanup", c, [&](cairn::Client& e) {
    CAIRN_RETURN_IF_ERROR(NeedString(name, "checkpoint name"));
    CAIRN_RETURN_IF_ERROR(cairn::ValidateName(name));
    return e.Cleanup(name);
  });
}

cairn_status_t cairn_on_commit(cairn_client_t* c, cairn_observer_fn fn, void* user) {
  return WithClient("cairn_on_commit", c, [&](cairn::Client& e) {
    if (fn == nullptr) return Status::InvalidArgument("observer function is NULL");
    return e.RegisterObserver(
        0,
        [fn, user](const std::string& name, long long version) { fn(name.c_str(), version, user); },
        /*add=*/true);
  });
}

cairn_status_t cairn_need_checkpoint(cairn_client_t* c, int* flag) {
  return WithClient("cairn_need_checkpoint", c, [&](cairn::Client& e) -> Status {
    if (flag == nullptr) return Status::InvalidArgument("flag pointer is NULL");
    Result<bool> r = e.NeedCheckpoint();
    if (!r.ok()) return r.status();
    *flag = r.value() ? 1 : 0;
    return Status::Ok();
  });
}

cairn_status_t cairn_should_exit(cairn_client_t* c, int* flag) {
  return WithClient("cairn_should_exit", c, [&](cairn::Client& e) -> Status {
    if (flag == nullptr) return Status::InvalidArgument("flag pointer is NULL");
    Result<bool> r = e.ShouldExit();
    if (!r.ok()) return r.status();
    *flag = r.value() ? 1 : 0;
    return Status::Ok();
  });
}

cairn_status_t cairn_restart_test(cairn_client_t* c, const char* name, long long max_version,
                                  long long* version_out) {
  return WithClient("cairn_restart_test", c, [&](cairn::Client& e) -> Status {
    CAIRN_RETURN_IF_ERROR(CheckNameVersion(name, max_version));
    Result<long long> r = e.RestartTest(name, max_version);
    if (!r.ok()) return r.status();
    if (version_out != nullptr) *version_out = r.value();
    return Status::Ok();
  });
}

cairn_status_t cairn_restart_latest(cairn_client_t* c, const char* name, long long max_version,
                                    long long* version_out) {
  return WithClient("cairn_restart_latest", c, [&](cairn::Client& e) -> Status {
    CAIRN_RETURN_IF_ERROR(CheckNameVersion(name, max_version));
    // Every rank takes the same path through this loop: RestartTest agrees on the version and
    // Restart on the outcome (both collective in MPI mode).
    long long max = max_version;
    bool only_zero = false;  // the next candidate is version 0, which RestartTest cannot
                             // be asked for (max 0 means "any")
    Status last;             // the latest failed restore
    for (int attempt = 0; attempt < kMaxRestartAttempts; ++attempt) {
      long long v = 0;
      if (!only_zero) {
        Result<long long> r = e.RestartTest(name, max);
        if (!r.ok()) {
          // Nothing (older) to restart from: report the failed restore if there was one.
          if (r.status().code() == Code::kNotFound && !last.ok()) return last;
          return r.status();
        }
        v = r.value();
      }
      long long restored = v;
      Status st = e.Restart(name, v, -1, /*older_ok=*/true, &restored);
      if (st.ok()) {
        if (version_out != nullptr) *version_out = restored;
        if (!last.ok()) {
          cairn::log::Warn("cairn_restart_latest: restarted '", name, "' from older version ", v,
                           " because a newer one could not be restored: ", last.ToString());
        }
        return Status::Ok();
      }
      last = st.Annotate("version " + std::to_string(v) + " of '" + name + "'");
      cairn::log::Warn("cairn_restart_latest: ", last.ToString());
      if (v == 0) break;
      only_zero = v == 1;
      max = v - 1;
    }
    return last;
  });
}

cairn_status_t cairn_restart(cairn_client_t* c, const char* name, long long version) {
  return WithClient("cairn_restart", c, [&](cairn::Client& e) {
    CAIRN_RETURN_IF_ERROR(CheckNameVersion(name, version));
    return e.Restart(name, version);
  });
}

cairn_status_t cairn_restart_begin(cairn_client_t* c, const char* name, long long version) {
  return WithClient("cairn_restart_begin", c, [&](cairn::Client& e) {
    CAIRN_RETURN_IF_ERROR(CheckNameVersion(name, version));
    return e.RestartBegin(name, version);
  });
}

cairn_status_t cairn_recover_size(cairn_client_t* c, int id, size_t* size_out) {
  return WithClient("cairn_recover_size", c, [&](cairn::Client& e) -> Status {
    if (size_out == nullptr) return Status::InvalidArgument("output pointer is NULL");
    Result<long long> r = e.RecoverSize(id);
    if (!r.ok()) return r.status();
    if (r.value() < 0) {
      return Status::Internal("negative size reported for region " + std::to_string(id));
    }
    *size_out = static_cast<size_t>(r.value());
    return Status::Ok();
  });
}

cairn_status_t cairn_recover_mem(cairn_client_t* c, cairn_select_t sel, const int* ids, size_t n) {
  return WithClient("cairn_recover_mem", c, [&](cairn::Client& e) -> Status {
    Result<std::set<int>> set = Selection(sel, ids, n);
    if (!set.ok()) return set.status();
    return e.RecoverMem(ToSelect(sel), set.value());
  });
}

cairn_status_t cairn_restart_end(cairn_client_t* c, int success) {
  return WithClient("cairn_restart_end", c,
                    [&](cairn::Client& e) { return e.RestartEnd(success != 0); });
}

cairn_status_t cairn_route_file(cairn_client_t* c, const char* original, char* buf, size_t buflen) {
  if (buf != nullptr && buflen > 0) buf[0] = '\0';
  return WithClient("cairn_route_file", c, [&](cairn::Client& e) -> Status {
    CAIRN_RETURN_IF_ERROR(NeedString(original, "file name"));
    if (*original == '\0') return Status::InvalidArgument("file name is empty");
    if (buf == nullptr || buflen == 0) return Status::InvalidArgument("no output buffer");
    Result<std::string> r = e.RouteFile(original);
    if (!r.ok()) return r.status().Annotate(std::string("'") + original + "'");
    const std::string& path = r.value();
    if (path.size() >= buflen) {
      return Status::InvalidArgument(
          "the routed path of '" + std::string(original) + "' (" + std::to_string(path.size() + 1) +
          " bytes with the NUL) does not fit in a buffer of " + std::to_string(buflen) + " bytes");
    }
    std::memcpy(buf, path.c_str(), path.size() + 1);
    return Status::Ok();
  });
}

const char* cairn_last_error(const cairn_client_t* c) {
  try {
    auto& m = LastErrors();
    auto it = m.find(KeyOf(c));
    return it == m.end() ? "" : it->second.c_str();
  } catch (...) {
    return "";
  }
}

const char* cairn_status_string(cairn_status_t s) {
  switch (s) {
    case CAIRN_OK:
      return "OK";
    case CAIRN_E_INVALID:
      return "invalid argument";
    case CAIRN_E_NOT_FOUND:
      return "not found";
    case CAIRN_E_CORRUPT:
      return "corrupt data";
    case CAIRN_E_IO:
      return "I/O error";
    case CAIRN_E_NO_SPACE:
      return "no space left";
    case CAIRN_E_ORDER:
      return "call out of order";
    case CAIRN_E_UNAVAILABLE:
      return "peer unavailable";
    case CAIRN_E_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

const char* cairn_version(void) { return CAIRN_VERSION_STRING; }

}  // extern "C"
