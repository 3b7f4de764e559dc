// The VeloC API's operations over cairn::Client (see veloc_ops.h).
#include "api/veloc_ops.h"

#include <veloc/defs.h>

#include <climits>
#include <cstdint>
#include <utility>

#include "api/boundary.h"
#include "common/log.h"
#include "common/names.h"

namespace cairn::api {
namespace {

Status CheckName(const std::string& name) { return ValidateName(name); }

Status CheckVersion(int version) { return ValidateVersion(version); }

Status CheckNameVersion(const std::string& name, int version) {
  CAIRN_RETURN_IF_ERROR(CheckName(name));
  return CheckVersion(version);
}

}  // namespace

bool Ok(const char* fn, const Status& st) {
  if (st.ok()) return true;
  LogErrorNoThrow(fn, ": ", st.ToString());
  return false;
}

std::string GroupOf(const std::string& veloc_name) {
  return veloc_name == "default" ? std::string() : veloc_name;
}

std::optional<Select> SelectOf(const char* fn, int mode) {
  switch (mode) {
    case VELOC_CKPT_ALL:
      return Select::kAll;
    case VELOC_CKPT_SOME:
      return Select::kSome;
    case VELOC_CKPT_REST:
      return Select::kRest;
    default:
      Ok(fn, Status::InvalidArgument("mode " + std::to_string(mode) +
                                     " is not ALL (0), SOME (1) or REST (2)"));
      return std::nullopt;
  }
}

std::optional<std::set<int>> IdSet(const char* fn, int mode, const int* ids, int n) {
  if (n < 0) {
    Ok(fn, Status::InvalidArgument("negative id count " + std::to_string(n)));
    return std::nullopt;
  }
  std::set<int> out;
  if (mode == VELOC_CKPT_ALL || n == 0) return out;  // ALL ignores the list, as in VeloC
  if (ids == nullptr) {
    Ok(fn, Status::InvalidArgument("id list is NULL but its count is " + std::to_string(n)));
    return std::nullopt;
  }
  out.insert(ids, ids + n);
  return out;
}

bool Protect(const char* fn, Client& e, int id, void* ptr, size_t count, size_t base_size,
             const std::string& group) {
  if (base_size != 0 && count > SIZE_MAX / base_size) {
    return Ok(
        fn, Status::InvalidArgument("region " + std::to_string(id) + ": " + std::to_string(count) +
                                    " elements of " + std::to_string(base_size) +
                                    " bytes overflow the address space"));
  }
  if (ptr == nullptr && count * base_size != 0) {
    return Ok(fn, Status::InvalidArgument("region " + std::to_string(id) +
                                          ": NULL pointer with a non-zero size"));
  }
  return Ok(fn, e.Protect(id, ptr, count, base_size, group));
}

bool ProtectSerialized(const char* fn, Client& e, int id, const Serializer& s,
                       const Deserializer& d, const std::string& group) {
  if (!s || !d) {
    return Ok(fn, Status::InvalidArgument("region " + std::to_string(id) +
                                          ": empty serializer or deserializer"));
  }
  return Ok(fn, e.ProtectSerialized(id, s, d, group));
}

bool Unprotect(const char* fn, Client& e, int id, const std::string& group) {
  return Ok(fn, e.Unprotect(id, group));
}

bool Clear(const char* fn, Client& e, const std::string& group) {
  return Ok(fn, e.ClearGroup(group));
}

bool RegisterObserver(const char* fn, Client& e, int type,
                      const std::function<void(const std::string&, int)>& obs) {
  if (type != VELOC_OBSERVE_CKPT_END) {
    return Ok(fn, Status::InvalidArgument("unknown observer type " + std::to_string(type) +
                                          " (only VELOC_OBSERVE_CKPT_END = 0)"));
  }
  if (!obs) return Ok(fn, Status::InvalidArgument("empty observer"));
  // The observer is application code: keep its exceptions out of the engine.
  Observer wrapped = [obs, fn](const std::string& name, long long version) {
    try {
      obs(name, version > INT_MAX ? INT_MAX : static_cast<int>(version));
    } catch (const std::exception& ex) {
      LogErrorNoThrow(fn, ": the observer threw for checkpoint '", name, "' version ", version,
                      ": ", ex.what());
    } catch (...) {
      LogErrorNoThrow(fn, ": the observer threw for checkpoint '", name, "' version ", version);
    }
  };
  return Ok(fn, e.RegisterObserver(type, std::move(wrapped)));
}

std::optional<std::string> RouteFile(const char* fn, Client& e, const std::string& original) {
  if (original.empty()) {
    Ok(fn, Status::InvalidArgument("empty file name"));
    return std::nullopt;
  }
  Result<std::string> r = e.RouteFile(original);
  if (!r.ok()) {
    Ok(fn, r.status().Annotate("'" + original + "'"));
    return std::nullopt;
  }
  return std::move(r).value();
}

bool Cleanup(const char* fn, Client& e, const std::string& name) {
  Status st = CheckName(name);
  if (st.ok()) st = e.Cleanup(name);
  return Ok(fn, st);
}

bool Checkpoint(const char* fn, Client& e, const std::string& name, int version) {
  Status st = CheckNameVersion(name, version);
  if (st.ok()) st = e.Checkpoint(name, version);
  return Ok(fn, st);
}

bool CheckpointBegin(const char* fn, Client& e, const std::string& name, int version) {
  Status st = CheckNameVersion(name, version);
  if (st.ok()) st = e.CheckpointBegin(name, version);
  return Ok(fn, st);
}

bool CheckpointMem(const char* fn, Client& e, int mode, const std::set<int>& ids) {
  std::optional<Select> sel = SelectOf(fn, mode);
  if (!sel) return false;
  return Ok(fn, e.CheckpointMem(*sel, ids));
}

bool CheckpointEnd(const char* fn, Client& e, bool success) {
  return Ok(fn, e.CheckpointEnd(success));
}

bool CheckpointWait(const char* fn, Client& e) { return Ok(fn, e.CheckpointWait()); }

int RestartTest(const char* fn, Client& e, const std::string& name, int needed_version,
                int target_rank) {
  Status st = CheckNameVersion(name, needed_version);
  if (!st.ok()) {
    Ok(fn, st);
    return VELOC_FAILURE;
  }
  // 0 = any; but the answer must fit in the int we return.
  long long max_version = needed_version == 0 ? INT_MAX : needed_version;
  Result<long long> r = e.RestartTest(name, max_version, target_rank);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) {
      log::Info(fn, ": no version of checkpoint '", name, "' to restart from (",
                r.status().message(), ")");
    } else {
      Ok(fn, r.status());
    }
    return VELOC_FAILURE;
  }
  if (r.value() < 0 || r.value() > max_version) {
    Ok(fn, Status::Internal("the engine reported version " + std::to_string(r.value()) + " of '" +
                            name + "' outside [0, " + std::to_string(max_version) + "]"));
    return VELOC_FAILURE;
  }
  return static_cast<int>(r.value());
}

bool Restart(const char* fn, Client& e, const std::string& name, int version, int target_rank) {
  Status st = CheckNameVersion(name, version);
  if (st.ok()) st = e.Restart(name, version, target_rank);
  return Ok(fn, st);
}

bool RestartBegin(const char* fn, Client& e, const std::string& name, int version,
                  int target_rank) {
  Status st = CheckNameVersion(name, version);
  if (st.ok()) st = e.RestartBegin(name, version, target_rank);
  return Ok(fn, st);
}

long long RecoverSize(const char* fn, Client& e, int id) {
  Result<long long> r = e.RecoverSize(id);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) {
      log::Info(fn, ": region ", id, " is not in the checkpoint (", r.status().message(), ")");
    } else {
      Ok(fn, r.status());
    }
    return -1;
  }
  if (r.value() < 0) {
    Ok(fn,
       Status::Internal("the engine reported a negative size for region " + std::to_string(id)));
    return -1;
  }
  return r.value();
}

bool RecoverMem(const char* fn, Client& e, int mode, const std::set<int>& ids) {
  std::optional<Select> sel = SelectOf(fn, mode);
  if (!sel) return false;
  return Ok(fn, e.RecoverMem(*sel, ids));
}

bool RestartEnd(const char* fn, Client& e, bool success) { return Ok(fn, e.RestartEnd(success)); }

std::optional<bool> NeedCheckpoint(const char* fn, Client& e) {
  Result<bool> r = e.NeedCheckpoint();
  if (!Ok(fn, r.status())) return std::nullopt;
  return r.value();
}

std::optional<bool> ShouldExit(const char* fn, Client& e) {
  Result<bool> r = e.ShouldExit();
  if (!Ok(fn, r.status())) return std::nullopt;
  return r.value();
}

}  // namespace cairn::api
