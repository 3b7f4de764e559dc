// The VeloC API's operations over cairn::Client, shared by the VeloC C functions
// (veloc_c.cc) and the veloc::client_t implementation (veloc_cpp.cc), and the process-wide
// client they both use. Internal to libcairn.
//
// Every operation validates its arguments, calls the engine, logs a failure at error level
// as "<fn>: <status>" (fn: the public function's name) and reports success as a bool. None
// of them throws on its own; callers still wrap them in Guard() (allocation, engine bugs).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "client/client.h"
#include "comm/comm.h"
#include "common/status.h"

namespace veloc {
class client_t;
}

namespace cairn::api {

// ---- the process-wide client (defined in veloc_cpp.cc) ------------------------------

using CommFactory = std::function<Result<std::unique_ptr<Comm>>()>;

// Returns the process-wide client, creating it from make_comm() and `cfg` if there is none.
// `rank` is the id asked for (-1: unknown, MPI); a different id of an existing client is
// logged as a warning. nullptr (logged) when the client cannot be created.
veloc::client_t* VelocGetOrCreate(const char* fn, const CommFactory& make_comm,
                                  const std::string& cfg, long long rank);

// The engine of the process-wide client, or nullptr (logged at error level: "<fn>: VeloC
// is not initialized") when there is none. The shared_ptr keeps the engine alive while the
// caller uses it even if another thread finalizes meanwhile.
std::shared_ptr<Client> VelocEngine(const char* fn);

// Finalizes the engine (drain: wait for pending work) and destroys the process-wide
// client. kFailedPrecondition when there is none.
Status VelocFinalize(bool drain);

// ---- operations -------------------------------------------------------------------

// Logs !st.ok() as "<fn>: <status>" at error level; returns st.ok().
bool Ok(const char* fn, const Status& st);

// VeloC's group name ("default" or "") to the engine's ("" = default group).
std::string GroupOf(const std::string& veloc_name);

// VELOC_CKPT_* / VELOC_RECOVER_* to Select; nullopt (after logging) when out of range.
std::optional<Select> SelectOf(const char* fn, int mode);

// The ids of a C id list; nullopt (logged) when n < 0, or ids is NULL with n > 0 and mode
// is not ALL (ALL ignores the list, as in VeloC).
std::optional<std::set<int>> IdSet(const char* fn, int mode, const int* ids, int n);

bool Protect(const char* fn, Client& e, int id, void* ptr, size_t count, size_t base_size,
             const std::string& group);
bool ProtectSerialized(const char* fn, Client& e, int id, const Serializer& s,
                       const Deserializer& d, const std::string& group);
bool Unprotect(const char* fn, Client& e, int id, const std::string& group);
bool Clear(const char* fn, Client& e, const std::string& group);
bool RegisterObserver(const char* fn, Client& e, int type,
                      const std::function<void(const std::string&, int)>& obs);

// nullopt (logged) on failure.
std::optional<std::string> RouteFile(const char* fn, Client& e, const std::string& original);
bool Cleanup(const char* fn, Client& e, const std::string& name);

bool Checkpoint(const char* fn, Client& e, const std::string& name, int version);
bool CheckpointBegin(const char* fn, Client& e, const std::string& name, int version);
bool CheckpointMem(const char* fn, Client& e, int mode, const std::set<int>& ids);
bool CheckpointEnd(const char* fn, Client& e, bool success);
bool CheckpointWait(const char* fn, Client& e);

// The version, or VELOC_FAILURE when none (logged at info level) or on error (logged at
// error level). needed_version 0 means any version that fits in an int.
int RestartTest(const char* fn, Client& e, const std::string& name, int needed_version,
                int target_rank);
bool Restart(const char* fn, Client& e, const std::string& name, int version, int target_rank);
bool RestartBegin(const char* fn, Client& e, const std::string& name, int version, int target_rank);
// Bytes saved under id; -1 when absent (logged at info level) or on error (error level).
long long RecoverSize(const char* fn, Client& e, int id);
bool RecoverMem(const char* fn, Client& e, int mode, const std::set<int>& ids);
bool RestartEnd(const char* fn, Client& e, bool success);

// cairn extensions: nullopt (logged) on failure.
std::optional<bool> NeedCheckpoint(const char* fn, Client& e);
std::optional<bool> ShouldExit(const char* fn, Client& e);

}  // namespace cairn::api
